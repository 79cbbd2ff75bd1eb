"""Reading stock: a store's counters, what shoppers can buy where (bundles as often as
their scarcest component allows), a row's ledger, and the staff views of alerts and
proposals."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, literal, or_, select

from app.extensions import db
from models.base import keyset_page
from models.catalog import BundleComponent, Product, Sku
from models.staff.abilities import readable_store_ids, require_readable
from models.staff.tables import Staff
from models.stock.tables import (Inventory, ReplenishmentRequest, StockLevelEvent, StockMovement,
                                 TransferProposal)


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
        avail = (bundle_available(parts.get(sku.id, []), available) if sku.is_bundle
                 else available.get(sku.id))
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


# --- a row's ledger ---------------------------------------------------------------------

@dataclass(frozen=True)
class LedgerEntry:
    id: int
    at: datetime
    kind: str                   # the movement's reason: restock, count, adjust:damaged, reserve...
    delta_on_hand: int
    delta_reserved: int
    ref: str | None
    order_id: int | None
    staff_id: int | None
    staff_name: str | None
    note: str | None
    balance_after: int | None   # on_hand right after this movement (None: no stock row)


def ledger(store_id: int, sku_id: int, *, cursor: int | None, limit: int) -> list[LedgerEntry]:
    """One page of a (store, SKU)'s movements, newest first, each with the on-hand balance
    it left. The table keeps no balance, so it is worked back from the counter: the
    ledger sums to on_hand (models.stock.check), so the balance after a row is on_hand
    minus every newer row's delta — the rows above the cursor (pages already shown) in
    one sum, then this page's own. One statement reads the page, the counter and that
    sum, so all three come from one snapshot (a movement committed meanwhile can't put
    them out of step). It walks ix_stock_movements_store_sku: the page costs its rows, the
    sum the rows already paged through — never the rest of the history."""
    m = StockMovement
    this_row = (m.store_id == store_id, m.sku_id == sku_id)
    on_hand = (select(Inventory.on_hand)
               .where(Inventory.store_id == store_id, Inventory.sku_id == sku_id).scalar_subquery())
    if cursor:
        shown = select(func.coalesce(func.sum(m.delta_on_hand), 0)).where(
            *this_row, m.id >= cursor).scalar_subquery()
    else:
        shown = literal(0)
    query = (select(m.id, m.at, m.reason, m.delta_on_hand, m.delta_reserved, m.ref, m.order_id,
                    m.staff_id, m.note, Staff.display_name, Staff.username,
                    on_hand.label("on_hand_now"), shown.label("shown"))
             .outerjoin(Staff, Staff.id == m.staff_id)
             .where(*this_row).order_by(m.id.desc()).limit(limit))
    if cursor:
        query = query.where(m.id < cursor)
    entries, balance = [], None
    for row in db.session.execute(query):
        if balance is None and row.on_hand_now is not None:
            balance = row.on_hand_now - int(row.shown)
        entries.append(LedgerEntry(
            id=row.id, at=row.at, kind=row.reason, delta_on_hand=row.delta_on_hand,
            delta_reserved=row.delta_reserved, ref=row.ref, order_id=row.order_id,
            staff_id=row.staff_id, staff_name=(row.display_name or row.username) if row.staff_id else None,
            note=row.note, balance_after=balance))
        if balance is not None:
            balance -= row.delta_on_hand
    return entries


# --- staff views ------------------------------------------------------------------------

def visible_store_ids(staff) -> list[int] | None:
    """Stores whose stock alerts this staff member may read; None means all of them."""
    return readable_store_ids(staff)


def _scoped(query, column, staff, store_id: int | None):
    visible = visible_store_ids(staff)
    if store_id is not None:
        require_readable(staff, store_id)
        return query.where(column == store_id)
    return query if visible is None else query.where(column.in_(visible))


def list_proposals(staff, *, status: str | None, cursor: int | None, limit: int):
    query = select(TransferProposal)
    if status:
        query = query.where(TransferProposal.status == status)
    visible = visible_store_ids(staff)
    if visible is not None:
        query = query.where(or_(TransferProposal.from_store_id.in_(visible),
                                TransferProposal.to_store_id.in_(visible)))
    return keyset_page(query, TransferProposal.id, cursor=cursor, limit=limit, newest_first=True)


def list_replenishment(staff, *, status: str | None, store_id: int | None, cursor: int | None,
                       limit: int):
    query = _scoped(select(ReplenishmentRequest), ReplenishmentRequest.store_id, staff, store_id)
    if status:
        query = query.where(ReplenishmentRequest.status == status)
    return keyset_page(query, ReplenishmentRequest.id, cursor=cursor, limit=limit, newest_first=True)


def list_level_events(staff, *, store_id: int | None, cursor: int | None, limit: int):
    query = _scoped(select(StockLevelEvent), StockLevelEvent.store_id, staff, store_id)
    return keyset_page(query, StockLevelEvent.id, cursor=cursor, limit=limit, newest_first=True)
