#!/usr/bin/env python3
"""Scale-out test: the single-machine invariants on two web nodes, two Celery workers and a
three-node MariaDB Galera cluster, all on loopback — with a database node and a worker
killed (SIGKILL) in the middle of the run and started again.

    scripts/scale_test.py [--quick] [--redis single|cluster] [--broker redis|rabbitmq]

What runs (scripts/cluster/galera.py starts the cluster; scripts/bench.py's helpers start
the sandbox, migrate, seed and start gunicorn):
    web A (gunicorn, 127.0.0.1:18101) → Galera node 1      worker 1 → node 1
    web B (gunicorn, 127.0.0.1:18102) → Galera node 2      worker 2 → node 3
Every scenario sends its requests through both web nodes (alternately, or the same
request to both at once). A client that gets no answer or a 503 sends the same request
(the same Idempotency-Key) to the other node, as a load balancer's health check would.

Scenarios, each ending in a check made with SQL on node 3 (so replication is part of it):
    oversell     a crowd orders a hot SKU with little stock: never more sold than stock
    dup_notify   WeChat Pay's notification for an order delivered to both nodes at once:
                 the payment is applied once
    pay_cancel   the notification on one node while the shopper cancels on the other: paid
                 and kept, or cancelled with the payment refunded — never both, never neither
    pickup_race  two clerks verify the same code on both nodes at once: handed over once
During dup_notify, Galera node 2 (web B's database) and worker 1 are SIGKILLed; they are
started again a few seconds later (node 2 rejoins by IST). At the end: one outbox pass,
`flask stock check`, `flask pickups verify-ledger`, and the table.

Redis: --redis single (default) is the shared Redis on 127.0.0.1:6379 (db 5; the broker
db 6); --redis cluster uses the Redis Cluster of scripts/cluster/redis_cluster.sh
(127.0.0.1:7101-7106, REDIS_URL=redis+cluster://...), started and stopped here — it needs
the Redis Cluster support (app/extensions.py) on the branch. The broker is --broker either
way (Redis db 6 by default; amqp://... for RabbitMQ).
Exit status 0 when every invariant held.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pymysql
import redis

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE / "cluster")]
import bench  # noqa: E402  (scripts/bench.py: the app's environment, sandbox, seeding)
import galera  # noqa: E402  (scripts/cluster/galera.py)

DB = "tihuo_scale"
WEB_PORTS = (18101, 18102)
WEB_DB_NODES = (1, 2)       # web A → node 1, web B → node 2
WORKER_DB_NODES = (1, 3)    # worker 1 → node 1, worker 2 → node 3
CHECK_NODE = 3              # the invariants are read here
KILLED_NODE = 2
REPORT_USER = "tihuo_report"
CLUSTER_URL = "redis+cluster://127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103"  # scripts/cluster/redis_cluster.sh


class Failover:
    """A client of both web nodes: a request goes to the node asked for; no answer or a
    503 sends it to the other one, a few times (a load balancer's health check, in short)."""

    def __init__(self, bases: list[str], attempts: int = 40):
        self.bases, self.attempts = bases, attempts
        self.failovers = 0
        self._lock = threading.Lock()

    def call(self, node: int, method: str, path: str, body=None, headers=None, raw: bytes | None = None):
        last = None
        for attempt in range(self.attempts):
            http = bench.Http(self.bases[(node + attempt) % len(self.bases)], timeout=15)
            try:
                if raw is not None:
                    status, data = http.raw(method, path, raw, headers or {})
                else:
                    status, data = http.call(method, path, body, headers)
            except OSError as exc:
                status, data = 0, str(exc).encode()
            finally:
                http.conn.close()
            if status not in (0, 502, 503, 504):
                return status, data
            last = (status, data)
            with self._lock:
                self.failovers += 1
            time.sleep(0.1 if attempt % 2 == 0 else 0.5)  # the other node first, then wait a little
        raise RuntimeError(f"{method} {path}: no node answered: {last}")


def _sql(query: str, args=()) -> list[tuple]:
    conn = pymysql.connect(host="127.0.0.1", port=galera.sql_port(CHECK_NODE), user="root", database=DB,
                           autocommit=True, connect_timeout=10)
    try:
        with conn.cursor() as cur:
            # The node applies what the others certified before it reads (a causal read).
            cur.execute("SET SESSION wsrep_sync_wait = 1")
            cur.execute(query, args)
            return list(cur.fetchall())
    finally:
        conn.close()


def _in(ids) -> str:
    return ",".join(str(int(i)) for i in ids) or "NULL"


def place(fo: Failover, ctx: bench.Context, node: int, sku: int, headers: dict) -> dict | None:
    key = secrets.token_hex(12)
    status, body = fo.call(node, "POST", "/api/orders",
                           {"store_id": ctx.order_store_id, "fulfillment": "pickup",
                            "items": [{"sku_id": sku, "qty": 1}]}, {**headers, "Idempotency-Key": key})
    if status in (200, 201):
        return json.loads(body)
    if status == 409:
        return None
    raise RuntimeError(f"placing an order: {status} {body[:300]!r}")


# --- scenarios -------------------------------------------------------------------------------

def oversell(fo, ctx, admin, n_stock: int, crowd: int) -> dict:
    sku = ctx.spread_skus[-1]
    status, body = fo.call(0, "PUT", f"/api/admin/stores/{ctx.order_store_id}/inventory/{sku}",
                           {"on_hand": n_stock}, admin)
    assert status == 200, body
    with ThreadPoolExecutor(16) as pool:
        placed = list(pool.map(lambda i: place(fo, ctx, i % 2, sku, ctx.shoppers[i % len(ctx.shoppers)]),
                               range(crowd)))
    won = sum(1 for p in placed if p)
    (sold,), = _sql("SELECT COALESCE(SUM(i.qty), 0) FROM order_items i JOIN orders o ON o.id = i.order_id "
                    "WHERE i.sku_id = %s AND o.status <> 'cancelled'", (sku,))
    (on_hand, reserved), = _sql("SELECT on_hand, reserved FROM inventory WHERE store_id = %s AND sku_id = %s",
                                (ctx.order_store_id, sku))
    ok = int(sold) == won <= n_stock and reserved == sold and on_hand - reserved >= 0
    return {"scenario": "oversell", "tries": crowd, "outcome": f"{won} sold of {n_stock} in stock",
            "check": f"sold={sold} reserved={reserved} on_hand={on_hand}", "ok": ok}


def _unpaid(fo, ctx, n: int) -> list[dict]:
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda i: place(fo, ctx, i % 2, random.choice(ctx.spread_skus[:-1]),
                                             ctx.shoppers[i % len(ctx.shoppers)]) | {"shopper": i % len(ctx.shoppers)},
                             range(n)))


def _notification(ctx, order: dict) -> tuple[dict, bytes]:
    return ctx.wechatpay.notification(order["order_no"], order["payable_fen"], "42" + secrets.token_hex(14)[:26])


def dup_notify(fo, ctx, n: int) -> dict:
    orders = _unpaid(fo, ctx, n)

    def both(order):
        headers, body = _notification(ctx, order)
        barrier = threading.Barrier(2)

        def send(node):
            barrier.wait(10)
            return fo.call(node, "POST", "/wechat/pay/notify", headers=headers, raw=body)[0]
        with ThreadPoolExecutor(2) as pool:
            return list(pool.map(send, (0, 1)))

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(both, orders))
    nos = [o["order_no"] for o in orders]
    rows = _sql("SELECT o.order_no, o.status, (SELECT COUNT(*) FROM payments p WHERE p.order_id = o.id "
                "AND p.transaction_id IS NOT NULL), (SELECT COUNT(*) FROM order_events e WHERE e.order_id = o.id "
                "AND e.to_status = 'paid') FROM orders o WHERE o.order_no IN (" + ",".join(["%s"] * len(nos)) + ")",
                nos)
    once = sum(1 for _, st, pays, evs in rows if st == "paid" and pays == 1 and evs == 1)
    bad_answers = sum(1 for pair in answers for s in pair if s not in (200, 204))
    return {"scenario": "dup_notify", "tries": 2 * n, "outcome": f"{once}/{n} paid once",
            "check": f"answers other than 2xx: {bad_answers}", "ok": once == n == len(rows) and not bad_answers}


def pay_cancel(fo, ctx, n: int) -> dict:
    orders = _unpaid(fo, ctx, n)

    def race(i_order):
        i, order = i_order
        headers, body = _notification(ctx, order)
        barrier = threading.Barrier(2)

        def notify():
            barrier.wait(10)
            return fo.call(i % 2, "POST", "/wechat/pay/notify", headers=headers, raw=body)[0]

        def cancel():
            barrier.wait(10)
            return fo.call((i + 1) % 2, "POST", f"/api/orders/{order['order_no']}/cancel", {},
                           ctx.shoppers[order["shopper"]])[0]
        with ThreadPoolExecutor(2) as pool:
            return [f.result() for f in (pool.submit(notify), pool.submit(cancel))]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(race, enumerate(orders)))
    nos = [o["order_no"] for o in orders]
    rows = _sql("SELECT o.order_no, o.status, "
                "(SELECT COUNT(*) FROM payments p WHERE p.order_id = o.id AND p.transaction_id IS NOT NULL), "
                "(SELECT COUNT(*) FROM refunds r WHERE r.order_id = o.id AND r.automatic) "
                "FROM orders o WHERE o.order_no IN (" + ",".join(["%s"] * len(nos)) + ")", nos)
    kinds = collections.Counter()
    for _, st, pays, refunds in rows:
        if st == "paid" and pays == 1 and refunds == 0:
            kinds["paid"] += 1
        elif st == "cancelled" and pays == 1 and refunds == 1:
            kinds["cancelled+refunded"] += 1
        elif st == "cancelled" and pays == 0 and refunds == 0:
            kinds["cancelled, never paid"] += 1  # impossible here: the notify always arrives
        else:
            kinds[f"BAD {st} pays={pays} refunds={refunds}"] += 1
    errors = sum(1 for pair in answers for s in pair if s >= 500)
    ok = (kinds["paid"] + kinds["cancelled+refunded"] == n == len(rows)) and not errors
    return {"scenario": "pay_cancel", "tries": n, "outcome": ", ".join(f"{v} {k}" for k, v in sorted(kinds.items())),
            "check": f"5xx answers: {errors}", "ok": ok}


def pickup_race(fo, ctx, clerks: list[dict], n: int) -> dict:
    # Ready orders: placed, paid, made ready by a clerk, the code read by the shopper.
    node_ctx = replace(ctx, base=fo.bases[0])
    codes = bench.ready_codes(node_ctx, n)

    def race(code):
        barrier = threading.Barrier(2)

        def verify(k):
            barrier.wait(10)
            return fo.call(k, "POST", "/api/staff/pickups/verify", {"code": code},
                           {**clerks[k], "X-Device-Id": f"till-{k}"})[0]
        with ThreadPoolExecutor(2) as pool:
            return list(pool.map(verify, (0, 1)))

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(race, codes))
    rows = _sql("SELECT v.order_id, COUNT(*) FROM pickup_verifications v JOIN orders o ON o.id = v.order_id "
                "WHERE o.store_id = %s GROUP BY v.order_id", (ctx.order_store_id,))
    twice = sum(1 for _, c in rows if c > 1)
    won = sum(1 for pair in answers if sorted(pair)[0] == 200 and sorted(pair)[1] != 200)
    errors = sum(1 for pair in answers for s in pair if s >= 500)
    ok = twice == 0 and len(rows) == n and not errors
    return {"scenario": "pickup_race", "tries": 2 * n, "outcome": f"{len(rows)}/{n} handed over, {twice} twice",
            "check": f"one 200 per code: {won}/{n}; 5xx: {errors}", "ok": ok}


def replica_report(fo, admin) -> dict:
    """Today's report through web B, whose reports read node 3 (ANALYTICS_DATABASE_URL)
    as a read-only user: its connection shows up on node 3, and its figure matches."""
    def report_connections() -> int:
        (count,), = _sql("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = %s", (REPORT_USER,))
        return int(count)

    before = report_connections()
    status, body = fo.call(1, "GET", "/api/admin/reports/daily", None, admin)
    after = report_connections()
    # The report's "paid": orders paid today and not cancelled since (picked up included).
    (payments,), = _sql("SELECT COUNT(*) FROM payments p JOIN orders o ON o.id = p.order_id "
                        "WHERE p.transaction_id IS NOT NULL AND o.status <> 'cancelled'")
    reported = json.loads(body)["totals"].get("paid") if status == 200 else None
    return {"scenario": "replica", "tries": 1, "outcome": f"report: paid {reported}; SQL: {payments}",
            "check": f"HTTP {status}; node 3 report connections {before} -> {after}",
            "ok": status == 200 and after > before and reported == payments}


class Steady:
    """Orders placed and paid one after the other by a few clients, alternating the web
    nodes, for as long as the kill lasts: what was acknowledged must be there once."""

    def __init__(self, fo: Failover, ctx, clients: int = 4):
        self.fo, self.ctx = fo, ctx
        self.stop = threading.Event()
        self.placed: list[tuple[str, str]] = []   # (idempotency key, order_no) acknowledged
        self.notified: list[str] = []
        self.threads = [threading.Thread(target=self._client, args=(i,), daemon=True) for i in range(clients)]
        self.errors: list[str] = []

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(120)

    def _client(self, i: int):
        n = 0
        while not self.stop.is_set():
            n += 1
            key, shopper = secrets.token_hex(12), self.ctx.shoppers[(i * 7 + n) % len(self.ctx.shoppers)]
            try:
                status, body = self.fo.call(n % 2, "POST", "/api/orders", {
                    "store_id": self.ctx.order_store_id, "fulfillment": "pickup",
                    "items": [{"sku_id": random.choice(self.ctx.spread_skus[:-1]), "qty": 1}]},
                    {**shopper, "Idempotency-Key": key})
                if status not in (200, 201):
                    self.errors.append(f"order {status} {body[:120]!r}")
                    continue
                order = json.loads(body)
                self.placed.append((key, order["order_no"]))
                headers, note = _notification(self.ctx, order)
                status, body = self.fo.call((n + 1) % 2, "POST", "/wechat/pay/notify", headers=headers, raw=note)
                if status in (200, 204):
                    self.notified.append(order["order_no"])
                else:
                    self.errors.append(f"notify {status} {body[:120]!r}")
            except Exception as exc:  # no node answered at all: counted, the check decides
                self.errors.append(repr(exc)[:160])

    def result(self) -> dict:
        keys = [k for k, _ in self.placed]
        rows = _sql("SELECT k.`key`, o.order_no, o.status, (SELECT COUNT(*) FROM payments p WHERE p.order_id = o.id "
                    "AND p.transaction_id IS NOT NULL) FROM idempotency_keys k JOIN orders o ON o.id = k.order_id "
                    "WHERE k.`key` IN (" + ",".join(["%s"] * len(keys)) + ")", keys) if keys else []
        found = {k: (no, st, pays) for k, no, st, pays in rows}
        lost = sum(1 for k, no in self.placed if k not in found or found[k][0] != no)
        unpaid = sum(1 for no in self.notified if not any(f[0] == no and f[1] == "paid" and f[2] == 1
                                                           for f in found.values()))
        doubled = len(rows) - len(found)
        ok = not lost and not unpaid and not doubled and not self.errors
        for sample in dict.fromkeys(self.errors[:5]):
            print(f"    under_kill error: {sample}")
        return {"scenario": "under_kill", "tries": len(self.placed),
                "outcome": f"{len(self.placed)} orders, {len(self.notified)} paid, across the kill",
                "check": f"lost {lost}, doubled {doubled}, unpaid {unpaid}, errors {len(self.errors)}", "ok": ok}


# --- the kill in the middle -------------------------------------------------------------------

class Chaos:
    """SIGKILL a Galera node and a worker after `after_s`, start both again `down_s` later."""

    def __init__(self, after_s: float, down_s: float, worker: "Worker"):
        self.after_s, self.down_s, self.worker = after_s, down_s, worker
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.log: list[str] = []
        self.error: BaseException | None = None

    def start(self):
        self.thread.start()

    def join(self):
        self.thread.join(300)
        if self.error:
            raise self.error

    def _run(self):
        try:
            time.sleep(self.after_s)
            galera.kill(KILLED_NODE)
            self.worker.kill()
            self.log.append(f"t+{self.after_s:.1f}s SIGKILL galera node {KILLED_NODE} and worker 1")
            time.sleep(self.down_s)
            t = time.monotonic()
            galera.restart(KILLED_NODE)
            self.worker.start()
            self.log.append(f"node {KILLED_NODE} back (synced in {time.monotonic() - t:.1f}s), worker 1 restarted")
        except BaseException as exc:  # reported by join()
            self.error = exc


class Worker:
    def __init__(self, name: str, env: dict, log: Path, procs: list):
        self.name, self.env, self.log, self.procs = name, env, log, procs
        self.proc: subprocess.Popen | None = None

    def start(self):
        # The solo pool: one process, so SIGKILL leaves no orphaned child behind.
        out = self.log.open("a")
        self.proc = subprocess.Popen([str(bench.BIN / "celery"), "-A", "make_celery", "worker", "--pool", "solo",
                                      "--hostname", f"{self.name}@scale", "--loglevel", "WARNING"],
                                     cwd=bench.ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        self.procs.append(self.proc)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


def flask(env: dict, *args: str) -> tuple[int, str]:
    done = subprocess.run([str(bench.BIN / "flask"), *args], cwd=bench.ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    return done.returncode, (done.stdout + done.stderr).strip()


def retries_seen(bases: list[str]) -> int:
    """tihuo_db_conflict_retries_total (outcome=retried) summed over both web nodes."""
    total = 0.0
    for base in bases:
        status, text = bench.Http(base).call("GET", "/metrics")
        for line in text.decode().splitlines():
            if line.startswith("tihuo_db_conflict_retries_total{") and 'outcome="retried"' in line:
                total += float(line.rsplit(" ", 1)[1])
    return int(total)


def redis_cluster(action: str) -> None:
    script = HERE / "cluster" / "redis_cluster.sh"
    if not script.exists():
        raise SystemExit("--redis cluster needs scripts/cluster/redis_cluster.sh (not on this branch yet)")
    subprocess.run([str(script), action], check=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer orders and races (about a minute and a half)")
    p.add_argument("--redis", choices=["single", "cluster"], default="single",
                   help="single: the shared Redis (db --redis-db); cluster: scripts/cluster/redis_cluster.sh")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/5", help="Redis for --redis single")
    p.add_argument("--broker", default="redis://127.0.0.1:6379/6",
                   help="Celery broker URL (e.g. amqp://guest@127.0.0.1:5672// for RabbitMQ)")
    p.add_argument("--keep-cluster", action="store_true", help="leave Galera running at the end")
    a = p.parse_args(argv)
    scale = dict(stock=20, crowd=60, notify=20, races=20, pickups=12) if a.quick else \
        dict(stock=100, crowd=300, notify=100, races=100, pickups=50)
    signal.signal(signal.SIGTERM, signal.default_int_handler)

    logs = Path(tempfile.mkdtemp(prefix="tihuo-scale-"))
    procs: list[subprocess.Popen] = []
    bases = [f"127.0.0.1:{port}" for port in WEB_PORTS]
    ctx = bench.Context(base=bases[0], sandbox=f"127.0.0.1:{bench.free_port()}")
    started = time.monotonic()
    ok = False
    try:
        print(f"galera: starting 3 nodes (logs {logs})", flush=True)
        galera.start()
        conn = pymysql.connect(host="127.0.0.1", port=galera.sql_port(1), user="root", autocommit=True)
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE {DB} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            # Reports' own read-only account (as a replica's would be): seen on node 3 below.
            cur.execute(f"CREATE USER IF NOT EXISTS '{REPORT_USER}'@'127.0.0.1'")
            cur.execute(f"GRANT SELECT ON {DB}.* TO '{REPORT_USER}'@'127.0.0.1'")
        conn.close()
        if a.redis == "cluster":
            redis_cluster("start")
        env = bench.app_env(ctx, logs, galera.url(1, DB), a.redis_url)
        env["CELERY_BROKER_URL"] = a.broker
        if a.redis == "cluster":
            # The app's Redis Cluster URL form (app/extensions.py on the Redis Cluster work);
            # the Celery broker stays --broker (kombu has no Redis Cluster transport).
            env["REDIS_URL"] = CLUSTER_URL
        else:
            redis.Redis.from_url(a.redis_url).flushdb()
            if a.broker.startswith("redis"):
                redis.Redis.from_url(a.broker).flushdb()
        bench.start_sandbox(procs, ctx, env, logs)
        bench.migrate_and_seed(env)
        # Reports read node 3 (ANALYTICS_DATABASE_URL: app.db.replica_reads).
        node_envs = [{**env, "DATABASE_URL": galera.url(n, DB), "ANALYTICS_DATABASE_URL": galera.url(CHECK_NODE, DB).replace("root@", f"{REPORT_USER}@")}
                     for n in WEB_DB_NODES]
        for i, (bind, node_env) in enumerate(zip(bases, node_envs)):
            prom = logs / f"prom-{i}"
            prom.mkdir()
            bench.spawn_web(procs, {**node_env, "PROMETHEUS_MULTIPROC_DIR": str(prom)}, bind,
                            logs / f"web-{'AB'[i]}.log", workers=2, threads=4)
        workers = [Worker(f"w{i + 1}", {**env, "DATABASE_URL": galera.url(n, DB)}, logs / f"worker-{i + 1}.log", procs)
                   for i, n in enumerate(WORKER_DB_NODES)]
        for w in workers:
            w.start()
        stores = json.loads(bench.Http(ctx.base).call("GET", "/api/stores")[1])["items"]
        ctx.store_id, ctx.order_store_id = stores[0]["id"], stores[-1]["id"]
        bench.setup_orders(ctx)
        fo = Failover(bases)
        admin = ctx.admin
        # A second clerk of the order store, for web B's counter.
        fo.call(0, "POST", "/api/admin/staff", {"username": "clerk-b", "password": "clerk-b-password",
                                                 "role": "clerk", "store_ids": [ctx.order_store_id]}, admin)
        status, body = fo.call(1, "POST", "/api/staff/login", {"username": "clerk-b", "password": "clerk-b-password"})
        clerks = [ctx.clerk, {"Authorization": f"Bearer {json.loads(body)['token']}"}]
        print(f"ready in {time.monotonic() - started:.0f}s: web A :{WEB_PORTS[0]} → node 1, web B :{WEB_PORTS[1]} → "
              f"node 2, workers → nodes {WORKER_DB_NODES}, Redis {a.redis}, broker {a.broker.split(':')[0]}",
              flush=True)

        results = [oversell(fo, ctx, admin, scale["stock"], scale["crowd"])]
        print("  oversell done", flush=True)
        # The kill: while orders are placed and paid steadily through both nodes, and the
        # duplicate-notify and pay/cancel races run, node 2 (web B's database) and worker 1
        # die and come back.
        steady, chaos = Steady(fo, ctx), Chaos(after_s=1.0, down_s=3.0, worker=workers[0])
        steady.start()
        chaos.start()
        results.append(dup_notify(fo, ctx, scale["notify"]))
        print("  dup_notify done", flush=True)
        results.append(pay_cancel(fo, ctx, scale["races"]))
        print("  pay_cancel done", flush=True)
        chaos.join()
        time.sleep(1.0)  # a moment of traffic on the rejoined node
        steady.finish()
        results.append(steady.result())
        print("  under_kill done; " + "; ".join(chaos.log), flush=True)
        results.append(pickup_race(fo, ctx, clerks, scale["pickups"]))
        print("  pickup_race done", flush=True)

        # What the beat would do next: one outbox pass (a killed worker's task included).
        code, out = flask(node_envs[0], "jobs", "run", "outbox-dispatch")
        pending = _sql("SELECT status, COUNT(*) FROM outbox GROUP BY status")
        results.append({"scenario": "outbox", "tries": sum(c for _, c in pending),
                        "outcome": ", ".join(f"{c} {s}" for s, c in sorted(pending)),
                        "check": f"after one pass (exit {code})",
                        "ok": code == 0 and not any(s in ("pending", "sending") for s, _ in pending)})
        code, out = flask(node_envs[0], "stock", "check")
        results.append({"scenario": "stock check", "tries": "", "outcome": out.splitlines()[-1][:60] if out else "",
                        "check": f"exit {code}", "ok": code == 0})
        code, out = flask(node_envs[0], "pickups", "verify-ledger")
        results.append({"scenario": "ledger", "tries": "", "outcome": out.splitlines()[-1][:60] if out else "",
                        "check": f"exit {code}", "ok": code == 0})
        results.append(replica_report(fo, admin))
        sizes = {n: galera.wsrep(n).get("wsrep_cluster_size") for n in galera.NODES}
        cert = sum(int(galera.wsrep(n).get("wsrep_local_cert_failures") or 0) for n in galera.NODES)
        bf = sum(int(galera.wsrep(n).get("wsrep_local_bf_aborts") or 0) for n in galera.NODES)
        results.append({"scenario": "galera", "tries": "", "outcome": f"cluster size {sizes}",
                        "check": f"cert failures {cert}, BF aborts {bf}", "ok": set(sizes.values()) == {"3"}})

        print(f"\n{'scenario':<13}{'tries':>7}  {'outcome':<44}{'check':<48}ok")
        for r in results:
            print(f"{r['scenario']:<13}{str(r['tries']):>7}  {r['outcome']:<44}{r['check']:<48}"
                  f"{'yes' if r['ok'] else 'NO'}")
        print(f"\nconflict retries (both web nodes): {retries_seen(bases)}; client failovers: {fo.failovers}; "
              f"{'; '.join(chaos.log)}; {time.monotonic() - started:.0f}s in all")
        ok = all(r["ok"] for r in results)
        if not ok:
            print(f"\n!!! AN INVARIANT FAILED. Logs kept in {logs}")
        return 0 if ok else 1
    except KeyboardInterrupt:
        print("\ninterrupted: stopping", file=sys.stderr)
        return 130
    finally:
        for proc in reversed(procs):
            bench.stop(proc)
        if a.redis == "cluster":
            redis_cluster("stop")
        if not a.keep_cluster:
            galera.stop(quiet=True)
        if ok:
            shutil.rmtree(logs, ignore_errors=True)
        os.environ.pop("_", None)


if __name__ == "__main__":
    sys.exit(main())
