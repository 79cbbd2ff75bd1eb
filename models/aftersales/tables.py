"""After-sale tables: the request, the units of each line it covers, its photos."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from models.base import MYSQL_TABLE, UTCDateTime, utcnow

KINDS = ("refund_only", "return_refund", "exchange", "return_at_store")


class AfterSale(db.Model):
    __tablename__ = "after_sales"
    __table_args__ = (
        Index("ix_after_sales_order_id", "order_id"),
        Index("ix_after_sales_user_id_id", "user_id", "id"),
        # The queue (by deadline) and the sweep (what is due): one range read each.
        Index("ix_after_sales_status_deadline_at", "status", "deadline_at"),
        Index("ix_after_sales_store_id_status", "store_id", "status"),
        CheckConstraint("refund_fen >= 0", name="refund_nonneg"),
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Public number; also the refund's out_refund_no at WeChat Pay (≤ 64 of [0-9A-Za-z_-|*@]).
    after_sale_no: Mapped[str] = mapped_column(String(32), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    kind: Mapped[str] = mapped_column(String(16))
    # Changed only by models.aftersales.status.AFTER_SALES.
    status: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(String(500))
    # What the units claimed paid (Σ of the items' refund_fen); the refund takes what was received.
    refund_fen: Mapped[int] = mapped_column(default=0)
    refunded_fen: Mapped[int | None]
    # The current deadline (its meaning follows the status: respond, ship, receive) and
    # when its reminder went out (NULL again whenever a new deadline starts).
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the sweep did on its own (auto_approved, escalated, closed, auto_received).
    auto_action: Mapped[str | None] = mapped_column(String(24))
    # A return by carrier: the shopper's carrier and number; when the carrier said signed.
    carrier: Mapped[str | None] = mapped_column(String(32))
    tracking_no: Mapped[str | None] = mapped_column(String(64))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A return at the store: a 12-digit code like a pickup code — a seed (the digits are
    # derived from it, only to show the owner) and the keyed lookup hash, unique.
    return_code_seed: Mapped[str | None] = mapped_column(String(32))
    return_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    replacement_order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    decided_by: Mapped[int | None]
    decision_note: Mapped[str | None] = mapped_column(String(200))
    received_by: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    items: Mapped[list["AfterSaleItem"]] = relationship(order_by="AfterSaleItem.id", back_populates="after_sale")
    photos: Mapped[list["AfterSalePhoto"]] = relationship(order_by="AfterSalePhoto.id", viewonly=True)


class AfterSaleItem(db.Model):
    """Units of one order line an after-sale covers, and what they refund (their part of
    the line's paid share, models/aftersales/amounts.py)."""

    __tablename__ = "after_sale_items"
    __table_args__ = (
        CheckConstraint("qty > 0 AND refund_fen >= 0", name="qty_positive"),
        CheckConstraint("resellable_qty IS NULL OR received_qty IS NULL OR resellable_qty <= received_qty",
                        name="resellable_received"),
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    after_sale_id: Mapped[int] = mapped_column(ForeignKey("after_sales.id"), index=True)
    order_item_id: Mapped[int] = mapped_column(ForeignKey("order_items.id"), index=True)
    qty: Mapped[int]
    refund_fen: Mapped[int]
    received_qty: Mapped[int | None]
    resellable_qty: Mapped[int | None]

    after_sale: Mapped[AfterSale] = relationship(back_populates="items")


class AfterSalePhoto(db.Model):
    """A photo the shopper sent, re-encoded without metadata, stored outside static files."""

    __tablename__ = "after_sale_photos"
    __table_args__ = (MYSQL_TABLE,)

    id: Mapped[int] = mapped_column(primary_key=True)
    after_sale_id: Mapped[int] = mapped_column(ForeignKey("after_sales.id"), index=True)
    # A random file name under AFTERSALE_PHOTO_DIR (never the shopper's name for it).
    file_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(16))
    size: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
