"""The shipment domain's refusals, each with a stable code."""
from __future__ import annotations

from app.errors import AppError


class ParcelItemsInvalid(AppError):
    status, code, message = 422, "parcel_items_invalid", "Those items are not left to ship on this order."


class ParcelDuplicate(AppError):
    status, code, message = 409, "parcel_duplicate", "This order already has a parcel with that tracking number."


class ParcelNotShippable(AppError):
    status, code, message = 409, "parcel_not_shippable", "This order cannot ship parcels now."


class ParcelNotFound(AppError):
    status, code, message = 404, "not_found", "No such parcel."
