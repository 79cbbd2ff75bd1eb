"""Subscribe-message grants and the record of every subscribe message sent or skipped."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from models.base import MYSQL_TABLE, UTCDateTime, utcnow


class SubscribeGrant(db.Model):
    """How many sends of a one-time template the shopper has granted and we have not
    used: one acceptance in wx.requestSubscribeMessage = one send. Changed only by
    guarded updates (`models.notifications.subscribe`)."""

    __tablename__ = "subscribe_grants"
    __table_args__ = (
        UniqueConstraint("user_id", "template_id"),
        CheckConstraint("remaining >= 0", name="remaining_nonneg"),
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    template_id: Mapped[str] = mapped_column(String(64))
    remaining: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class MessageLog(db.Model):
    """One row per subscribe message the outbox asked for: sent, skipped (and why) or
    failed. Holds no personal data beyond the openid and user id (not the values sent).
    `grant_held`: this message has taken a grant and not yet used or returned it, so a
    retry after a crash or an outage does not take a second one."""

    __tablename__ = "message_log"
    __table_args__ = (Index("ix_message_log_user_id_id", "user_id", "id"), MYSQL_TABLE)

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(unique=True)
    event: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[int | None] = mapped_column(index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    openid: Mapped[str | None] = mapped_column(String(64))
    template_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # sending | retrying | sent | skipped | failed
    reason: Mapped[str | None] = mapped_column(String(64))  # no_grant, no_template, 43101, 47003 ...
    errcode: Mapped[int | None]
    msgid: Mapped[str | None] = mapped_column(String(32))
    grant_held: Mapped[bool] = mapped_column(default=False)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
