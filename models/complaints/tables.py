"""Complaint tables: one row per WeChat complaint (its `complaint_id` unique: the last line
of idempotency for notifications and pulls), and its negotiation history as WeChat keeps
it (one row per `log_id`)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from models.base import MYSQL_TABLE, UTCDateTime, utcnow


class Complaint(db.Model):
    __tablename__ = "complaints"
    __table_args__ = (
        Index("ix_complaints_store_id_id", "store_id", "id"),       # a store's list, newest first
        Index("ix_complaints_status_synced_at", "status", "synced_at"),  # open ones to refresh
        Index("ix_complaints_complaint_time", "complaint_time"),     # the pull's cursor
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[str] = mapped_column(String(64), unique=True)
    # Linked through our payment (out_trade_no / transaction_id); None while unknown.
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    # The order's store, copied for scoping: a complaint without an order is admins' only.
    store_id: Mapped[int | None]
    out_trade_no: Mapped[str | None] = mapped_column(String(32))
    transaction_id: Mapped[str | None] = mapped_column(String(32))
    # Our side: pending → processing → processed (models/complaints/status.py), following
    # WeChat's complaint_state (kept as it said it in `wechat_state`).
    status: Mapped[str] = mapped_column(String(16), default="pending")
    wechat_state: Mapped[str | None] = mapped_column(String(16))
    problem_type: Mapped[str | None] = mapped_column(String(32))  # REFUND | SERVICE_NOT_WORK | OTHERS
    problem_description: Mapped[str | None] = mapped_column(String(255))
    complaint_detail: Mapped[str | None] = mapped_column(Text)
    amount_fen: Mapped[int | None]
    apply_refund_amount_fen: Mapped[int | None]
    full_refunded: Mapped[bool] = mapped_column(default=False)
    incoming_user_response: Mapped[bool] = mapped_column(default=False)
    user_complaint_times: Mapped[int] = mapped_column(default=1)
    # The payer's phone, decrypted from WeChat's RSA and encrypted again with app.crypto
    # (never stored or logged in plain text); shown masked.
    payer_phone_enc: Mapped[str | None] = mapped_column(Text)
    media: Mapped[list] = mapped_column(JSON, default=list)  # the user's image URLs
    complaint_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The first merchant response (ours through the console, or one WeChat's history shows).
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response_by: Mapped[int | None]  # staff id; None when it came from WeChat's history
    refund_action: Mapped[str | None] = mapped_column(String(8))  # APPROVE | REJECT (申请退款)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The after-sale this complaint opened (issue 20: wired when after-sales exist).
    after_sale_no: Mapped[str | None] = mapped_column(String(32))
    # True while a notification named it and its detail has not been read since.
    needs_sync: Mapped[bool] = mapped_column(default=True)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ComplaintHistory(db.Model):
    """WeChat's negotiation history of a complaint (operate_type as WeChat spells it)."""

    __tablename__ = "complaint_history"
    __table_args__ = (UniqueConstraint("complaint_row_id", "log_id"), MYSQL_TABLE)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_row_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"))
    log_id: Mapped[str] = mapped_column(String(64))
    operator: Mapped[str | None] = mapped_column(String(64))
    operate_type: Mapped[str] = mapped_column(String(64))
    operate_details: Mapped[str | None] = mapped_column(Text)
    operate_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    images: Mapped[list] = mapped_column(JSON, default=list)
