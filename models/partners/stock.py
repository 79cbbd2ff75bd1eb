"""A partner's stock: read a store's rows; change them by deltas (a reason each) or by
absolute counts (with the time they were counted), up to MAX_LINES a call, on the stock
ledger like any staff change.

Every change call carries an `Idempotency-Key`: its unique row (client, key) is inserted
before any stock moves, so a retry of a call that committed answers what it did, and a
retry racing the first waits on that row's index entry and then does the same; the same
key with another body is 422 `idempotency_key_reused`. A refused call (stock below what
orders hold, a stale count) rolls back with its key: it may be retried as it is.

A count is turned into a delta against the row as it is now, under its lock — unless the
stock moved after the count was taken (a sale, a pickup, another adjustment): then the
count describes a shelf that no longer exists and is refused, 409 `stale_count`, rather
than overwriting what happened since (Saleor's blind overwrite).

Locks: the key's row, then stock rows in SKU order (one store), as staff adjustments
(docs/architecture.md, "Lock order")."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from app.errors import AppError, InvalidRequest, NotFound
from app.extensions import db
from models import audit
from models.partners import events
from models.partners.refs import refs_of
from models.partners.tables import PartnerStockRequest
from models.stock import levels, queries
from models.base import utcnow
from models.catalog import Sku
from models.stock.admin import MAX_ON_HAND, MAX_QTY, _lock
from models.stock.errors import BundleHasNoStock, StockBelowReserved
from models.stock.tables import Inventory, StockMovement
from models.stores import Store

MAX_LINES = 500
REASONS = ("received", "returned", "damaged", "lost", "found", "count_correction", "other")


class StaleCount(AppError):
    status, code, message = 409, "stale_count", "The stock moved after it was counted; count again."


class IdempotencyKeyReused(AppError):
    status, code, message = (422, "idempotency_key_reused",
                             "This Idempotency-Key was used with a different request.")


@dataclass(frozen=True)
class _Target:
    """The key's row as the audit log names it (written with Core: no ORM object)."""
    id: int
    __tablename__ = "partner_stock_requests"


def store_of(principal, store_id: int) -> Store:
    """A store the client may see (404 for any other, as for one that does not exist)."""
    store = db.session.get(Store, store_id) if principal.sees(store_id) else None
    if store is None:
        raise NotFound("No such store.", details={"id": store_id})
    return store


def levels_of(principal, store_id: int, sku_ids: list[int] | None = None) -> list[Inventory]:
    store = store_of(principal, store_id)
    rows = queries.store_inventory(store.id)
    if sku_ids:
        wanted = set(sku_ids)
        rows = [r for r in rows if r.sku_id in wanted]
    refs = refs_of(principal.id, "sku", [r.sku_id for r in rows])
    for r in rows:
        r.external_ref = refs.get(r.sku_id)
    return rows


def _fingerprint(kind: str, store_id: int, lines: list[dict]) -> str:
    body = json.dumps({"kind": kind, "store_id": store_id, "lines": lines}, sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _claim(principal, key: str, fingerprint: str) -> tuple[int, dict | None]:
    """(the key's row id, the first call's answer if this is a retry of it). INSERT IGNORE:
    one round trip, no savepoint; a concurrent first call holds the key's index entry
    until it commits, and this insert waits for it, then finds its row."""
    t = PartnerStockRequest.__table__
    ignore = "IGNORE" if db.session.get_bind().dialect.name == "mysql" else "OR IGNORE"
    done = db.session.execute(t.insert().prefix_with(ignore), {
        "client_id": principal.id, "key": key, "request_hash": fingerprint, "result": None, "created_at": utcnow()})
    if done.rowcount == 1:
        return done.lastrowid, None
    row = db.session.execute(select(t.c.id, t.c.request_hash, t.c.result).where(
        t.c.client_id == principal.id, t.c.key == key)).one()
    if row.request_hash != fingerprint:
        raise IdempotencyKeyReused(details={"key": key})
    return row.id, row.result


def _stock_skus(sku_ids: list[int]) -> None:
    """Every SKU exists and holds stock of its own (404 / 400 bundle_has_no_stock), one read."""
    found = dict(db.session.execute(select(Sku.id, Sku.is_bundle).where(Sku.id.in_(sku_ids))).all())
    for sku_id in sku_ids:
        if sku_id not in found:
            raise NotFound("No such SKU.", details={"id": sku_id})
        if found[sku_id]:
            raise BundleHasNoStock(details={"sku_id": sku_id})


def change(principal, store_id: int, key: str, lines: list[dict], *, kind: str) -> tuple[dict, bool]:
    """Apply `lines` — {sku_id, delta, reason, note?} (kind "delta") or {sku_id, on_hand,
    counted_at, note?} (kind "count") — all or nothing. Returns (the answer, replayed)."""
    store = store_of(principal, store_id)
    if not 0 < len(lines) <= MAX_LINES:
        raise InvalidRequest("Between 1 and {max} lines a call.", params={"max": MAX_LINES},
                             details={"field": "lines"})
    skus = [ln["sku_id"] for ln in lines]
    if len(set(skus)) != len(skus):
        raise InvalidRequest("Name each SKU once a call.", details={"field": "lines"})
    request_id, earlier = _claim(principal, key, _fingerprint(kind, store.id, lines))
    if earlier is not None:
        return earlier, True
    _stock_skus(skus)
    results = []
    for line in sorted(lines, key=lambda ln: ln["sku_id"]):  # the lock order
        inv = _lock(store.id, line["sku_id"], create=True)
        delta = line["delta"] if kind == "delta" else _count_delta(inv, line)
        reason = line.get("reason", "other") if kind == "delta" else "count"
        if delta:
            new = inv.on_hand + delta
            if new < inv.reserved:
                raise StockBelowReserved(details={"sku_id": inv.sku_id, "on_hand": inv.on_hand,
                                                  "reserved": inv.reserved, "delta": delta})
            if new > MAX_ON_HAND or abs(delta) > MAX_QTY:
                raise InvalidRequest("That would put more stock on hand than a counter holds.",
                                     details={"max_on_hand": MAX_ON_HAND, "sku_id": inv.sku_id})
            inv.on_hand = new
            db.session.add(StockMovement(store_id=store.id, sku_id=inv.sku_id, delta_on_hand=delta,
                                         reason=f"partner:{reason}", note=line.get("note"),
                                         ref=f"partner:{principal.id}:{request_id}"))
        results.append({"sku_id": inv.sku_id, "delta": delta, "reason": reason,
                        "on_hand": inv.on_hand, "reserved": inv.reserved,
                        "available": max(inv.on_hand - inv.reserved, 0)})
    db.session.flush()
    levels.after_change(store.id, skus)
    for r in results:
        if r["delta"]:
            events.emit("stock.adjusted", "stock", f"{store.id}:{r['sku_id']}", store.id,
                        {"store_id": store.id, **r})
    answer = {"store_id": store.id, "kind": kind, "lines": results}
    t = PartnerStockRequest.__table__
    db.session.execute(t.update().where(t.c.id == request_id).values(result=answer))
    audit.record(f"inventory.partner_{kind}", _Target(request_id), actor=principal,
                 changes={"store_id": store.id, "lines": [{k: r[k] for k in ("sku_id", "delta", "reason")}
                                                          for r in results]})
    return answer, False


def _count_delta(inv: Inventory, line: dict) -> int:
    counted_at: datetime = line["counted_at"]
    moved_at = db.session.scalar(select(StockMovement.at).where(
        StockMovement.store_id == inv.store_id, StockMovement.sku_id == inv.sku_id)
        .order_by(StockMovement.id.desc()).limit(1))
    # The ledger keeps whole seconds (DATETIME): a movement in the count's own second may
    # have come after it, so that second counts as "after" (a recount is the safe answer).
    if moved_at is not None and moved_at >= counted_at.replace(microsecond=0):
        raise StaleCount(details={"sku_id": inv.sku_id, "counted_at": counted_at.isoformat(),
                                  "moved_at": moved_at.isoformat()})
    return line["on_hand"] - inv.on_hand
