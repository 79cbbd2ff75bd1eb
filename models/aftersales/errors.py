"""The refusals of after-sales, each with its stable code."""
from __future__ import annotations

from app.errors import AppError


class AfterSaleNotFound(AppError):
    status, code, message = 404, "not_found", "No such after-sale."


class NotEligible(AppError):
    status, code, message = 409, "aftersale_not_eligible", "This order cannot have an after-sale."


class WindowClosed(AppError):
    status, code, message = 409, "aftersale_window_closed", "The after-sales period of this order is over."


class QuantityExceeded(AppError):
    status, code, message = (409, "aftersale_quantity_exceeded",
                             "That is more than is left of the item for an after-sale.")


class KindNotAllowed(AppError):
    status, code, message = 409, "aftersale_kind_not_allowed", "This kind of after-sale is not possible for this order."


class ReturnCodeInvalid(AppError):
    status, code, message = 404, "return_code_invalid", "No return is waiting with this code."


class ReceiptInvalid(AppError):
    status, code, message = 422, "aftersale_receipt_invalid", "The received quantities do not match the after-sale."


class PhotoRejected(AppError):
    status, code, message = 422, "photo_rejected", "The photo must be a JPEG, PNG or WebP image of at most 5 MB."


class TooManyPhotos(AppError):
    status, code, message = 409, "too_many_photos", "An after-sale holds at most 9 photos."


class PhotoLinkInvalid(AppError):
    status, code, message = 403, "photo_link_invalid", "This photo link is invalid or has expired."
