"""Flash-sale gate: an atomic Redis token count per (store, SKU) in front of the database.

While a SKU's gate is on, an order first takes tokens here (one Lua call, all-or-nothing),
so only as many buyers as there are units reach the database. The database stays the
authority: the order still reserves with a guarded update (`on_hand - reserved >= qty`).

Key layout, per (store, sku), with the store as Redis Cluster hash tag so that one
order's SKUs (all in one store) live in one slot and one script can touch them all:
    {prefix}:{store}:{sku}:tokens   string int; exists <=> gate on
    {prefix}:{store}:{sku}:pending  hash ticket -> "qty:unix_ts" (taken, not yet settled)

Lifecycle of a ticket (one order attempt; single-use):
    take -> settle        the order committed: the units stay taken
    take -> give_back     placement failed: the units return
    (process died)        resync drops the stale ticket and recounts from the database
Later, when an order of a gated SKU releases its stock in the DB, `release` returns units.
Scripts use Redis TIME before writing, which needs effect replication (Redis >= 5).

Most orders are for SKUs with no gate on, and they should not pay a Redis round trip to
learn that: `{prefix}:gated` lists the gates that are on, and each process keeps a copy
for up to SNAPSHOT_S. Within that window after a gate is switched on in another process,
an order may pass ungated — the database still decides, the gate merely over-counts until
its next resync.
"""
from __future__ import annotations

import time
from collections.abc import Iterable

from flask import current_app
from sqlalchemy import select

from app.tasks import after_commit
from app.errors import NotFound
from app.extensions import db, rds
from models import audit
from models.stock.tables import Inventory

# KEYS = tokens1, pending1, tokens2, pending2, ...; ARGV = ticket, qty1, qty2, ...
# Returns 0 when refused, else 1 + the number of lines that were gated.
_TAKE = """
local ticket, n = ARGV[1], #KEYS / 2
local seen = 0
for i = 1, n do  -- a retried take (e.g. the reply was lost) must not take twice
  seen = seen + redis.call('HEXISTS', KEYS[2*i], ticket)
end
if seen > 0 then return 1 + seen end
for i = 1, n do  -- check every gate before changing any: all-or-nothing
  local t = redis.call('GET', KEYS[2*i-1])
  if t and tonumber(t) < tonumber(ARGV[i+1]) then return 0 end
end
local now = redis.call('TIME')[1]
local gated = 0
for i = 1, n do
  if redis.call('EXISTS', KEYS[2*i-1]) == 1 then  -- gate off: the line is not gated
    redis.call('DECRBY', KEYS[2*i-1], ARGV[i+1])
    redis.call('HSET', KEYS[2*i], ticket, ARGV[i+1] .. ':' .. now)
    gated = gated + 1
  end
end
return 1 + gated
"""

# KEYS = pending1, pending2, ...; ARGV = ticket
_SETTLE = """
for i = 1, #KEYS do redis.call('HDEL', KEYS[i], ARGV[1]) end
"""

# KEYS as for take; ARGV = ticket. Returns the qty recorded at take time, not the
# caller's, and only once: the HDEL makes a second call a no-op.
_GIVE_BACK = """
for i = 1, #KEYS / 2 do
  local p = redis.call('HGET', KEYS[2*i], ARGV[1])
  if p then
    redis.call('HDEL', KEYS[2*i], ARGV[1])
    if redis.call('EXISTS', KEYS[2*i-1]) == 1 then
      redis.call('INCRBY', KEYS[2*i-1], tonumber(string.match(p, '^(%d+):')))
    end
  end
end
"""

# KEYS = tokens1, tokens2, ...; ARGV = qty1, qty2, ... Gates that are off stay off.
_RELEASE = """
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('INCRBY', KEYS[i], ARGV[i]) end
end
"""

# KEYS = tokens, pending; ARGV = db_available, stale_after_s. Returns the new count
# (nil when the gate is off: a periodic resync must not switch a gate back on).
_RESYNC = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local now, stale = tonumber(redis.call('TIME')[1]), tonumber(ARGV[2])
local inflight, all = 0, redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  local qty, ts = string.match(all[i+1], '^(%d+):(%d+)$')
  if now - tonumber(ts) >= stale then
    redis.call('HDEL', KEYS[2], all[i])  -- its process is presumed dead
  else
    inflight = inflight + tonumber(qty)
  end
end
-- A fresh ticket's units left the gate but not yet the DB's available count:
-- without subtracting them, they would be handed out a second time.
local t = math.max(0, tonumber(ARGV[1]) - inflight)
redis.call('SET', KEYS[1], t)
return t
"""

# KEYS = tokens, pending; ARGV = available
_ENABLE = """
redis.call('SET', KEYS[1], math.max(0, tonumber(ARGV[1])))
redis.call('DEL', KEYS[2])  -- a fresh count: tickets from before are not in it
"""


def _merge(lines: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """One entry per SKU: two lines of one SKU must be checked against their sum."""
    total: dict[int, int] = {}
    for sku_id, qty in lines:
        if int(qty) <= 0:
            raise ValueError(f"qty must be positive, got {qty!r} for sku {sku_id}")
        total[int(sku_id)] = total.get(int(sku_id), 0) + int(qty)
    return sorted(total.items())


SNAPSHOT_S = 1.0


class FlashGate:
    def __init__(self, redis, prefix: str = "flash"):
        self.redis, self.prefix = redis, prefix
        self._gated_key = f"{prefix}:gated"
        self._snapshot: tuple[float, frozenset[str]] = (0.0, frozenset())
        s = redis.register_script
        self._take, self._settle, self._give_back = s(_TAKE), s(_SETTLE), s(_GIVE_BACK)
        self._release, self._resync, self._enable = s(_RELEASE), s(_RESYNC), s(_ENABLE)

    def _key(self, store_id: int, sku_id: int, kind: str) -> str:
        return f"{self.prefix}:{{{int(store_id)}}}:{int(sku_id)}:{kind}"

    def _pairs(self, store_id: int, lines) -> tuple[list[str], list[int]]:
        keys, qtys = [], []
        for sku_id, qty in _merge(lines):
            keys += [self._key(store_id, sku_id, "tokens"), self._key(store_id, sku_id, "pending")]
            qtys.append(qty)
        return keys, qtys

    def enable(self, store_id: int, sku_id: int, available: int) -> None:
        """Gate on with tokens = the DB's on_hand - reserved (also a hard reset if on)."""
        self._enable(keys=[self._key(store_id, sku_id, "tokens"),
                           self._key(store_id, sku_id, "pending")], args=[int(available)])
        self.redis.sadd(self._gated_key, f"{int(store_id)}:{int(sku_id)}")
        self._snapshot = (0.0, frozenset())

    def disable(self, store_id: int, sku_id: int) -> None:
        self.redis.delete(self._key(store_id, sku_id, "tokens"),
                          self._key(store_id, sku_id, "pending"))
        self.redis.srem(self._gated_key, f"{int(store_id)}:{int(sku_id)}")
        self._snapshot = (0.0, frozenset())

    def _any_gated(self, store_id: int, lines) -> bool:
        expires, gated = self._snapshot
        if time.monotonic() >= expires:
            gated = frozenset(m.decode() if isinstance(m, bytes) else m
                              for m in self.redis.smembers(self._gated_key))
            self._snapshot = (time.monotonic() + SNAPSHOT_S, gated)
        return bool(gated) and any(f"{int(store_id)}:{int(sku_id)}" in gated for sku_id, _ in lines)

    def is_on(self, store_id: int, sku_id: int) -> bool:
        return bool(self.redis.exists(self._key(store_id, sku_id, "tokens")))

    def tokens(self, store_id: int, sku_id: int) -> int | None:
        value = self.redis.get(self._key(store_id, sku_id, "tokens"))
        return None if value is None else int(value)

    def take(self, store_id: int, lines, ticket: str) -> bool:
        return self.admit(store_id, lines, ticket) is not None

    def admit(self, store_id: int, lines, ticket: str) -> int | None:
        """Like take; returns None when refused, else how many lines were gated (0: no
        gate is on for any of them, so there is nothing to settle or give back)."""
        if not self._any_gated(store_id, lines):
            return 0
        keys, qtys = self._pairs(store_id, lines)
        if not keys:
            return 0
        result = int(self._take(keys=keys, args=[ticket, *qtys]))
        return None if result == 0 else result - 1

    def settle(self, store_id: int, lines, ticket: str) -> None:
        keys = self._pairs(store_id, lines)[0][1::2]
        if keys:
            self._settle(keys=keys, args=[ticket])

    def give_back(self, store_id: int, lines, ticket: str) -> None:
        keys = self._pairs(store_id, lines)[0]
        if keys:
            self._give_back(keys=keys, args=[ticket])

    def release(self, store_id: int, lines) -> None:
        keys, qtys = self._pairs(store_id, lines)
        if keys:
            self._release(keys=keys[0::2], args=qtys)

    def resync(self, store_id: int, sku_id: int, db_available: int,
               stale_after_s: int = 30) -> int | None:
        """tokens = db_available - units of fresh pending tickets; None if the gate is off."""
        result = self._resync(keys=[self._key(store_id, sku_id, "tokens"),
                                    self._key(store_id, sku_id, "pending")],
                              args=[int(db_available), int(stale_after_s)])
        if result is None:
            return None
        self.redis.sadd(self._gated_key, f"{int(store_id)}:{int(sku_id)}")  # heals a lost entry
        return int(result)


def gate() -> FlashGate:
    """This app's gate, on its Redis (scripts registered once per process)."""
    found = current_app.extensions.get("flash_gate")
    if found is None:
        found = current_app.extensions["flash_gate"] = FlashGate(rds())
    return found


def set_mode(actor, store_id: int, sku_id: int, enabled: bool):
    """Switch flash-sale mode for (store, SKU). The gate is loaded after commit from the
    available count read under the row lock; `resync` corrects any drift later."""
    if actor is not None:  # None is the system
        actor.require_store(store_id)
    inv = db.session.scalars(select(Inventory).where(
        Inventory.store_id == store_id, Inventory.sku_id == sku_id).with_for_update()).first()
    if inv is None:
        raise NotFound("This SKU is not stocked at this store.",
                       details={"store_id": store_id, "sku_id": sku_id})
    if inv.flash_sale != enabled:
        audit.record("inventory.flash_sale", inv, actor=actor,
                     changes={"store_id": store_id, "sku_id": sku_id, "flash_sale": [inv.flash_sale, enabled]})
        inv.flash_sale = enabled
    available, the_gate = inv.on_hand - inv.reserved, gate()
    if enabled:
        after_commit(lambda: the_gate.enable(store_id, sku_id, available))
    else:
        after_commit(lambda: the_gate.disable(store_id, sku_id))
    return inv


def resync_all(stale_after_s: int = 30) -> int:
    """Recount every gate from the database (the periodic job; `flask flash resync`)."""
    rows = db.session.execute(select(Inventory.store_id, Inventory.sku_id,
                                     Inventory.on_hand - Inventory.reserved)
                              .where(Inventory.flash_sale.is_(True))).all()
    for store_id, sku_id, available in rows:
        gate().resync(store_id, sku_id, available, stale_after_s)
    return len(rows)
