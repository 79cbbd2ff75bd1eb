"""Per-store stock: on_hand, reserved, baseline; every change on the movement ledger.

`available = on_hand - reserved` never goes negative: CHECK constraints hold the last
line, guarded updates (ordering issue) the first.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.errors import InvalidRequest
from app.extensions import db
from models import audit, stock_levels
from models.base import MYSQL_TABLE, UTCDateTime, utcnow
from models.catalog import BundleComponent, Product, Sku
from models.stores import Store


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
    # Alert level last evaluated: normal | tight | red | closed | critical (models.stock_levels).
    level: Mapped[str] = mapped_column(String(16), default="normal")
    # Flash-sale mode: a Redis gate (models.flash_sale) in front of the guarded update.
    flash_sale: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    sku: Mapped[Sku] = relationship()

    @property
    def available(self) -> int:
        return max(self.on_hand - self.reserved, 0)


class StockMovement(db.Model):
    """Append-only ledger: sum(delta_on_hand) per (store, sku) equals on_hand."""

    __tablename__ = "stock_movements"
    __table_args__ = (MYSQL_TABLE,)

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
    __table_args__ = (Index("ix_stock_level_events_store_sku", "store_id", "sku_id"), MYSQL_TABLE)

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
    """Opened when a (store, SKU) turns red; closed when restocked or cancelled."""

    __tablename__ = "replenishment_requests"
    __table_args__ = (Index("ix_replenishment_requests_store_sku", "store_id", "sku_id"), MYSQL_TABLE)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    qty_suggested: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | fulfilled | cancelled
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


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


def set_stock(actor, store: Store, sku: Sku, *, on_hand: int | None, baseline: int | None,
              note: str | None = None) -> Inventory:
    """Set counted stock and/or baseline for (store, sku); the ledger gets the difference."""
    inv = db.session.scalars(
        select(Inventory).where(Inventory.store_id == store.id, Inventory.sku_id == sku.id)
        .with_for_update()
    ).first()
    if inv is None:
        inv = Inventory(store_id=store.id, sku_id=sku.id, on_hand=0, reserved=0, baseline=0)
        db.session.add(inv)
        db.session.flush()
    changes = {}
    if on_hand is not None and on_hand != inv.on_hand:
        if on_hand < inv.reserved:
            raise InvalidRequest(
                "on_hand cannot go below what open orders have reserved.",
                details={"reserved": inv.reserved},
            )
        db.session.add(StockMovement(
            store_id=store.id, sku_id=sku.id, delta_on_hand=on_hand - inv.on_hand,
            reason="count", staff_id=getattr(actor, "id", None), note=note,
        ))
        changes["on_hand"] = [inv.on_hand, on_hand]
        inv.on_hand = on_hand
    if baseline is not None and baseline != inv.baseline:
        changes["baseline"] = [inv.baseline, baseline]
        inv.baseline = baseline
    if changes:
        audit.record("inventory.set", inv, actor=actor,
                     changes={"store_id": store.id, "sku_id": sku.id, **changes})
        db.session.flush()
        stock_levels.after_change(store.id, [sku.id])
    return inv


def store_inventory(store_id: int) -> list[Inventory]:
    return list(db.session.scalars(
        select(Inventory).where(Inventory.store_id == store_id).order_by(Inventory.sku_id)
    ))


def store_catalog(store_id: int, *, cursor: int | None, limit: int):
    """Products on shelf that can be bought at this store, each with its on-shelf SKUs and
    their availability there: [(product, [(sku, available)])]. A bundle is available as
    many times as its scarcest component allows. Three or four queries, however many rows."""
    carried = (select(Sku.product_id).join(Inventory, Inventory.sku_id == Sku.id)
               .where(Inventory.store_id == store_id, Sku.on_shelf.is_(True)))
    bundles = select(Sku.product_id).where(Sku.is_bundle.is_(True), Sku.on_shelf.is_(True))
    query = (select(Product).where(Product.on_shelf.is_(True),
                                   Product.id.in_(carried.union(bundles)))
             .order_by(Product.id).limit(limit))
    if cursor:
        query = query.where(Product.id > cursor)
    products = list(db.session.scalars(query))
    if not products:
        return []
    skus = list(db.session.scalars(select(Sku).where(
        Sku.product_id.in_([p.id for p in products]), Sku.on_shelf.is_(True)).order_by(Sku.id)))
    parts = _bundle_parts([s.id for s in skus if s.is_bundle])
    wanted = {s.id for s in skus} | {c for comps in parts.values() for c, _ in comps}
    available = {sku_id: (avail if online else 0) for sku_id, avail, online in db.session.execute(
        select(Inventory.sku_id, Inventory.on_hand - Inventory.reserved, Inventory.online)
        .where(Inventory.store_id == store_id, Inventory.sku_id.in_(wanted)))}
    by_product: dict[int, list] = {}
    for sku in skus:
        avail = bundle_available(parts.get(sku.id, []), available) if sku.is_bundle \
            else available.get(sku.id)
        if avail is not None:  # None: not sold at this store
            by_product.setdefault(sku.product_id, []).append((sku, max(avail, 0)))
    return [(p, by_product[p.id]) for p in products if p.id in by_product]


def _bundle_parts(bundle_ids: list[int]) -> dict[int, list[tuple[int, int]]]:
    if not bundle_ids:
        return {}
    parts: dict[int, list[tuple[int, int]]] = {}
    for bundle_id, sku_id, qty in db.session.execute(
            select(BundleComponent.bundle_sku_id, BundleComponent.component_sku_id, BundleComponent.qty)
            .where(BundleComponent.bundle_sku_id.in_(bundle_ids))):
        parts.setdefault(bundle_id, []).append((sku_id, qty))
    return parts


def bundle_available(components: list[tuple[int, int]], available: dict[int, int]) -> int | None:
    """How many bundles the components allow; None if a component isn't sold here."""
    if not components or any(sku_id not in available for sku_id, _ in components):
        return None
    return min(available[sku_id] // qty for sku_id, qty in components)
