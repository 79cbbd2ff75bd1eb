"""Payment tables. One payment per order (its out_trade_no is the order number); refunds
against it; cases staff must look at; reconciliation reports."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from models.base import MYSQL_TABLE, UTCDateTime, utcnow


class Payment(db.Model):
    __tablename__ = "payments"
    __table_args__ = (
        Index("ix_payments_status_prepaid_at", "status", "prepaid_at"),  # the pending-payment query job
        Index("ix_payments_paid_at", "paid_at"),  # a day's payments (exports, the reconciliation)
        Index("ix_payments_status_paid_at", "status", "paid_at"),  # a day's payments (reconciliation)
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    out_trade_no: Mapped[str] = mapped_column(String(32), unique=True)
    amount_fen: Mapped[int]
    # created (prepay issued) | paid | closed | held (another amount: recorded, refunded)
    status: Mapped[str] = mapped_column(String(16), default="created")
    prepay_id: Mapped[str | None] = mapped_column(String(64))
    prepaid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Unique: the last line against applying one WeChat payment twice.
    transaction_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    paid_fen: Mapped[int | None]
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bank_type: Mapped[str | None] = mapped_column(String(32))
    confirmed_by: Mapped[str | None] = mapped_column(String(16))  # notify | query | bill
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Refund(db.Model):
    __tablename__ = "refunds"
    __table_args__ = (
        UniqueConstraint("order_id", "idempotency_key"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        Index("ix_refunds_status_created_at", "status", "created_at"),
        Index("ix_refunds_status_succeeded_at", "status", "succeeded_at"),  # a day's refunds (analytics)
        Index("ix_refunds_created_at", "created_at"),  # a date range's refunds, any status (exports)
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"))
    # Reused on every retry, so WeChat never sees one refund twice.
    out_refund_no: Mapped[str] = mapped_column(String(64), unique=True)
    refund_id: Mapped[str | None] = mapped_column(String(32))
    amount_fen: Mapped[int]
    reason: Mapped[str | None] = mapped_column(String(80))
    # pending (not yet accepted by WeChat) | processing | success | closed | abnormal
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # The order's held stock goes back on success (a full refund before hand-over).
    release_stock: Mapped[bool] = mapped_column(default=False)
    automatic: Mapped[bool] = mapped_column(default=False)
    requested_by: Mapped[int | None]  # staff id; None for automatic refunds
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    succeeded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PaymentCase(db.Model):
    """Something about money that a person must look at (amount or merchant mismatch,
    a payment for a cancelled order, a reconciliation difference)."""

    __tablename__ = "payment_cases"
    # One case per kind of problem and transaction, however often it is seen.
    __table_args__ = (UniqueConstraint("kind", "transaction_id"), MYSQL_TABLE)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    transaction_id: Mapped[str | None] = mapped_column(String(32))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | resolved
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[int | None]


class ReconciliationReport(db.Model):
    __tablename__ = "reconciliation_reports"
    __table_args__ = (MYSQL_TABLE,)

    id: Mapped[int] = mapped_column(primary_key=True)
    bill_date: Mapped[date] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # ok | differences | failed
    status: Mapped[str] = mapped_column(String(16))
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    differences: Mapped[list] = mapped_column(JSON, default=list)
    repairs: Mapped[list] = mapped_column(JSON, default=list)
