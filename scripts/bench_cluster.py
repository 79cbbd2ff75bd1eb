#!/usr/bin/env python3
"""What the Galera cluster costs order placement: in one run,
  (a) one web node on the single MariaDB (127.0.0.1:3306), and
  (b) two web nodes on the three-node Galera cluster, writing to different nodes
      (web A → node 1, web B → node 2; half of the clients on each),
each measured as order placement's req/s over /healthz's in the same configuration, then
(b)'s ratio over (a)'s: the share of one node's placement rate that two nodes keep once
every commit is certified by the cluster (issue 23's target: ≥ 0.8). On a 2-core machine
two nodes cannot add throughput; the ratios cancel the machine out.
Also: write-conflict retries per 1,000 orders on one hot SKU (order_hot: every order
updates the same inventory row, from both nodes in (b)), from the web nodes' /metrics
(tihuo_db_conflict_retries_total).

    scripts/bench_cluster.py [--duration 5] [--concurrency 8] [--database-name tihuo_h2]

Both halves use scripts/bench.py's helpers (environment, sandbox, seeding, load, the
scenarios order_spread and order_hot); the same number of gunicorn workers in each
(--workers in (a), one per node in (b) ... --workers // 2 each).
"""
from __future__ import annotations

import argparse
import collections
import json
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import pymysql
import redis
import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE / "cluster")]
import bench  # noqa: E402
import galera  # noqa: E402

PORTS = (18101, 18102)
SCENARIOS = ("healthz", "order_spread", "order_hot")


def retries(bases: list[str]) -> float:
    total = 0.0
    for base in bases:
        text = bench.Http(base).call("GET", "/metrics")[1].decode()
        for line in text.splitlines():
            if line.startswith("tihuo_db_conflict_retries_total{") and 'outcome="retried"' in line:
                total += float(line.rsplit(" ", 1)[1])
    return total


def server_counters(nodes: list[int]) -> collections.Counter:
    """Statements (Questions), commits and Galera write sets / certification failures,
    summed over the Galera nodes the web nodes write to (the cluster is this run's alone)."""
    total = collections.Counter()
    for n in nodes:
        st = galera.wsrep(n)
        conn = pymysql.connect(host="127.0.0.1", port=galera.sql_port(n), user="root", autocommit=True)
        with conn.cursor() as cur:
            cur.execute("SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions', 'Com_commit')")
            status = dict(cur.fetchall())
        conn.close()
        total.update({"statements": int(status["Questions"]) - 1, "commits": int(status["Com_commit"]),
                      "write_sets": int(st.get("wsrep_replicated", 0)),
                      "cert_failures": int(st.get("wsrep_local_cert_failures", 0))})
    return total


def measure(ctx: bench.Context, bases: list[str], args, galera_nodes: list[int] | None = None) -> dict[str, dict]:
    """Each scenario with the clients split over `bases`; results merged."""
    out = {}
    for name in SCENARIOS:
        before = retries(bases)
        counters = server_counters(galera_nodes) if galera_nodes else None
        parts: list[dict] = [None] * len(bases)

        def run(i):
            share = args.concurrency // len(bases) + (i < args.concurrency % len(bases))
            parts[i] = bench.run_load(replace(ctx, base=bases[i]), name, args.warmup, args.duration, share)
        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(bases))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        merged = {"requests": sum(p["requests"] for p in parts), "errors": sum(p["errors"] for p in parts),
                  "rps": sum(p["rps"] for p in parts), "samples": [s for p in parts for s in p["error_samples"]]}
        merged["retries"] = retries(bases) - before
        extra = ""
        if galera_nodes:
            # Over the whole load (warm-up included), per request of the whole load.
            delta = server_counters(galera_nodes) - counters
            done = max(1, merged["requests"] * (args.warmup + args.duration) / args.duration)
            merged["per_request"] = {k: v / done for k, v in delta.items()}
            extra = "; per request: " + ", ".join(f"{k} {v:.2f}" for k, v in merged["per_request"].items())
        out[name] = merged
        print(f"    {name}: {merged['rps']:.1f} req/s, {merged['errors']} errors, "
              f"{merged['retries']:.0f} conflict retries{extra}", flush=True)
    return out


def setup(procs, logs: Path, database_url: str, redis_url: str, nodes: list[tuple[str, str]], workers: int,
          threads: int) -> bench.Context:
    """Sandbox, schema and seed on nodes[0]'s database, gunicorn per (bind, DATABASE_URL)."""
    ctx = bench.Context(base=nodes[0][0], sandbox=f"127.0.0.1:{bench.free_port()}")
    env = bench.app_env(ctx, logs, database_url, redis_url)
    redis.Redis.from_url(redis_url).flushdb()
    bench.start_sandbox(procs, ctx, env, logs)
    bench.migrate_and_seed(env)
    for i, (bind, url) in enumerate(nodes):
        prom = logs / f"prom-{i}"
        prom.mkdir()
        bench.spawn_web(procs, {**env, "DATABASE_URL": url, "PROMETHEUS_MULTIPROC_DIR": str(prom)}, bind,
                        logs / f"web-{i}.log", workers, threads)
    stores = json.loads(bench.Http(ctx.base).call("GET", "/api/stores")[1])["items"]
    ctx.store_id, ctx.order_store_id = stores[0]["id"], stores[-1]["id"]
    bench.setup_orders(ctx)
    return ctx


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=5.0)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers in all (split over the nodes in b)")
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--single-url", default="mysql+pymysql://root@127.0.0.1:3306")
    p.add_argument("--database-name", default="tihuo_h2", help="created and dropped on both servers")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/5")
    a = p.parse_args()
    single = sa.make_url(a.single_url)
    admin = sa.create_engine(single, isolation_level="AUTOCOMMIT")
    db_url = lambda server: server.set(database=a.database_name, query={"charset": "utf8mb4"}).render_as_string(
        hide_password=False)
    results = {}
    print("galera: starting 3 nodes", flush=True)
    galera.start()
    try:
        for label in ("a", "b"):
            logs = Path(tempfile.mkdtemp(prefix=f"tihuo-bench-cluster-{label}-"))
            procs: list = []
            try:
                if label == "a":
                    with admin.connect() as conn:
                        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {a.database_name}"))
                        conn.execute(sa.text(f"CREATE DATABASE {a.database_name} CHARACTER SET utf8mb4"))
                    nodes = [(f"127.0.0.1:{PORTS[0]}", db_url(single))]
                    workers = a.workers
                    print(f"(a) one web node ({workers}x{a.threads}) on the single MariaDB", flush=True)
                else:
                    conn = pymysql.connect(host="127.0.0.1", port=galera.sql_port(1), user="root", autocommit=True)
                    with conn.cursor() as cur:
                        cur.execute(f"CREATE DATABASE {a.database_name} CHARACTER SET utf8mb4")
                    conn.close()
                    nodes = [(f"127.0.0.1:{PORTS[i]}", galera.url(i + 1, a.database_name)) for i in range(2)]
                    workers = max(1, a.workers // 2)
                    print(f"(b) two web nodes ({workers}x{a.threads} each) on Galera nodes 1 and 2", flush=True)
                ctx = setup(procs, logs, nodes[0][1], a.redis_url, nodes, workers, a.threads)
                results[label] = measure(ctx, [bind for bind, _ in nodes], a, [1, 2] if label == "b" else None)
            finally:
                for proc in reversed(procs):
                    bench.stop(proc)
                shutil.rmtree(logs, ignore_errors=True)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {a.database_name}"))
        redis.Redis.from_url(a.redis_url).flushdb()
        galera.stop(quiet=True)

    print(f"\n{'':<28}{'healthz':>9}{'spread':>9}{'hot':>9}{'spread/hz':>11}{'hot/hz':>9}{'retries/1k hot':>16}")
    ratio = {}
    for label, name in (("a", "one node, single MariaDB"), ("b", "two nodes, Galera")):
        r = results[label]
        hz = r["healthz"]["rps"]
        ratio[label] = (r["order_spread"]["rps"] / hz, r["order_hot"]["rps"] / hz)
        per_k = 1000 * r["order_hot"]["retries"] / max(1, r["order_hot"]["requests"])
        print(f"{name:<28}{hz:>9.1f}{r['order_spread']['rps']:>9.1f}{r['order_hot']['rps']:>9.1f}"
              f"{ratio[label][0]:>11.3f}{ratio[label][1]:>9.3f}{per_k:>16.1f}")
    print(f"\n(b)/(a): order_spread {ratio['b'][0] / ratio['a'][0]:.2f}, order_hot {ratio['b'][1] / ratio['a'][1]:.2f}"
          f"  (target >= 0.8)")
    errors = sum(r[n]["errors"] for r in results.values() for n in SCENARIOS)
    if errors:
        samples = [s for r in results.values() for n in SCENARIOS for s in r[n]["samples"]][:5]
        print(f"\n!!! {errors} errors: " + "\n".join(samples))
    return 1 if errors else 0


if __name__ == "__main__":
    started = time.monotonic()
    code = main()
    print(f"{time.monotonic() - started:.0f}s")
    sys.exit(code)
