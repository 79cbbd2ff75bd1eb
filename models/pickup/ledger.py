"""The verification ledger: a hash chain per store (see tables.PickupVerification).

Appending locks the store's head row, so concurrent verifications at one store are
chained one after the other (they queue only for the append and the commit: it is the
last thing a verification does). `check` walks every chain from its first row.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import mysql, sqlite

from app.crypto import cipher
from app.extensions import db
from app.sqlbatch import Batch, joining
from models.orders.tables import Order
from models.base import utcnow
from models.pickup.tables import PickupLedgerCheckpoint, PickupLedgerHead, PickupVerification
from models.staff.tables import Staff

GENESIS = "0" * 64
HEAD, ROWS = PickupLedgerHead.__table__, PickupVerification.__table__


def row_hash(prev_hash: str, store_id: int, seq: int, order_id: int, staff_id: int,
             items: list, partial: bool, at: datetime, *, key: bytes | None = None) -> str:
    message = json.dumps([prev_hash, store_id, seq, order_id, staff_id, items, bool(partial),
                          at.strftime("%Y-%m-%dT%H:%M:%SZ")], separators=(",", ":"))
    return hmac.new(key or cipher().subkey("pickup-ledger-v1"), message.encode(), hashlib.sha256).hexdigest()


def _hash_ok(row, prev_hash: str) -> bool:
    """The row's hash matches its contents under one of the configured keys (during a key
    rotation the previous key's rows are valid until `rechain` redoes them)."""
    return any(hmac.compare_digest(row.row_hash, row_hash(prev_hash, row.store_id, row.seq, row.order_id,
                                                          row.staff_id, row.items, row.partial,
                                                          row.verified_at, key=key))
               for key in cipher().subkeys("pickup-ledger-v1"))


def _lock_head(store_id: int, writes: Batch):
    """The store's head, locked, at the end of `writes` (run here, so the caller's other
    rows are written before the lock is taken). The lock is taken by an upsert, which
    also starts the chain at a store's first verification: a locking read of a missing
    row would take a gap lock, and two first verifications would then deadlock on
    inserting it. An upsert locks the row it finds or makes, and nothing else."""
    conn = db.session.connection()
    writes.add(_START_OR_LOCK[conn.dialect.name], {"store_id": store_id, "seq": 0, "last_hash": GENESIS})
    head = writes.add(_HEAD_NOW, {"store": store_id})
    return writes.run()[head].rows[0]


def append(*, store_id: int, order_id: int, staff_id: int, items: list[list[int]], partial: bool,
           at: datetime, writes: Batch | None = None) -> int:
    """Chain one hand-over onto the store's ledger; returns its seq. `at` has whole seconds
    (DATETIME keeps no more), so the hash checks against what the database stored. With
    `writes`, the caller's rows go first, in the round trip that takes the head's lock."""
    head = _lock_head(store_id, writes if writes is not None else Batch())
    seq = head.seq + 1
    digest = row_hash(head.last_hash, store_id, seq, order_id, staff_id, items, partial, at)
    with joining(None) as chain:  # the row and the new head in one round trip; the lock is held to the commit
        chain.add(_INSERT_ROW, {"store_id": store_id, "seq": seq, "order_id": order_id, "staff_id": staff_id,
                                "items": items, "partial": partial, "verified_at": at,
                                "prev_hash": head.last_hash, "row_hash": digest})
        chain.add(_MOVE_HEAD, {"store": store_id, "new_seq": seq, "new_hash": digest},
                  one_row=f"ledger head of store {store_id} moved while locked")
    return seq


_START_OR_LOCK = {"mysql": mysql.insert(HEAD).on_duplicate_key_update(seq=HEAD.c.seq),
                  "sqlite": sqlite.insert(HEAD).on_conflict_do_nothing()}  # one writer at a time
# A locking read (of a row already locked): a plain one would read the transaction's
# snapshot, which may be older than the head it now holds.
_HEAD_NOW = select(HEAD.c.seq, HEAD.c.last_hash).where(HEAD.c.store_id == bindparam("store")).with_for_update()
_INSERT_ROW = ROWS.insert()
_MOVE_HEAD = HEAD.update().where(HEAD.c.store_id == bindparam("store")).values(
    seq=bindparam("new_seq"), last_hash=bindparam("new_hash"))


def last_handover(order: Order) -> dict:
    """When and by whom an order was (last) handed over: the details of already_picked_up."""
    row = db.session.execute(
        select(PickupVerification.verified_at, PickupVerification.staff_id, Staff.display_name,
               Staff.username)
        .join(Staff, Staff.id == PickupVerification.staff_id)
        .where(PickupVerification.order_id == order.id)
        .order_by(PickupVerification.id.desc()).limit(1)).first()
    details = {"order_no": order.order_no, "status": order.status,
               "picked_up_at": _iso(order.picked_up_at)}
    if row is not None:
        details.update(picked_up_at=_iso(order.picked_up_at or row.verified_at), staff_id=row.staff_id,
                       staff_name=row.display_name or row.username)
    return details


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# --- the check -------------------------------------------------------------------------------

def check(batch: int = 1000, *, incremental: bool = False) -> tuple[list[dict], int]:
    """Walk every store's chain; return (the first broken row of each broken chain, rows
    checked). A row is broken when its seq skips (a row before it was deleted), its
    prev_hash is not the previous row's hash, or its hash does not match its contents;
    a head that is not the last row means rows were removed from the end.

    `incremental`: start each chain after its checkpoint (the last row a clean check
    reached, its hash re-read to see it is still there), so a nightly run costs the day's
    rows; a row changed before a checkpoint is found by a full run (weekly, say). A clean
    run moves each store's checkpoint to its chain's end."""
    problems, checked = [], 0
    heads = {h.store_id: h for h in db.session.scalars(select(PickupLedgerHead))}
    marks = {m.store_id: m for m in db.session.scalars(select(PickupLedgerCheckpoint))} if incremental else {}
    store_ids = set(heads) | (set(marks) if incremental else
                              set(db.session.scalars(select(PickupVerification.store_id).distinct())))
    for store_id in sorted(store_ids):
        prev, expected, broken = GENESIS, 1, None
        mark = marks.get(store_id)
        if mark is not None:
            still = db.session.scalars(select(ROWS.c.row_hash).where(
                ROWS.c.store_id == store_id, ROWS.c.seq == mark.seq)).first()
            if still != mark.row_hash:
                problems.append({"store_id": store_id, "id": None, "seq": mark.seq,
                                 "problem": "the checkpoint row changed or is gone since the last check"})
                continue
            prev, expected = mark.row_hash, mark.seq + 1
        rows = db.session.execute(select(ROWS).where(ROWS.c.store_id == store_id, ROWS.c.seq >= expected)
                                  .order_by(ROWS.c.seq).execution_options(yield_per=batch))
        for row in rows:
            checked += 1
            if row.seq != expected:
                broken = _problem(row, f"seq {row.seq} where {expected} was expected (rows missing or moved)")
            elif row.prev_hash != prev:
                broken = _problem(row, "prev_hash is not the previous row's hash")
            elif not _hash_ok(row, row.prev_hash):
                broken = _problem(row, "row_hash does not match the row's contents")
            if broken:
                rows.close()
                break
            prev, expected = row.row_hash, expected + 1
        head = heads.get(store_id)
        if broken is None and (head is None or head.seq != expected - 1 or head.last_hash != prev):
            broken = {"store_id": store_id, "id": None, "seq": expected,
                      "problem": f"the chain ends at seq {expected - 1} but its head says "
                                 f"{head.seq if head else 'nothing'} (rows missing at the end)"}
        if broken:
            problems.append(broken)
        elif expected > 1:
            _save_checkpoint(store_id, expected - 1, prev)
    return problems, checked


def _save_checkpoint(store_id: int, seq: int, last_hash: str) -> None:
    mark = db.session.get(PickupLedgerCheckpoint, store_id)
    if mark is None:
        db.session.add(PickupLedgerCheckpoint(store_id=store_id, seq=seq, row_hash=last_hash))
    else:
        mark.seq, mark.row_hash, mark.checked_at = seq, last_hash, utcnow()


def _problem(row, text: str) -> dict:
    return {"store_id": row.store_id, "id": row.id, "seq": row.seq, "problem": text}


# --- a key rotation ------------------------------------------------------------------------

def stores_with_chains() -> list[int]:
    return list(db.session.scalars(select(HEAD.c.store_id).order_by(HEAD.c.store_id)))


def rechain(store_id: int) -> int | None:
    """Re-hash one store's chain with the current key (`flask keys rotate-fields`), in the
    caller's transaction, holding the head's lock so no hand-over is chained meanwhile.
    The chain is checked first, row by row under either key: a broken chain is refused
    (ChainBroken), never laundered into a valid one. Returns the rows re-hashed; None when
    the chain is already the current key's (its first row says so: a store's chain is
    redone whole, in one transaction)."""
    head = db.session.execute(select(HEAD.c.seq, HEAD.c.last_hash).where(HEAD.c.store_id == store_id)
                              .with_for_update()).first()
    if head is None or head.seq == 0:
        return None
    rows = db.session.execute(select(ROWS).where(ROWS.c.store_id == store_id).order_by(ROWS.c.seq)).all()
    first = rows[0] if rows else None
    if first is not None and hmac.compare_digest(first.row_hash, row_hash(
            GENESIS, first.store_id, first.seq, first.order_id, first.staff_id, first.items, first.partial,
            first.verified_at)):
        return None
    prev, new_prev, updates = GENESIS, GENESIS, []
    for expected, row in enumerate(rows, start=1):
        if row.seq != expected or row.prev_hash != prev or not _hash_ok(row, prev):
            raise ChainBroken(_problem(row, "the chain does not verify: not re-hashed (run flask pickups verify-ledger)"))
        digest = row_hash(new_prev, row.store_id, row.seq, row.order_id, row.staff_id, row.items, row.partial,
                          row.verified_at)
        updates.append({"row_id": row.id, "new_prev": new_prev, "new_hash": digest})
        prev, new_prev = row.row_hash, digest
    if head.seq != len(rows) or head.last_hash != prev:
        raise ChainBroken({"store_id": store_id, "id": None, "seq": head.seq,
                           "problem": "the head does not match the chain's end: not re-hashed"})
    for start in range(0, len(updates), 500):
        db.session.execute(_REHASH_ROW, updates[start:start + 500])
    db.session.execute(HEAD.update().where(HEAD.c.store_id == store_id).values(last_hash=new_prev))
    # The checkpoint named a hash that no longer exists: the next incremental check of
    # this store starts from its first row.
    db.session.execute(PickupLedgerCheckpoint.__table__.delete().where(
        PickupLedgerCheckpoint.__table__.c.store_id == store_id))
    return len(updates)


class ChainBroken(Exception):
    def __init__(self, problem: dict):
        super().__init__(problem["problem"])
        self.problem = problem


_REHASH_ROW = ROWS.update().where(ROWS.c.id == bindparam("row_id")).values(
    prev_hash=bindparam("new_prev"), row_hash=bindparam("new_hash"))
