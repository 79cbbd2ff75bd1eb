"""The outbox: side effects (WeChat messages, shipping-info uploads, staff alerts)
written in the business transaction and delivered after commit by the task queue, with
retries. A row exists only if the change that caused it committed.

Delivery is `models.notifications.dispatch`: a transaction that enqueued rows kicks it
once after commit; a periodic sweep catches whatever a lost kick or a retry left due."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.sqlbatch import Batch, joining
from models.base import MYSQL_TABLE, UTCDateTime, utcnow


class OutboxMessage(db.Model):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"), MYSQL_TABLE)

    id: Mapped[int] = mapped_column(primary_key=True)
    # e.g. staff_alert, subscribe_message, shipping_upload
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict] = mapped_column(JSON)
    # One delivery per business fact, even if the fact is recorded twice.
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    # pending | sending (claimed by a worker) | sent | skipped | failed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    # pending: not before this; sending: the claim's lease ends here (then it is due again).
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Who holds the claim: only that worker may record the outcome.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def enqueue(kind: str, payload: dict, *, dedupe_key: str | None = None) -> None:
    """Queue a side effect in the current transaction (dispatched after commit).

    Callers enqueue from inside a transition that applies once, so a fact is queued once;
    the unique `dedupe_key` is the last line behind that, not a lookup on every call."""
    enqueue_many([(kind, payload, dedupe_key)])


def enqueue_many(messages: list[tuple[str, dict, str | None]], *, writes: Batch | None = None) -> None:
    """Several side effects of one fact in one round trip: (kind, payload, dedupe_key) each.
    With `writes`, the rows are added to that batch for the caller to run."""
    with joining(writes) as batch:
        batch.add_all(_INSERT, [{"kind": kind, "payload": payload, "dedupe_key": dedupe_key}
                                for kind, payload, dedupe_key in messages])
    kick_after_commit()


# Up while a dispatch is queued but not started; the dispatch takes it down first thing.
KICK_FLAG, KICK_FLAG_TTL_S = "outbox:kick", 10


def kick_after_commit() -> None:
    """Start a dispatch once this transaction has committed (once however many rows)."""
    from app.db import after_commit

    after_commit(_kick, key=KICK_FLAG)


def _kick() -> None:
    # One queued dispatch serves every commit until it starts: it will see their rows, which
    # committed before they looked at the flag. Under load that is one task per dispatch
    # pass instead of a broker publish per request. The TTL covers a dispatch lost on the way.
    from app.extensions import rds
    from app.tasks import submit
    from models.notifications.dispatch import dispatch_due

    if rds().set(KICK_FLAG, 1, nx=True, ex=KICK_FLAG_TTL_S):
        submit(dispatch_due)


_INSERT = OutboxMessage.__table__.insert()
