"""Official-account tables: which staff member follows us as which OA openid, the
one-time tokens of binding QR codes, and per-recipient deliveries of staff alerts."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from models.base import MYSQL_TABLE, UTCDateTime, utcnow


class OfficialBinding(db.Model):
    """A staff member's official-account openid (one each, one staff member per openid):
    where their template messages go and how 今日 knows who is asking."""

    __tablename__ = "official_bindings"
    __table_args__ = (MYSQL_TABLE,)
    audit_kind = "official_binding"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), unique=True)
    bound_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BindingToken(db.Model):
    """The secret in a binding QR code's scene. Stored as its SHA-256 only; valid once,
    until `expires_at`, and only the newest one of a staff member."""

    __tablename__ = "official_binding_tokens"
    __table_args__ = (MYSQL_TABLE,)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # pending | used | revoked (a newer code was made)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None]
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_by_openid: Mapped[str | None] = mapped_column(String(64))


class StaffAlertDelivery(db.Model):
    """One staff alert to one staff member: written as soon as WeChat took it (or
    refused it for good), so a retry of the alert never sends to them again."""

    __tablename__ = "staff_alert_deliveries"
    __table_args__ = (UniqueConstraint("alert_key", "staff_id"), MYSQL_TABLE)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_key: Mapped[str] = mapped_column(String(64))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(32))
    openid: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # sent | failed (this recipient, for good)
    msgid: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
