"""History generator: fills a database with N realistic orders over the last --days days, for
benchmarks and demos.

    .venv/bin/python scripts/gen_history.py --database-url 'mysql+pymysql://root@127.0.0.1:3306/tihuo_x?charset=utf8mb4' \\
        --orders 1000000 [--days 90] [--stores 5] [--skus 200] [--seed 1]

The database must have the schema (`flask db upgrade`); the app's environment (.env,
FIELD_ENCRYPTION_KEY above all: pickup codes, the verification ledger and delivery
addresses are keyed with it) must be the one that will read the data.

What it writes:
- the demo seed (`flask demo seed`: its stores, admin and clerk), more stores up to
  --stores, a clerk and a manager per store, --skus SKUs (products of 1–4 specs) stocked at
  every store, shoppers (one per ~8 orders);
- orders in time order (more at lunch and in the evening, more at weekends), each with its
  items and an order event for every status change at a plausible time: placed → paid
  minutes later → ready → picked up hours later → completed after the after-sales window;
  some cancelled unpaid by the shopper, by staff or by the system at the pay deadline; some
  not collected (pickup_expired, refunded automatically); some delivered (shipped →
  delivered → completed, by the shopper or automatically); some refunded in full before
  the hand-over or after a delivery, some partly after a pickup. Payments (closed for
  cancelled orders that had a prepay), refunds with succeeded_at, pickup codes (keyed as
  models/pickup/payloads.py keys them), the verification ledger (chained with
  models/pickup/ledger.row_hash, one chain per store in time order), the stock ledger
  (reserve / release / deduct per order line, an opening restock per store × SKU, so it sums
  to the counters) and the outbox rows the domain would have queued (sent, skipped, a few
  failed; pending for the last two minutes). Whatever would happen after "now" has not
  happened: recent orders are still unpaid, paid, ready, shipped, refunds processing.
- the last store is a pickup point: no deliveries, and orders (almost) never cancelled — a
  status common at the other stores and rare at this one (the worst case of a staff list
  filtered by status at one store).
- --overdue-unpaid K: K more orders of the last hour left unpaid past their pay deadline
  (as if the sweep had not run), for the sweep to work on.
- --recent-per-day R: the last --recent-days days (today included, pro rata of the hours
  gone) get R orders each and the rest of N goes to the days before, so that what a day
  costs (a rollup of the last week, a day's reconciliation, 「今日」) is the same at every N
  and a benchmark compares table sizes alone.

--demo (scripts/dev, with --if-empty): the demo seed's own stores, SKUs and staff (its
clerk at the first store, its admin elsewhere) and its stock — the history's opening
restock is what the history took, so the shelves stay as seeded — then the generated
days' rollups and the customer scores are built, so the console's overview and reports
have something to show on first start.

Not generated: pickup cards, partial pickups, payment cases, audit rows, generic state
history (state_changes) of payments and refunds.

Rows are built as tuples and written in multi-row INSERTs, one transaction per batch of
orders (--batch), by a writer thread while the next batch is built. On MariaDB the INSERTs
are rendered here (every value is a number, a time, or text this script made: it is
escaped all the same), with foreign-key and unique checks off for the session (ids are
assigned here, unique by construction); on SQLite they go through SQLAlchemy Core.
The data passes `flask stock check`, `flask pickups verify-ledger`, and `flask analytics
check` after `flask analytics rollup` over the generated days.
"""
from __future__ import annotations

import argparse
import bisect
import heapq
import itertools
import json
import math
import os
import queue
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select

PAY_TIMEOUT_S = 15 * 60
DAY_S = 86400
CHINA_OFFSET_S = 8 * 3600  # Asia/Shanghai has no DST
# Orders per hour of the (China) day: quiet at night, lunch and evening peaks.
HOUR_WEIGHTS = [1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2, 4, 5, 6, 8, 10, 8, 6, 5, 5, 6, 8, 10, 9, 7, 4, 2]
CATEGORIES = {
    "粮油": ["五常大米", "东北香米", "花生油", "菜籽油", "挂面", "小米"],
    "生鲜": ["大闸蟹礼盒", "有机鸡蛋", "牛腩", "三文鱼", "草莓", "车厘子"],
    "节令": ["广式月饼礼盒", "粽子礼盒", "青团", "汤圆", "年糕", "腊肠"],
    "酒水": ["精酿啤酒", "黄酒", "矿泉水", "气泡水", "乌龙茶", "酸梅汤"],
    "零食": ["坚果礼盒", "牛肉干", "薯片", "饼干", "巧克力", "果干"],
    "日用": ["抽纸", "洗衣液", "牙膏", "洗发水", "保鲜膜", "厨房纸"],
}
SPECS = ["小份", "标准装", "家庭装", "礼盒装"]
EXTRA_STORES = [
    ("徐家汇店", "上海市徐汇区漕溪北路1号", 31.1950, 121.4372),
    ("五角场店", "上海市杨浦区邯郸路600号", 31.3003, 121.5139),
    ("虹桥店", "上海市长宁区仙霞路99号", 31.2039, 121.4110),
    ("七宝店", "上海市闵行区七莘路3655号", 31.1545, 121.3531),
    ("张江店", "上海市浦东新区祖冲之路2288号", 31.2040, 121.5900),
    ("莘庄店", "上海市闵行区沪闵路6088号", 31.1110, 121.3850),
]
REFUND_EXPIRED = "超时未提货，自动退款"


# --- rows as tuples, and how each table's are written ------------------------------------

# Column kinds: i int, I int or None, s text, S text or None, t time (epoch s), T time or
# None, b bool, j JSON (as its text). Every table's tuple follows its column list.
TABLES: dict[str, list[tuple[str, str]]] = {
    "users": [("id", "i"), ("openid", "s"), ("created_at", "t"), ("last_login_at", "T")],
    "orders": [("id", "i"), ("order_no", "s"), ("user_id", "i"), ("store_id", "i"), ("fulfillment", "s"),
               ("status", "s"), ("total_fen", "i"), ("payable_fen", "i"), ("address_enc", "S"),
               ("source", "s"), ("flash_sale", "b"), ("created_at", "t"), ("pay_deadline", "t"),
               ("paid_at", "T"), ("ready_at", "T"), ("pickup_deadline", "T"), ("picked_up_at", "T"),
               ("shipped_at", "T"), ("carrier", "S"), ("tracking_no", "S"), ("delivered_at", "T"),
               ("completed_at", "T"), ("cancelled_at", "T"), ("cancel_reason", "S")],
    "order_items": [("id", "i"), ("order_id", "i"), ("sku_id", "i"), ("product_id", "i"), ("name", "s"),
                    ("spec", "s"), ("price_fen", "i"), ("qty", "i"), ("picked_up_qty", "i")],
    "order_events": [("id", "i"), ("order_id", "i"), ("at", "t"), ("from_status", "S"), ("to_status", "s"),
                     ("actor_type", "s"), ("actor_id", "I"), ("reason", "S")],
    "payments": [("id", "i"), ("order_id", "i"), ("out_trade_no", "s"), ("amount_fen", "i"), ("status", "s"),
                 ("prepay_id", "S"), ("prepaid_at", "T"), ("transaction_id", "S"), ("paid_fen", "I"),
                 ("paid_at", "T"), ("bank_type", "S"), ("confirmed_by", "S"), ("created_at", "t")],
    "refunds": [("id", "i"), ("order_id", "i"), ("payment_id", "i"), ("out_refund_no", "s"), ("refund_id", "S"),
                ("amount_fen", "i"), ("reason", "S"), ("status", "s"), ("release_stock", "b"),
                ("automatic", "b"), ("requested_by", "I"), ("created_at", "t"), ("succeeded_at", "T")],
    "pickup_codes": [("id", "i"), ("order_id", "i"), ("store_id", "i"), ("version", "i"), ("level", "i"),
                     ("seed", "s"), ("code_hash", "s"), ("live_hash", "S"), ("status", "s"),
                     ("failed_attempts", "i"), ("issued_at", "t"), ("ended_at", "T")],
    "pickup_verifications": [("id", "i"), ("store_id", "i"), ("seq", "i"), ("order_id", "i"), ("staff_id", "i"),
                             ("items", "j"), ("partial", "b"), ("verified_at", "t"), ("prev_hash", "s"),
                             ("row_hash", "s")],
    "pickup_ledger_heads": [("store_id", "i"), ("seq", "i"), ("last_hash", "s")],
    "stock_movements": [("id", "i"), ("at", "t"), ("store_id", "i"), ("sku_id", "i"), ("delta_on_hand", "i"),
                        ("delta_reserved", "i"), ("reason", "s"), ("order_id", "I"), ("staff_id", "I"),
                        ("note", "S")],
    "inventory": [("id", "i"), ("store_id", "i"), ("sku_id", "i"), ("on_hand", "i"), ("reserved", "i"),
                  ("baseline", "i"), ("online", "b"), ("level", "s"), ("flash_sale", "b"), ("updated_at", "t")],
    "outbox": [("id", "i"), ("kind", "s"), ("payload", "j"), ("dedupe_key", "S"), ("status", "s"),
               ("attempts", "i"), ("next_attempt_at", "t"), ("last_error", "S"), ("created_at", "t"),
               ("sent_at", "T")],
}
# Parents before children (SQLite checks foreign keys).
WRITE_ORDER = ["users", "orders", "order_items", "order_events", "payments", "refunds", "pickup_codes",
               "pickup_verifications", "stock_movements", "outbox", "inventory", "pickup_ledger_heads"]


def _utc(t: int) -> datetime:
    return datetime.fromtimestamp(t, UTC)


class MysqlLiterals:
    """Renders a table's tuples as the VALUES of a multi-row INSERT: one compiled f-string
    per table. Times go as FROM_UNIXTIME(n) (the writers' sessions are in UTC). Text is
    written as it is: every string is made by this script (numbers, hex, base64, the
    constants above), none holds a quote or a backslash — `statements` refuses a
    backslash, and the generator test checks the constants."""

    def __init__(self):
        self.render = {name: self._compile(cols) for name, cols in TABLES.items()}

    @staticmethod
    def _compile(cols):
        parts = []
        for i, (_, kind) in enumerate(cols):
            v = f"r[{i}]"
            parts.append({"i": f"{{{v}}}", "I": f"{{'NULL' if {v} is None else {v}}}",
                          "s": f"'{{{v}}}'", "j": f"'{{{v}}}'",
                          "S": f"{{'NULL' if {v} is None else Q + {v} + Q}}",
                          "t": f"FROM_UNIXTIME({{{v}}})",
                          "T": f"{{'NULL' if {v} is None else 'FROM_UNIXTIME(%d)' % {v}}}",
                          "b": f"{{1 if {v} else 0}}"}[kind])
        return eval("lambda r: f\"(" + ",".join(parts) + ")\"", {"Q": "'"})

    def statements(self, name: str, rows: list, limit: int = 4_000_000):
        head = f"INSERT INTO `{name}` ({','.join(f'`{c}`' for c, _ in TABLES[name])}) VALUES "
        render, chunk, size = self.render[name], [], 0
        for row in rows:
            text = render(row)
            chunk.append(text)
            size += len(text) + 1
            if size >= limit:
                yield self._checked(head + ",".join(chunk))
                chunk, size = [], 0
        if chunk:
            yield self._checked(head + ",".join(chunk))

    @staticmethod
    def _checked(sql: str) -> str:
        if "\\" in sql:
            raise ValueError("a generated value holds a backslash")
        return sql


# Tables by writer connection (MariaDB): two lanes of about equal work, so the server
# inserts on both cores while this process builds the next batch.
LANES = [("outbox", "orders", "order_items", "pickup_codes", "refunds", "inventory"),
         ("users", "order_events", "stock_movements", "payments", "pickup_verifications", "pickup_ledger_heads")]


class Writer:
    """Writes batches ({table: [tuples]}) from threads of its own while the caller builds the
    next (two batches queued at most). On MariaDB two connections (LANES), each batch one
    transaction on each; on SQLite one transaction per batch."""

    def __init__(self, engine):
        self.engine, self.mysql = engine, engine.dialect.name == "mysql"
        self.rows = 0
        self.spent: dict[str, float] = {}  # seconds per table
        self.error: Exception | None = None
        self.lock = threading.Lock()
        lanes = LANES if self.mysql else [tuple(WRITE_ORDER)]
        if self.mysql:
            self.literals = MysqlLiterals()
        self.lanes = []
        for tables in lanes:
            q: queue.Queue = queue.Queue(maxsize=2)
            thread = threading.Thread(target=self._run, args=(q,), name="gen-history-writer", daemon=True)
            self.lanes.append((set(tables), q, thread))
            thread.start()

    def put(self, batch: dict[str, list]) -> None:
        if self.error:
            raise RuntimeError("the writer failed") from self.error
        if self.mysql:  # rendered here, so the writers stay on their sockets
            batch = {name: list(self.literals.statements(name, rows)) for name, rows in batch.items() if rows}
        for tables, q, _ in self.lanes:
            q.put({name: rows for name, rows in batch.items() if name in tables})

    def _run(self, q: queue.Queue) -> None:
        raw = None
        try:
            if self.mysql:
                raw = self.engine.raw_connection()
                with raw.cursor() as cur:  # ids are assigned here and unique by construction
                    cur.execute("SET SESSION foreign_key_checks=0, unique_checks=0, time_zone='+00:00'")
            while (batch := q.get()) is not None:
                if not self.error:
                    self._write(raw, batch)
        except Exception as exc:  # noqa: BLE001 — reported to the caller by the next put / close
            self.error = exc
            while q.get() is not None:  # drain, so put() never blocks
                pass
        finally:
            if raw is not None:
                raw.close()

    def _write(self, raw, batch: dict) -> None:
        if self.mysql:
            with raw.cursor() as cur:
                for name in WRITE_ORDER:
                    t = time.perf_counter()
                    for sql in batch.get(name, ()):
                        n = cur.execute(sql)
                        with self.lock:
                            self.rows += n
                    with self.lock:
                        self.spent[name] = self.spent.get(name, 0) + time.perf_counter() - t
            raw.commit()
            return
        from app.extensions import db
        from models.state_machine import MARK

        with self.engine.begin() as conn:
            for name in WRITE_ORDER:
                rows = batch.get(name)
                if rows:
                    # Rows in the state their recorded history (the order events) led to:
                    # written for the machines, as the machines would have left them.
                    insert = db.metadata.tables[name].insert().execution_options(**{MARK: name})
                    conn.execute(insert, [_as_dict(TABLES[name], r) for r in rows])
                    self.rows += len(rows)

    def close(self) -> None:
        for _, q, thread in self.lanes:
            q.put(None)
        for _, q, thread in self.lanes:
            thread.join()
        if self.error:
            raise RuntimeError("the writer failed") from self.error


def _as_dict(cols, row) -> dict:
    out = {}
    for (name, kind), value in zip(cols, row):
        if kind in "tT" and value is not None:
            value = _utc(value)
        elif kind == "j":
            value = json.loads(value)
        out[name] = value
    return out


# --- the world the orders happen in --------------------------------------------------------

@dataclass
class SkuInfo:
    id: int
    product_id: int
    name: str
    spec: str
    price_fen: int


@dataclass
class World:
    stores: list[int]
    clerks: dict[int, int]     # store → a clerk's staff id
    managers: dict[int, int]   # store → its manager's staff id
    skus: list[SkuInfo]
    sku_cum: list[float]       # cumulative popularity (Zipf-like)
    users: list[int] = field(default_factory=list)
    # --demo: the demo's own stock rows, {(store, sku): on_hand}, topped up at the end
    # instead of written anew.
    shelves: dict[tuple[int, int], int] = field(default_factory=dict)


def setup_world(rng: random.Random, n_stores: int, n_skus: int, n_users: int, start: int,
                demo: bool = False) -> World:
    """Stores, staff, catalog and shoppers through the domain (the demo seed, create_store,
    create_staff, create_product); shoppers in bulk. `demo`: the demo seed's own stores,
    SKUs, stock and staff, nothing added."""
    import secrets as _secrets

    from app.demo import seed
    from app.extensions import db
    from models import catalog
    from models import stores as stores_mod
    from models.staff.accounts import create_staff
    from models.staff.tables import Staff

    seed()
    have = list(db.session.scalars(select(stores_mod.Store).order_by(stores_mod.Store.id)))
    if demo:
        return _demo_world(have)
    every_day = {d: [["08:00", "22:00"]] for d in stores_mod.DAYS}
    for name, address, lat, lng in EXTRA_STORES:
        if len(have) >= n_stores:
            break
        if any(s.name == name for s in have):
            continue
        have.append(stores_mod.create_store(None, {"name": name, "address": address, "phone": "021-60000000",
                                                   "lat": lat, "lng": lng, "pickup_radius_m": None,
                                                   "opening_hours": every_day}))
    if len(have) < n_stores:
        raise SystemExit(f"at most {len(have)} stores (asked for {n_stores})")
    store_ids = [s.id for s in have[:n_stores]]
    clerks, managers = {}, {}
    for sid in store_ids:
        for role, into in (("clerk", clerks), ("manager", managers)):
            username = f"gen-{role}-{sid}"
            staff = db.session.scalars(select(Staff).where(Staff.username == username)).first()
            if staff is None:
                staff = create_staff(None, username=username, password=_secrets.token_urlsafe(12), role=role,
                                     store_ids=[sid], display_name=f"{role} {sid}")
            into[sid] = staff.id
    names = [(cat, name) for cat, items in CATEGORIES.items() for name in items]
    skus: list[SkuInfo] = []
    batch_tag = f"{start}"
    product_no = 0
    while len(skus) < n_skus:
        cat, name = names[product_no % len(names)]
        product_no += 1
        count = min(rng.randint(1, 4), n_skus - len(skus))
        base = rng.randint(5, 300) * 100
        specs = [{"spec": SPECS[i], "price_fen": base * (i + 1) - rng.choice((0, 10, 100))} for i in range(count)]
        product = catalog.create_product(None, {"name": f"{name}·{product_no}", "category": cat,
                                                "description": f"gen {batch_tag}"}, specs)
        skus += [SkuInfo(s.id, product.id, product.name, s.spec, s.price_fen) for s in product.skus]
    db.session.commit()
    weights = [1 / (rank + 1) ** 0.9 for rank in range(len(skus))]
    rng.shuffle(weights)
    return World(store_ids, clerks, managers, skus, list(itertools.accumulate(weights)))


def _demo_world(have) -> World:
    from app.demo import DEMO_STAFF
    from app.extensions import db
    from models import catalog
    from models.staff.tables import Staff
    from models.stock.tables import Inventory

    staff = {s.username: s for s in db.session.scalars(
        select(Staff).where(Staff.username.in_([f["username"] for f in DEMO_STAFF])))}
    admin, clerk = staff["admin"].id, staff["clerk"].id
    store_ids = [s.id for s in have]
    # The demo clerk works at the first store; the admin stands in at the others.
    clerks = {sid: clerk if i == 0 else admin for i, sid in enumerate(store_ids)}
    skus = [SkuInfo(sku.id, product.id, product.name, sku.spec, sku.price_fen) for sku, product in db.session.execute(
        select(catalog.Sku, catalog.Product).join(catalog.Product, catalog.Product.id == catalog.Sku.product_id)
        .where(catalog.Sku.is_bundle.is_(False)).order_by(catalog.Sku.id))]
    shelves = {(inv.store_id, inv.sku_id): inv.on_hand for inv in db.session.scalars(select(Inventory))}
    db.session.commit()  # no lock held while the writer writes (SQLite)
    weights = [1 / (rank + 1) ** 0.9 for rank in range(len(skus))]
    return World(store_ids, clerks, {sid: admin for sid in store_ids}, skus,
                 list(itertools.accumulate(weights)), shelves=shelves)


# --- when orders are placed -----------------------------------------------------------------

def day_counts(n: int, days: int, now: int, recent_days: int, recent_per_day: int | None,
               rng: random.Random) -> list[tuple[int, int, int]]:
    """[(day start, day end, orders)] from the oldest day to today (China days; today ends now)."""
    today_start = (now + CHINA_OFFSET_S) // DAY_S * DAY_S - CHINA_OFFSET_S
    starts = [today_start - (days - 1 - i) * DAY_S for i in range(days)]
    hour_cum = list(itertools.accumulate(HOUR_WEIGHTS))
    gone = (now - today_start) / 3600
    today_share = (sum(HOUR_WEIGHTS[:int(gone)]) + HOUR_WEIGHTS[min(int(gone), 23)] * (gone % 1)) / hour_cum[-1]
    weights = []
    for start in starts:
        weekday = datetime.fromtimestamp(start + CHINA_OFFSET_S, UTC).weekday()
        weights.append((1.3 if weekday >= 5 else 1.0) * rng.uniform(0.9, 1.1))
    weights[-1] *= today_share
    counts = [0] * days
    if recent_per_day is not None:
        recent = min(recent_days, days)
        for i in range(days - recent, days):
            counts[i] = round(recent_per_day * (today_share if i == days - 1 else 1))
        rest, older = n - sum(counts), list(range(days - recent))
        if rest < 0 or (rest and not older):
            raise SystemExit(f"--orders {n} is fewer than the recent days take ({sum(counts)})")
    else:
        rest, older = n, list(range(days))
    total = sum(weights[i] for i in older)
    for i in older:
        counts[i] = int(rest * weights[i] / total)
    for i in sorted(older, key=lambda i: -weights[i])[:rest - sum(counts[i] for i in older)]:
        counts[i] += 1
    return [(start, min(start + DAY_S, now), c) for start, c in zip(starts, counts)]


def times_in_day(rng: random.Random, start: int, end: int, count: int) -> list[int]:
    """`count` times in [start, end), by the hour-of-day profile."""
    hours = max(1, math.ceil((end - start) / 3600))
    cum = list(itertools.accumulate(HOUR_WEIGHTS[:hours]))
    out = []
    for _ in range(count):
        h = bisect.bisect(cum, rng.random() * cum[-1])
        lo = start + h * 3600
        out.append(rng.randrange(lo, max(lo + 1, min(lo + 3600, end))))
    out.sort()
    return out


# --- one order's life ------------------------------------------------------------------------

class Ids:
    def __init__(self, first: dict[str, int]):
        self.next = dict(first)

    def __call__(self, table: str) -> int:
        n = self.next[table]
        self.next[table] = n + 1
        return n


class Generator:
    def __init__(self, world: World, rng: random.Random, now: int, ids: Ids, app_config):
        from app.crypto import cipher
        from models.orders.placement import address_aad
        from models.pickup import ledger, payloads

        self.w, self.rng, self.now, self.ids = world, rng, now, ids
        self.cipher, self.address_aad, self.payloads, self.ledger = cipher(), address_aad, payloads, ledger
        self.expiry_s = app_config["PICKUP_EXPIRY_HOURS"] * 3600
        self.complete_after_s = app_config["PICKUP_COMPLETE_AFTER_DAYS"] * DAY_S
        self.auto_confirm_s = app_config["DELIVERY_AUTO_CONFIRM_DAYS"] * DAY_S
        self.rows: dict[str, list] = {name: [] for name in TABLES}
        self.stock: dict[tuple[int, int], list[int]] = {}  # (store, sku) → [deducted, reserved]
        self.pending_verifications: list = []               # heap of (at, order id, store, staff, items)
        self.heads = {sid: [0, self.ledger.GENESIS] for sid in world.stores}
        self.shelves_after: dict[tuple[int, int], tuple[int, int]] = {}  # --demo: (on_hand, reserved)
        self.status_count: dict[str, int] = {}
        self.order_serial = rng.randrange(10**5)

    # -- helpers
    def _event(self, order_id, at, frm, to, actor_type, actor_id, reason):
        self.rows["order_events"].append((self.ids("order_events"), order_id, at, frm, to, actor_type, actor_id,
                                          reason))

    def _move(self, at, store, sku, d_on_hand, d_reserved, reason, order_id):
        self.rows["stock_movements"].append((self.ids("stock_movements"), at, store, sku, d_on_hand, d_reserved,
                                             reason, order_id, None, None))
        cell = self.stock.setdefault((store, sku), [0, 0])
        cell[0] -= d_on_hand
        cell[1] += d_reserved

    def _outbox(self, at, kind, payload: str, dedupe_key):
        """An outbox row as the domain queues it (payload: its JSON text), and what became of it."""
        now, r = self.now, self.rng.random()
        if at > now - 120:
            row = (self.ids("outbox"), kind, payload, dedupe_key, "pending", 0, at, None, at, None)
        elif kind == "subscribe_message" and r < 0.35:
            row = (self.ids("outbox"), kind, payload, dedupe_key, "skipped", 1, at,
                   "no subscription for this template", at, None)
        elif r > 0.998 and not self.w.shelves:  # --demo: a new shop's console shows no failures
            row = (self.ids("outbox"), kind, payload, dedupe_key, "failed", 5, at + 3600,
                   "43101: user refuse to accept the msg" if kind == "subscribe_message" else "-1: system busy",
                   at, None)
        else:
            row = (self.ids("outbox"), kind, payload, dedupe_key, "sent", 1, at, None, at, at + self.rng.randint(1, 3))
        self.rows["outbox"].append(row)

    # -- the order
    def order(self, created: int, forced_unpaid: bool = False) -> None:
        rng, now, w = self.rng, self.now, self.w
        oid = self.ids("orders")
        self.order_serial += 1
        local = _utc(created)
        order_no = f"TH{local:%y%m%d%H%M}{rng.randrange(10**6):06d}{self.order_serial % 10**10:010d}"
        store = w.stores[min(int(rng.random() ** 1.3 * len(w.stores)), len(w.stores) - 1)]
        if forced_unpaid and store == w.stores[-1] and len(w.stores) > 1:
            store = w.stores[0]  # the pickup point's orders are paid at once (below)
        user = w.users[int(rng.random() ** 2 * len(w.users))]
        lines: dict[int, list] = {}
        for _ in range(rng.choices((1, 2, 3, 4), (62, 24, 10, 4))[0]):
            sku = w.skus[bisect.bisect(w.sku_cum, rng.random() * w.sku_cum[-1])]
            qty = rng.choices((1, 2, 3), (80, 15, 5))[0]
            if sku.id in lines:
                lines[sku.id][1] += qty
            else:
                lines[sku.id] = [sku, qty]
        items = sorted(lines.values(), key=lambda x: x[0].id)
        total = sum(s.price_fen * q for s, q in items)
        delivery = rng.random() < 0.2
        o = {"status": "pending_payment", "paid_at": None, "ready_at": None, "pickup_deadline": None,
             "picked_up_at": None, "shipped_at": None, "carrier": None, "tracking_no": None, "delivered_at": None,
             "completed_at": None, "cancelled_at": None, "cancel_reason": None}
        steps: list[tuple] = []  # (at, action, ...) in time order; applied while at <= now

        clerk, manager = w.clerks[store], w.managers[store]
        pay_deadline = created + PAY_TIMEOUT_S
        r = rng.random()
        if store == w.stores[-1] and len(w.stores) > 1:
            # The last store is a pickup point for group orders paid at once: it has (almost)
            # no cancelled or delivery orders, a status common everywhere else but rare here.
            delivery, r = False, 0.09 + r * 0.91 if r > 0.00003 else r
        prepay = None
        if forced_unpaid:
            pass
        elif r < 0.05:
            prepay = created + rng.randint(5, 60) if rng.random() < 0.4 else None
            steps.append((created + rng.randint(60, PAY_TIMEOUT_S - 30), "cancel", "user", user, "cancelled", None,
                          "cancel"))
        elif r < 0.055:
            steps.append((created + rng.randint(60, PAY_TIMEOUT_S - 30), "cancel", "staff", manager, "cancelled",
                          "out of stock", "cancel"))
        elif r < 0.09:
            prepay = created + rng.randint(5, 60) if rng.random() < 0.5 else None
            steps.append((pay_deadline + rng.randint(0, 60), "cancel", "system", None, "pay_timeout", "pay_timeout",
                          "pay_timeout"))
        else:
            prepay = created + rng.randint(5, 60)
            paid = prepay + rng.randint(10, 500)
            steps.append((paid, "pay"))
            f = rng.random()
            if not delivery:
                if f < 0.02:  # refunded in full before it was made ready
                    refund_at = paid + rng.randint(600, 6 * 3600)
                    steps.append((refund_at, "refund", manager, total, True, "顾客申请退款", True))
                else:
                    ready = paid + rng.randint(300, 2 * 3600)
                    steps.append((ready, "ready"))
                    if f < 0.05:
                        steps.append((ready + self.expiry_s + rng.randint(0, 60), "expire"))
                    else:
                        picked = ready + rng.randint(600, min(40 * 3600, self.expiry_s - 60))
                        steps.append((picked, "pick_up"))
                        steps.append((picked + self.complete_after_s + rng.randint(0, 60), "complete", "system", None,
                                      "auto_completed"))
                        if f > 0.97:  # part of it refunded after the hand-over
                            amount = max(1, total * rng.randint(10, 50) // 100)
                            steps.append((picked + rng.randint(3600, 3 * DAY_S), "refund", manager, amount, False,
                                          "部分商品质量问题", False))
            else:
                shipped = paid + rng.randint(3600, DAY_S)
                steps.append((shipped, "ship"))
                delivered = shipped + rng.randint(DAY_S, 3 * DAY_S)
                steps.append((delivered, "deliver"))
                if f < 0.02:
                    steps.append((delivered + rng.randint(3600, DAY_S), "refund", manager, total, False,
                                  "退货退款", True))
                elif f < 0.5:
                    steps.append((min(delivered + rng.randint(3600, 2 * DAY_S), shipped + self.auto_confirm_s - 60),
                                  "complete", "user", user, "receipt_confirmed"))
                else:
                    steps.append((shipped + self.auto_confirm_s + rng.randint(0, 60), "complete", "system", None,
                                  "auto_confirmed"))

        steps.sort(key=lambda step: step[0])
        # placed: the hold on every line
        self._event(oid, created, None, "pending_payment", "user", user, "placed")
        for sku, qty in items:
            self._move(created, store, sku.id, 0, qty, "reserve", oid)
        payment_id = None
        if prepay is not None and prepay <= now:
            payment_id = self.ids("payments")
        txid, refunds = None, 0
        code_row = None
        for step in steps:
            at, action = step[0], step[1]
            if at > now:
                break
            status = o["status"]
            if action == "cancel":
                _, _, actor, actor_id, reason, cancel_reason, ledger_reason = step
                self._event(oid, at, status, "cancelled", actor, actor_id, reason)
                o.update(status="cancelled", cancelled_at=at, cancel_reason=cancel_reason)
                for sku, qty in items:
                    self._move(at, store, sku.id, 0, -qty, ledger_reason, oid)
                if actor == "system":
                    self._outbox(at, "subscribe_message", f'{{"event":"order_cancelled","order_id":{oid},"reason":"{reason}"}}', f"order_cancelled:{oid}")
            elif action == "pay":
                txid = f"42{oid:014d}{rng.randrange(10**12):012d}"
                self._event(oid, at, status, "paid", "system", None, "wechat_pay:notify")
                o.update(status="paid", paid_at=at)
                self._outbox(at, "subscribe_message", f'{{"event":"order_paid","order_id":{oid}}}', f"order_paid:{oid}")
                self._outbox(at, "staff_alert", f'{{"event":"new_paid_order","order_id":{oid},"store_id":{store}}}',
                             f"new_paid_order:{oid}")
            elif action == "ready":
                self._event(oid, at, status, "ready_for_pickup", "staff", clerk, "ready")
                o.update(status="ready_for_pickup", ready_at=at, pickup_deadline=at + self.expiry_s)
                seed = self.payloads.new_seed()
                digest = self.payloads.code_hash(self.payloads.digits(seed))
                code_row = [self.ids("pickup_codes"), oid, store, 1, 1, seed, digest, digest, "live", 0, at, None]
                self._outbox(at, "subscribe_message", f'{{"event":"ready_for_pickup","order_id":{oid}}}',
                             f"ready_for_pickup:{oid}")
            elif action == "pick_up":
                self._event(oid, at, status, "picked_up", "staff", clerk, "picked_up")
                o.update(status="picked_up", picked_up_at=at)
                for sku, qty in items:
                    self._move(at, store, sku.id, -qty, -qty, "pick_up", oid)
                code_row[7], code_row[8], code_row[11] = None, "used", at
                handed = [[sku.id, qty] for sku, qty in items]
                heapq.heappush(self.pending_verifications, (at, oid, store, clerk, handed))
                units = sum(q for _, q in items)
                self._outbox(at, "subscribe_message", f'{{"event":"order_picked_up","order_id":{oid},"partial":false}}',
                             f"order_picked_up:{oid}:{units}")
                self._outbox(at, "shipping_upload", f'{{"order_id":{oid},"logistics_type":4}}', f"shipping_upload:{oid}:4")
            elif action == "expire":
                self._event(oid, at, status, "pickup_expired", "system", None, "pickup_deadline")
                o["status"] = "pickup_expired"
                for sku, qty in items:
                    self._move(at, store, sku.id, 0, -qty, "pickup_expired", oid)
                code_row[7], code_row[8], code_row[11] = None, "expired", at
                self._outbox(at, "subscribe_message", f'{{"event":"pickup_expired_refunded","order_id":{oid}}}',
                             f"pickup_expired:{oid}")
                refunds += 1
                if self._refund(oid, order_no, payment_id, refunds, at, total, REFUND_EXPIRED, None, False, True,
                                finish="refunded") is not None:
                    o["status"] = "refunded"
            elif action == "ship":
                self._event(oid, at, status, "shipped", "staff", clerk, "shipped")
                o.update(status="shipped", shipped_at=at, carrier="SF", tracking_no=f"SF{oid:012d}")
                for sku, qty in items:
                    self._move(at, store, sku.id, -qty, -qty, "ship", oid)
                self._outbox(at, "shipping_upload", f'{{"order_id":{oid},"logistics_type":1}}', f"shipping_upload:{oid}:1")
                self._outbox(at, "subscribe_message", f'{{"event":"order_shipped","order_id":{oid}}}',
                             f"order_shipped:{oid}")
            elif action == "deliver":
                self._event(oid, at, status, "delivered", "staff", clerk, "delivered")
                o.update(status="delivered", delivered_at=at)
            elif action == "complete":
                _, _, actor, actor_id, reason = step
                self._event(oid, at, status, "completed", actor, actor_id, reason)
                o.update(status="completed", completed_at=at)
            elif action == "refund":
                _, _, staff_id, amount, release, reason, whole = step
                refunds += 1
                if whole:
                    self._event(oid, at, status, "refunding", "staff", staff_id, reason)
                    o["status"] = "refunding"
                done = self._refund(oid, order_no, payment_id, refunds, at, amount, reason, staff_id, release, False,
                                    finish="refunded" if whole else None)
                if done is not None and release:
                    for sku, qty in items:
                        self._move(done, store, sku.id, 0, -qty, "refund", oid)
                if done is not None and whole:
                    o["status"] = "refunded"
        if payment_id is not None:
            paid = o["paid_at"]
            self.rows["payments"].append((
                payment_id, oid, order_no, total, "paid" if paid else ("closed" if o["status"] == "cancelled"
                                                                        else "created"),
                f"wx{oid:020d}", prepay, txid if paid else None, total if paid else None, paid,
                "OTHERS" if paid else None, "notify" if paid else None, prepay))
        if code_row is not None:
            self.rows["pickup_codes"].append(tuple(code_row))
        address = None
        if delivery:
            address = self.cipher.encrypt(json.dumps({"name": "王小明", "phone": f"139{oid % 10**8:08d}",
                                                      "province": "上海市", "city": "上海市",
                                                      "detail": f"南京西路{oid % 2000}号"}, ensure_ascii=False),
                                          aad=self.address_aad(order_no))
        self.rows["orders"].append((
            oid, order_no, user, store, "delivery" if delivery else "pickup", o["status"], total, total, address,
            "shop", False, created, pay_deadline, o["paid_at"], o["ready_at"], o["pickup_deadline"],
            o["picked_up_at"], o["shipped_at"], o["carrier"], o["tracking_no"], o["delivered_at"], o["completed_at"],
            o["cancelled_at"], o["cancel_reason"]))
        picked = o["picked_up_at"] is not None
        for sku, qty in items:
            self.rows["order_items"].append((self.ids("order_items"), oid, sku.id, sku.product_id, sku.name, sku.spec,
                                             sku.price_fen, qty, qty if picked else 0))
        self.status_count[o["status"]] = self.status_count.get(o["status"], 0) + 1

    def _refund(self, oid, order_no, payment_id, n, at, amount, reason, staff_id, release, automatic, finish):
        """A refund created at `at`: success minutes later (if that is before now), with the
        order's finish_refund event when it ends the refunding. Returns when it succeeded."""
        succeeded = at + self.rng.randint(10, 300)
        ok = succeeded <= self.now
        self.rows["refunds"].append((
            self.ids("refunds"), oid, payment_id, f"{order_no}R{n}", f"50{oid:014d}{n:02d}{self.rng.randrange(10**10):010d}",
            amount, reason, "success" if ok else "processing", release, automatic, staff_id, at,
            succeeded if ok else None))
        if not ok:
            return None
        if finish:
            frm = "pickup_expired" if automatic else "refunding"
            self._event(oid, succeeded, frm, "refunded", "system", None, "refund_succeeded")
        rid = self.rows["refunds"][-1][0]
        self._outbox(succeeded, "subscribe_message", f'{{"event":"refund_succeeded","order_id":{oid},"refund_id":{rid}}}',
                     f"refund_succeeded:{rid}")
        return succeeded

    def chain_until(self, until: int | None) -> None:
        """Append the verifications up to `until` (all with None) to their stores' chains."""
        heap, row_hash = self.pending_verifications, self.ledger.row_hash
        while heap and (until is None or heap[0][0] <= until):
            at, oid, store, staff, handed = heapq.heappop(heap)
            head = self.heads[store]
            seq = head[0] + 1
            digest = row_hash(head[1], store, seq, oid, staff, handed, False, _utc(at))
            self.rows["pickup_verifications"].append((self.ids("pickup_verifications"), store, seq, oid, staff,
                                                      json.dumps(handed, separators=(",", ":")), False, at,
                                                      head[1], digest))
            head[0], head[1] = seq, digest

    def take(self) -> dict[str, list]:
        out = {name: rows for name, rows in self.rows.items() if rows}
        self.rows = {name: [] for name in TABLES}
        return out

    def closing_rows(self, opened: int) -> dict[str, list]:
        """The counters: an opening restock per (store, SKU) worth what left plus what is held
        plus what is on the shelf now; the inventory rows; the ledger heads."""
        rng = self.rng
        for sid in self.w.stores:
            for sku in self.w.skus:
                deducted, reserved = self.stock.get((sid, sku.id), [0, 0])
                if self.w.shelves:  # --demo: what the history took comes back as the opening
                    self.rows["stock_movements"].append((  # restock; the shelf stays as seeded
                        self.ids("stock_movements"), opened, sid, sku.id, deducted + reserved, 0, "restock",
                        None, self.w.managers[sid], "opening stock (demo history)"))
                    self.shelves_after[(sid, sku.id)] = (self.w.shelves.get((sid, sku.id), 0) + reserved, reserved)
                    continue
                shelf = rng.randint(80, 400)
                opening = deducted + reserved + shelf
                self.rows["stock_movements"].append((self.ids("stock_movements"), opened, sid, sku.id, opening, 0,
                                                     "restock", None, self.w.managers[sid], "opening stock"))
                self.rows["inventory"].append((self.ids("inventory"), sid, sku.id, shelf + reserved, reserved, 200,
                                               True, "normal", False, self.now))
        self.rows["pickup_ledger_heads"] = [(sid, seq, last) for sid, (seq, last) in self.heads.items() if seq]
        return self.take()


def _first_ids(conn) -> dict[str, int]:
    from app.extensions import db

    tables = db.metadata.tables
    return {name: (conn.execute(select(func.max(tables[name].c.id))).scalar() or 0) + 1
            for name in TABLES if "id" in tables[name].c}


def generate(*, orders: int, days: int = 90, stores: int = 5, skus: int = 200, seed: int = 1,
             batch: int = 10_000, overdue_unpaid: int = 0, recent_per_day: int | None = None,
             recent_days: int = 8, now: datetime | None = None, progress=None, demo: bool = False) -> dict:
    """Fill the app's database (call inside an app context). Returns counts and timings."""
    from flask import current_app

    from app.extensions import db
    from models.base import utcnow
    from models.pickup.tables import PickupLedgerHead

    if db.session.scalar(select(func.count()).select_from(PickupLedgerHead)):
        raise SystemExit("this database already has a verification ledger: generate into a fresh one")
    rng = random.Random(seed)
    now_s = int((now or utcnow()).timestamp())
    t0 = time.monotonic()
    world = setup_world(rng, stores, skus, max(50, orders // 8), now_s, demo=demo)
    setup_s = time.monotonic() - t0
    engine = db.engine
    with engine.connect() as conn:
        ids = Ids(_first_ids(conn))
    opened = now_s - (days + 1) * DAY_S
    users = max(50, orders // 8)
    world.users = list(range(ids.next["users"], ids.next["users"] + users))
    writer = Writer(engine)
    user_rows = [(uid, f"gen-{seed}-{uid}-{rng.randrange(10**9)}", opened + rng.randrange(days * DAY_S // 2), None)
                 for uid in world.users]
    ids.next["users"] += users
    gen = Generator(world, rng, now_s, ids, current_app.config)
    writer.put({"users": user_rows})
    placed = 0
    try:
        for start, end, count in day_counts(orders, days, now_s, recent_days, recent_per_day, rng):
            times = [(t, False) for t in times_in_day(rng, start, end, count)]
            if end == now_s and overdue_unpaid:  # today: the orders the sweep has yet to cancel
                times = sorted(times + [(now_s - rng.randint(PAY_TIMEOUT_S + 60, 3600), True)
                                        for _ in range(overdue_unpaid)])
            for created, forced in times:
                gen.order(created, forced_unpaid=forced)
                placed += 1
                if placed % batch == 0:
                    gen.chain_until(created)
                    writer.put(gen.take())
                    if progress:
                        progress(placed, time.monotonic() - t0, writer.rows)
        gen.chain_until(None)
        writer.put(gen.take())
        writer.put(gen.closing_rows(opened))
    finally:
        writer.close()
    if demo:
        _demo_finish(gen.shelves_after, days)
    elapsed = time.monotonic() - t0
    if os.environ.get("GEN_HISTORY_PROFILE"):
        print({k: round(v, 1) for k, v in sorted(writer.spent.items(), key=lambda kv: -kv[1])})
    return {"orders": placed, "rows": writer.rows, "seconds": elapsed, "setup_seconds": setup_s,
            "statuses": dict(sorted(gen.status_count.items())), "stores": world.stores,
            "skus": len(world.skus), "users": users,
            "first_day": first_generated_day(days, _utc(now_s)).isoformat(), "days": days}


def _demo_finish(shelves: dict[tuple[int, int], tuple[int, int]], days: int) -> None:
    """The demo's stock rows hold what the history still reserves (its shelf unchanged), and
    the reports are built: the generated days' rollups and the customer scores."""
    from datetime import timedelta

    from flask import current_app
    from sqlalchemy import update

    from app.extensions import db
    from models.analytics import calendar, customers, rollup
    from models.stock.tables import Inventory

    for (sid, sku_id), (on_hand, reserved) in shelves.items():
        db.session.execute(update(Inventory).where(Inventory.store_id == sid, Inventory.sku_id == sku_id)
                           .values(on_hand=on_hand, reserved=reserved))
    yesterday = calendar.today() - timedelta(days=1)
    rollup.build(yesterday - timedelta(days=days - 1), yesterday)
    customers.build(current_app.config["ANALYTICS_RFM_DAYS"])
    db.session.commit()


def first_generated_day(days: int, now: datetime | None = None) -> date:
    """The first (China) day that has orders: `days` days up to today."""
    from models.analytics import calendar
    return calendar.today(now) - timedelta(days=days - 1)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                   help="the database to fill (default: DATABASE_URL); its schema must be current")
    p.add_argument("--orders", type=int, required=True)
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--stores", type=int, default=5)
    p.add_argument("--skus", type=int, default=200)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--batch", type=int, default=10_000, help="orders per transaction")
    p.add_argument("--overdue-unpaid", type=int, default=0,
                   help="extra unpaid orders past their pay deadline (for the sweep)")
    p.add_argument("--recent-per-day", type=int, default=None,
                   help="orders on each of the last --recent-days days (default: N spread evenly)")
    p.add_argument("--recent-days", type=int, default=8)
    p.add_argument("--demo", action="store_true",
                   help="the demo's own stores, SKUs, staff and stock (no more are made), then the "
                        "rollups and customer scores built; the app's database by default")
    p.add_argument("--if-empty", action="store_true", help="do nothing when the database has orders")
    args = p.parse_args()
    if not args.database_url and not args.demo:
        p.error("--database-url or DATABASE_URL")
    if args.days < 1 or args.days > 366 or args.orders < 0:
        p.error("--days is 1–366, --orders ≥ 0")
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    from app import create_app
    from app.extensions import db
    from models.orders.tables import Order

    app = create_app()
    if args.if_empty:
        with app.app_context():
            if db.session.scalar(select(Order.id).limit(1)) is not None:
                print("the database has orders already: no history generated")
                return 0

    def progress(done, seconds, rows):
        print(f"  {done} orders in {seconds:.0f}s ({done / seconds:.0f} orders/s, {rows / seconds:.0f} rows/s written)",
              flush=True)

    with app.app_context():
        result = generate(orders=args.orders, days=args.days, stores=args.stores, skus=args.skus, seed=args.seed,
                          batch=args.batch, overdue_unpaid=args.overdue_unpaid,
                          recent_per_day=args.recent_per_day, recent_days=args.recent_days,
                          progress=progress if args.orders >= 100_000 else None, demo=args.demo)
    s = result["seconds"] - result["setup_seconds"]
    print(f"{result['orders']} orders, {result['rows']} rows in {s:.1f}s: {result['orders'] / s:.0f} orders/s, "
          f"{result['rows'] / s:.0f} rows/s (after {result['setup_seconds']:.1f}s of set-up); stores {result['stores']}, {result['skus']} SKUs, "
          f"{result['users']} shoppers; days from {result['first_day']} ({result['days']})")
    print("statuses: " + ", ".join(f"{k} {v}" for k, v in result["statuses"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
