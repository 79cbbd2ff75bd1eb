"""Stock tables: per-store counters (on_hand, reserved, baseline), the movement ledger,
level events, replenishment requests, transfers and transfer proposals.

`available = on_hand - reserved` never goes negative: CHECK constraints hold the last
line, guarded updates (models.stock.holds) the first.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from models.base import MYSQL_TABLE, UTCDateTime, utcnow
from models.catalog import Sku


class Inventory(db.Model):
    __tablename__ = "inventory"
    __table_args__ = (
        UniqueConstraint("store_id", "sku_id"),
        CheckConstraint("on_hand >= 0", name="on_hand_nonneg"),
        CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="reserved_range"),
        CheckConstraint("baseline >= 0", name="baseline_nonneg"),
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), index=True)
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    # The level a store is stocked up to; alert levels are fractions of it.
    baseline: Mapped[int] = mapped_column(default=0)
    # Online ordering of this SKU at this store (closed automatically at very low stock).
    online: Mapped[bool] = mapped_column(default=True)
    # Alert level last evaluated: normal | tight | red | closed | critical (models.stock.levels).
    level: Mapped[str] = mapped_column(String(16), default="normal")
    # Flash-sale mode: a Redis gate (models.stock.flash_sale) in front of the guarded update.
    flash_sale: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    sku: Mapped[Sku] = relationship()

    @property
    def available(self) -> int:
        return max(self.on_hand - self.reserved, 0)


class StockMovement(db.Model):
    """Append-only ledger: sum(delta_on_hand) per (store, sku) equals on_hand."""

    __tablename__ = "stock_movements"
    # A row's ledger, newest first (models.stock.queries.ledger): equality on both, then
    # the id (InnoDB appends the primary key to a secondary index anyway; named here so
    # SQLite's index carries it too).
    __table_args__ = (Index("ix_stock_movements_store_sku", "store_id", "sku_id", "id"), MYSQL_TABLE)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    delta_on_hand: Mapped[int] = mapped_column(default=0)
    delta_reserved: Mapped[int] = mapped_column(default=0)
    reason: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[int | None] = mapped_column(index=True)
    staff_id: Mapped[int | None]
    # Groups the two sides of a transfer (stock_transfers.id) and similar.
    ref: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(255))


class StockLevelEvent(db.Model):
    """A (store, SKU) crossed an alert level; the notifications issue pushes these to staff."""

    __tablename__ = "stock_level_events"
    __table_args__ = (Index("ix_stock_level_events_store_sku", "store_id", "sku_id"),
                      Index("ix_stock_level_events_at", "at"),  # a range's alerts and closures (analytics)
                      MYSQL_TABLE)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    from_level: Mapped[str] = mapped_column(String(16))
    to_level: Mapped[str] = mapped_column(String(16))
    available: Mapped[int]
    baseline: Mapped[int]
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReplenishmentRequest(db.Model):
    """Opened when a (store, SKU) turns red; a manager accepts it (commits to restock) or
    rejects it (not needed: cancelled); fulfilled when the level recovers (open or accepted)."""

    __tablename__ = "replenishment_requests"
    __table_args__ = (Index("ix_replenishment_requests_store_sku", "store_id", "sku_id"), MYSQL_TABLE)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    qty_suggested: Mapped[int]
    # open | accepted | fulfilled | cancelled (models.stock.status.REPLENISHMENT)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The staff decision (accept or reject): who, when, how much they committed to
    # restock (accept; None: the suggestion stands) and why (reject).
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None]
    qty_committed: Mapped[int | None]
    reason: Mapped[str | None] = mapped_column(String(200))


class TransferProposal(db.Model):
    """Suggested when a (store, SKU) is critical: move stock from the nearest store with surplus."""

    __tablename__ = "transfer_proposals"
    __table_args__ = (MYSQL_TABLE,)

    id: Mapped[int] = mapped_column(primary_key=True)
    from_store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    to_store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    qty: Mapped[int]
    distance_m: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="proposed")  # proposed | accepted | rejected
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None]
    transfer_id: Mapped[int | None]


class StockTransfer(db.Model):
    """Stock moved between stores: both ledger sides carry ref=f"transfer:{id}"."""

    __tablename__ = "stock_transfers"
    __table_args__ = (MYSQL_TABLE,)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    from_store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    to_store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    qty: Mapped[int]
    staff_id: Mapped[int | None]
    note: Mapped[str | None] = mapped_column(String(255))


class StockCheckSum(db.Model):
    """The ledger's sums per (store, SKU) through StockCheckMark.through_id: where the
    incremental stock check starts (models/stock/check.py)."""

    __tablename__ = "stock_check_sums"
    __table_args__ = (MYSQL_TABLE,)

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True, autoincrement=False)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), primary_key=True, autoincrement=False)
    on_hand: Mapped[int]
    reserved: Mapped[int]


class StockCheckMark(db.Model):
    """How far the saved sums go (the last movement id they include)."""

    __tablename__ = "stock_check_marks"
    __table_args__ = (MYSQL_TABLE,)

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    through_id: Mapped[int]
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
