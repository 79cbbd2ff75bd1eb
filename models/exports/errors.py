"""The refusals of exports (stable codes; messages in English, translated on the way out)."""
from __future__ import annotations

from app.errors import AppError, Conflict, InvalidRequest


class ExportTooLarge(Conflict):
    code = "export_too_large"
    message = ("This export has more than {limit} rows: start a background export "
               "(POST /api/admin/exports) and download it when it is ready.")


class ExportBusy(Conflict):
    code = "export_busy"
    message = "You have {limit} exports queued or running; wait for one to finish."


class ExportNotReady(Conflict):
    code, message = "export_not_ready", "The export is not ready yet."


class ExportFailed(Conflict):
    code, message = "export_failed", "The export failed; start it again."


class ExportExpired(AppError):
    status, code, message = 410, "export_expired", "The export's file has expired; start it again."


class NotPerStore(InvalidRequest):
    message = "This export is not kept per store; leave out store_id."
