"""Order tables: the order, its snapshotted items, its event history, idempotency keys."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, false)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from models.base import MYSQL_TABLE, UTCDateTime, utcnow


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_user_id_id", "user_id", "id"),         # the shopper's list, newest first
        Index("ix_orders_store_id_id", "store_id", "id"),       # a store's list
        # A store's list by status, and every store's (admins) by status: newest first
        # without reading the rest of the history (models/orders/queries.py).
        Index("ix_orders_store_id_status_id", "store_id", "status", "id"),
        Index("ix_orders_status_id", "status", "id"),
        # A date range's bounds as ids (queries.id_bounds): one index entry each.
        Index("ix_orders_created_at", "created_at"),
        Index("ix_orders_status_pay_deadline", "status", "pay_deadline"),  # the unpaid sweep
        Index("ix_orders_status_pickup_deadline", "status", "pickup_deadline"),  # the pickup sweep
        # The orders sweep's auto-completion (models/orders/deadlines.py): a range read of the
        # orders past their window, not every order still inside it.
        Index("ix_orders_status_picked_up_at", "status", "picked_up_at"),
        Index("ix_orders_status_shipped_at", "status", "shipped_at"),
        Index("ix_orders_status_delivered_at", "status", "delivered_at"),
        CheckConstraint("total_fen >= 0 AND payable_fen >= 0", name="money_nonneg"),
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Public number; valid as a WeChat Pay out_trade_no (6–32 of [0-9A-Za-z_-|*]).
    order_no: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    fulfillment: Mapped[str] = mapped_column(String(16))  # pickup | delivery
    # Changed only by models.orders.status.transition (a guarded update).
    status: Mapped[str] = mapped_column(String(24))
    total_fen: Mapped[int]
    payable_fen: Mapped[int]
    remark: Mapped[str | None] = mapped_column(String(200))
    # Delivery address as encrypted JSON (it holds a phone number).
    address_enc: Mapped[str | None] = mapped_column(Text)
    # Where the order came from: "shop", or "card:<serial>" once pickup cards exist.
    source: Mapped[str] = mapped_column(String(32), default="shop")
    flash_sale: Mapped[bool] = mapped_column(default=False)
    # What came off `total_fen` (models/growth/checkout.py): payable = total − both.
    coupon_id: Mapped[int | None]
    coupon_discount_fen: Mapped[int] = mapped_column(default=0, server_default="0")
    points_used: Mapped[int] = mapped_column(default=0, server_default="0")
    points_discount_fen: Mapped[int] = mapped_column(default=0, server_default="0")
    # Priority pickup (a member level's or a visit streak's benefit), fixed when it is paid:
    # such orders are listed first to the clerks who prepare them.
    priority: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The member level's discount (models/growth/checkout.py): payable = total − all three.
    level_discount_fen: Mapped[int] = mapped_column(default=0, server_default="0")

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    pay_deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pickup_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the "pickup expiring" reminder was queued for the current deadline.
    pickup_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    picked_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    carrier: Mapped[str | None] = mapped_column(String(32))
    tracking_no: Mapped[str | None] = mapped_column(String(64))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(200))

    items: Mapped[list["OrderItem"]] = relationship(order_by="OrderItem.id", back_populates="order")
    events: Mapped[list["OrderEvent"]] = relationship(order_by="OrderEvent.id", viewonly=True)

    def stock_lines(self) -> list[tuple[int, int]]:
        """What the order still holds in stock: each line's units not yet picked up (a
        bundle's components), as (sku_id, qty)."""
        return [sl for item in self.items for sl in item.stock_lines()]


class OrderItem(db.Model):
    """A line as it was sold: name, spec and price are copied, so later catalog edits
    never change an order."""

    __tablename__ = "order_items"
    __table_args__ = (
        CheckConstraint("qty > 0 AND picked_up_qty >= 0 AND picked_up_qty <= qty", name="qty_range"),
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), index=True)
    product_id: Mapped[int]
    name: Mapped[str] = mapped_column(String(128))
    spec: Mapped[str] = mapped_column(String(64))
    price_fen: Mapped[int]
    qty: Mapped[int]
    picked_up_qty: Mapped[int] = mapped_column(default=0)
    # The line's part of the order's coupon and points discounts (they add up exactly).
    discount_fen: Mapped[int] = mapped_column(default=0, server_default="0")
    # What this line paid of the order's payable (models/orders/shares.py), fixed at
    # placement; NULL on rows placed before it was stored (then computed on the fly).
    paid_share_fen: Mapped[int | None]
    # For a bundle: [[component_sku_id, qty_per_bundle], ...] as held at order time.
    components: Mapped[list | None] = mapped_column(JSON)

    order: Mapped[Order] = relationship(back_populates="items")

    @property
    def remaining_qty(self) -> int:
        return self.qty - (self.picked_up_qty or 0)

    def stock_lines(self, qty: int | None = None) -> list[tuple[int, int]]:
        """What this line still holds in stock (what is not yet picked up) — or what `qty`
        units of it hold: itself, or its components for a bundle."""
        qty = self.remaining_qty if qty is None else qty
        if self.components:
            return [(sku_id, per * qty) for sku_id, per in self.components]
        return [(self.sku_id, qty)]


class OrderEvent(db.Model):
    """Append-only history: every status change, who made it, and why."""

    __tablename__ = "order_events"
    __table_args__ = (MYSQL_TABLE,)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    # Indexed: a day's moves are one range read (models/analytics/figures.py).
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    actor_type: Mapped[str] = mapped_column(String(16))  # user | staff | system
    actor_id: Mapped[int | None]
    reason: Mapped[str | None] = mapped_column(String(200))


class IdempotencyKey(db.Model):
    """A shopper's Idempotency-Key: the same key with the same body gets the same order."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"), MYSQL_TABLE)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
