"""What staff see of the outbox (failed deliveries above all) and how they retry one."""
from __future__ import annotations

from sqlalchemy import select

from app.errors import Conflict
from models import audit
from models.base import get_or_404, keyset_page, utcnow
from models.outbox.enqueue import kick_after_commit
from models.outbox.status import OUTBOX
from models.outbox.tables import OutboxMessage


def rows(*, status: str | None, kind: str | None, cursor: int | None, limit: int) -> list[OutboxMessage]:
    query = select(OutboxMessage)
    if status:
        # Newest first within a status: the first rows of (status, id), whatever the number
        # of rows of that status. Without the hint MariaDB may take (status,
        # next_attempt_at) and sort every row of the status (cheap on a small table,
        # a second at millions of rows).
        query = query.where(OutboxMessage.status == status)
        for dialect in ("mysql", "mariadb"):
            query = query.with_hint(OutboxMessage, "FORCE INDEX (ix_outbox_status_id)", dialect)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    return keyset_page(query, OutboxMessage.id, cursor=cursor, limit=limit, newest_first=True)


def retry(staff, outbox_id: int) -> OutboxMessage:
    """A failed (or skipped) row goes back to pending with a fresh set of tries; sent
    after this commits. Rows still pending or being sent are left alone (409)."""
    row = get_or_404(OutboxMessage, outbox_id, "No such outbox message.")
    if not OUTBOX.allows(row.status, "retry"):
        raise Conflict("Only failed or skipped messages can be retried.", details={"status": row.status})
    audit.record("outbox.retry", row, actor=staff,
                 changes={"status": [row.status, "pending"], "attempts": [row.attempts, 0],
                          "kind": row.kind, "last_error": row.last_error})
    OUTBOX.move(row, "retry", attempts=0, next_attempt_at=utcnow(), claim_token=None)
    kick_after_commit()
    return row
