"""The transition table of background exports (models.state_machine does the moving). No
history table: starting, finishing, downloading and expiring are audited."""
from __future__ import annotations

from models.exports.tables import ExportJob, ExportStatus
from models.state_machine import Machine, Move

E = ExportStatus

JOBS = Machine(ExportJob, {
    "start": Move((E.queued,), E.running, "started_at"),        # a run claimed it
    "finish": Move((E.running,), E.ready, "ready_at"),           # the whole file is stored
    "expire": Move((E.ready,), E.expired, "expired_at"),         # EXPORT_TTL_S passed: the file is deleted
    "fail": Move((E.queued, E.running), E.failed, "failed_at"),  # the file (what there was of it) is deleted
}, states=ExportStatus, initial=(E.queued,))
