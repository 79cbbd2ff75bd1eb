"""Pickup errors, by stable code.

A verification attempt is audited and counted even when it is refused, so the refusals a
clerk can cause are `keep_changes`: the audit row and the wrong-code count commit, and
nothing else has been written when they are raised (the checks run before any change).
"""
from __future__ import annotations

from app.errors import AppError


class AttemptRefused(AppError):
    keep_changes = True


class PickupCodeInvalid(AttemptRefused):
    # Unknown, altered, replaced — or another store's: one answer for all, no oracle.
    status, code, message = 400, "pickup_code_invalid", "This pickup code is not valid."


class PickupLocked(AttemptRefused):
    status, code, message = (423, "pickup_locked",
                             "This pickup code is locked after wrong attempts; a manager must check the customer.")


class PickupExpired(AttemptRefused):
    status, code, message = 409, "pickup_expired", "The pickup deadline has passed; the order is being refunded."


class AlreadyPickedUp(AttemptRefused):
    status, code, message = 409, "already_picked_up", "This order has already been picked up."


class PickupQrStale(AttemptRefused):
    status, code, message = (400, "pickup_qr_stale",
                             "This QR code is out of date (a screenshot?); ask the customer to show the live one.")


class PickupScanRequired(AttemptRefused):
    status, code, message = (400, "pickup_scan_required",
                             "This order needs its QR code scanned from the customer's phone.")


class PickupNotReady(AttemptRefused):
    status, code, message = 409, "pickup_not_ready", "The order is not waiting for pickup."


class PickupItemsInvalid(AttemptRefused):
    status, code, message = 400, "pickup_items_invalid", "These items are not part of the order."


class PickupQtyExceeded(AttemptRefused):
    status, code, message = 409, "pickup_qty_exceeded", "More than what is left to pick up."


class OutsidePickupRadius(AppError):
    status, code, message = (403, "outside_pickup_radius",
                             "Come closer to the store to show this pickup code.")


class LocationRequired(AppError):
    status, code, message = (400, "location_required",
                             "This store shows pickup codes only near the store: send lat and lng.")


class DynamicQrOnly(AppError):
    status, code, message = (409, "pickup_dynamic_qr_only",
                             "This order's code changes every 30 seconds; a printed mini-program code would defeat that.")


class NotLocked(AppError):
    status, code, message = 409, "pickup_not_locked", "This pickup code is not locked."


class DeadlineInvalid(AppError):
    status, code, message = 400, "pickup_deadline_invalid", "The pickup deadline cannot be moved there."
