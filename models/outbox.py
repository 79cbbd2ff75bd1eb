"""The outbox: side effects (WeChat messages, shipping-info uploads, staff alerts)
written in the business transaction and delivered after commit by the task queue, with
retries. A row exists only if the change that caused it committed."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
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
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | skipped | failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def enqueue(kind: str, payload: dict, *, dedupe_key: str | None = None) -> None:
    """Queue a side effect in the current transaction (dispatched after commit).

    Callers enqueue from inside a transition that applies once, so a fact is queued once;
    the unique `dedupe_key` is the last line behind that, not a lookup on every call."""
    enqueue_many([(kind, payload, dedupe_key)])


def enqueue_many(messages: list[tuple[str, dict, str | None]]) -> None:
    """Several side effects of one fact in one INSERT: (kind, payload, dedupe_key) each."""
    db.session.connection().execute(_INSERT, [
        {"kind": kind, "payload": payload, "dedupe_key": dedupe_key} for kind, payload, dedupe_key in messages])


_INSERT = OutboxMessage.__table__.insert()
