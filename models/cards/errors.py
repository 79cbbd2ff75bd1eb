"""What a card refuses, by stable code. Only `CardInvalid` is answered before the password
checked out (for an unknown serial and a wrong password alike); the others describe the
card's state and are given only to someone who knows its password."""
from __future__ import annotations

from app.errors import AppError


class CardInvalid(AppError):
    status, code, message = 400, "card_invalid", "The card number or password is wrong."
    keep_changes = True  # the wrong try is counted (and may lock the card) all the same


class CardLocked(AppError):
    status, code, message = (423, "card_locked",
                             "This card is locked after wrong passwords; a store manager can unlock it.")


class CardVoid(AppError):
    status, code, message = 409, "card_void", "This card has been voided."


class CardUsedUp(AppError):
    status, code, message = 409, "card_used_up", "Every unit of this card has been redeemed."


class CardExpired(AppError):
    status, code, message = 409, "card_expired", "This card has expired."


class CardNotActive(AppError):
    status, code, message = 409, "card_not_active", "This card is not active yet."


class CardUnitsShort(AppError):
    status, code, message = 409, "card_units_insufficient", "The card has fewer units left."


class ChannelNotAllowed(AppError):
    status, code, message = 409, "card_channel_not_allowed", "This card can't be redeemed that way."


class StoreNotAllowed(AppError):
    status, code, message = 409, "card_store_not_allowed", "This card is redeemed at another store."


class StoreRequired(AppError):
    status, code, message = 400, "store_required", "Choose a store (store_id)."


class BatchExported(AppError):
    status, code, message = (409, "card_batch_exported",
                             "This batch was exported already; only the admin who exported it can "
                             "read that export.")


class BatchNotExported(AppError):
    status, code, message = (409, "card_batch_not_exported",
                             "Export the batch (it makes the passwords) before activating its cards.")


class BatchVoid(AppError):
    status, code, message = 409, "card_batch_void", "This batch has been voided."


class ExportNotReady(AppError):
    status, code, message = (409, "card_export_not_ready",
                             "The export is still being made; its progress is on the export.")


class ExportFailed(AppError):
    status, code, message = (409, "card_export_failed",
                             "The export failed and stored nothing; start it again (POST .../export).")


class ExportNotDownloaded(AppError):
    status, code, message = (409, "card_export_not_downloaded",
                             "Download the export before confirming you have it.")


class ExportDelivered(AppError):
    status, code, message = (410, "card_export_delivered",
                             "Receipt of this export was confirmed; its passwords were destroyed.")


class ExportExpired(AppError):
    status, code, message = (410, "card_export_expired",
                             "This export was not confirmed in time; its passwords were destroyed.")
    keep_changes = True  # found due on reading it: the result is destroyed all the same
