"""The outbox table: one row per side effect, written in the business transaction."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from models.base import MYSQL_TABLE, UTCDateTime, utcnow


class OutboxMessage(db.Model):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),  # what is due (dispatch)
        # Staff's list by status, newest first (models/outbox/review.py): the page is the
        # first rows of the index, however many rows of other statuses there are.
        Index("ix_outbox_status_id", "status", "id"),
        MYSQL_TABLE,
    )

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
