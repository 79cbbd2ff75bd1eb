"""Report benchmark: what reads the history — the dashboard's reports, the staff and outbox
lists, 「今日」, the sweeps and jobs — at two sizes of that history, in one run.

    .venv/bin/python scripts/bench_reports.py [--sizes 10000,1000000] [--duration 10] [--concurrency 8]
        [--buffer-pool 2G] [--explain] [--keep] [--json out.json]

For each size: a fresh database (`<--db-prefix>_<size>`), `flask db upgrade`, then
scripts/gen_history.py fills it (90 days, 5 stores, 200 SKUs; the last 20 days hold the same
--recent-per-day orders at every size, and --overdue-unpaid unpaid orders wait for the
sweep, so a day's work is the same at both sizes and only the table differs). Then, timed
in a process of their own (what `flask ...` would run, without its start-up):
  rollup_all     the rollups of every generated day (`flask analytics rollup --from --to`);
  rollup_7d      the scheduled job's trailing 7 days: must not grow with the table;
  sweep          one pass of the unpaid / auto-confirm sweep (models.orders.deadlines.sweep,
                 batch --sweep-batch), which cancels that many of the overdue unpaid orders;
  reconcile      yesterday's reconciliation (`flask pay reconcile --date`) against the WeChat
                 Pay sandbox's bill, which is given yesterday's payments and refunds first.
Then the app under gunicorn (as scripts/bench.py runs it, whose machinery this reuses) and,
each for --warmup + --duration seconds with --concurrency clients:
  healthz        the baseline of the run;
  order_spread   POST /api/orders (scripts/bench.py's: 200 SKUs at one store);
  report_all     GET /api/admin/reports/daily, the last 30 days, every store (admin);
  report_store   the same for one store;
  expiring       GET /api/staff/pickups/expiring (the dashboard's other call);
  staff_rare     GET /api/staff/orders?store_id=&status=cancelled at the last store, where
                 (gen_history.py) orders are almost never cancelled, a status common at the
                 others: the worst case of a staff list filtered by status;
  outbox_failed  GET /api/admin/outbox?status=failed;
  oa_today       「今日」 from the admin's bound WeChat, POST /wechat/official (plain mode,
                 signed as WeChat signs).
Each is printed as req/s and latency ratios to /healthz of the same size's run, and the
last table compares sizes: (ratio at the big size) / (ratio at the small size) — ≥ 0.8 is
flat; for the jobs, seconds big / seconds small.

The MariaDB server runs with --buffer-pool (SET GLOBAL innodb_buffer_pool_size, online on
MariaDB 10.11; the size README.md tells production to give it), restored at the end.
--explain prints EXPLAIN of every statement the jobs and the read paths run (at each
size), flagging full scans. Absolute numbers mean little on a shared 2-core machine: the
ratios are what compare.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import redis
import sqlalchemy as sa

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]
import bench

ROOT, BIN = bench.ROOT, bench.BIN
OA_APPID, OA_SECRET, OA_TOKEN = "wxbenchoa00000001", "bench-oa-secret", "benchoatoken"
OA_USER = "bench-admin-phone"
# Order placement last: the orders it places are today's, which the reports and 「今日」 read.
REPORT_SCENARIOS = ["report_all", "report_store", "expiring", "staff_rare", "outbox_failed", "oa_today",
                    "order_spread"]
JOBS = ["rollup_all", "rollup_7d", "sweep", "reconcile"]
# Days with the same orders at every size: the measured ones (today, the 7-day rollup,
# yesterday's reconciliation) and, before them, the longest a generated order keeps moving
# (auto-completion 7 days after a pickup or a shipment, refunds days after a delivery), so
# that no event of the big size's busier days lands in a measured one.
RECENT_DAYS = 20
RARE_STATUS = "cancelled"  # rare at the last store (gen_history.py), common elsewhere


@dataclass
class ReportContext(bench.Context):
    admin: dict = field(default_factory=dict)
    report_store: int = 0
    oa_openid: str = ""


def _get(path_of):
    def request(ctx: ReportContext, http: bench.Http):
        return http.call("GET", path_of(ctx), None, ctx.admin)
    return request


def oa_today(ctx: ReportContext, http: bench.Http):
    """「今日」 as WeChat pushes it: signature = sha1(sorted(token, timestamp, nonce))."""
    ts, nonce = str(int(time.time())), str(secrets.randbelow(10**9))
    signature = hashlib.sha1("".join(sorted([OA_TOKEN, ts, nonce])).encode()).hexdigest()
    xml = (f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[{ctx.oa_openid}]]>"
           f"</FromUserName><CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
           f"<Content><![CDATA[今日]]></Content><MsgId>{secrets.randbelow(10**15)}</MsgId></xml>").encode()
    status, body = http.raw("POST", f"/wechat/official?signature={signature}&timestamp={ts}&nonce={nonce}", xml,
                            {"Content-Type": "text/xml"})
    if status == 200 and "今日".encode() not in body:  # "success" only: not a reply with the figures
        return 599, body
    return status, body


def _last_30(ctx):
    return (datetime.now(ZoneInfo("Asia/Shanghai")).date() - timedelta(days=29)).isoformat()


bench.SCENARIOS.update({
    "report_all": bench.Scenario(_get(lambda c: f"/api/admin/reports/daily?from={_last_30(c)}")),
    "report_store": bench.Scenario(_get(lambda c: f"/api/admin/reports/daily?from={_last_30(c)}"
                                              f"&store_id={c.report_store}")),
    "expiring": bench.Scenario(_get(lambda c: "/api/staff/pickups/expiring")),
    "staff_rare": bench.Scenario(_get(lambda c: f"/api/staff/orders?store_id={c.report_store}&status={RARE_STATUS}")),
    "outbox_failed": bench.Scenario(_get(lambda c: "/api/admin/outbox?status=failed")),
    "oa_today": bench.Scenario(oa_today),
})


# --- the jobs, timed in a process of their own (`_job NAME ...`) ---------------------------------

class Explainer:
    """Every statement the app runs while on, EXPLAINed afterwards (MariaDB)."""

    def __init__(self, engine):
        self.engine, self.seen = engine, {}
        sa.event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        head = statement.lstrip().split(None, 1)[0].upper()
        if head in ("SELECT", "UPDATE", "DELETE") and statement not in self.seen:
            self.seen[statement] = cursor.mogrify(statement, parameters) if parameters else statement

    def report(self, title: str) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._record)
        print(f"\n== EXPLAIN: {title} ({len(self.seen)} distinct statements)")
        with self.engine.connect() as conn:
            for sql in self.seen.values():
                rows = conn.exec_driver_sql("EXPLAIN " + sql).mappings().all()
                # A full read of a table or index (past a few stores' rows), or an estimate past
                # 50 000 rows (a ref read's estimate counts the whole key; LIMIT stops it early).
                scans = [r for r in rows if int(r["rows"] or 0) > (1000 if r["type"] in ("ALL", "index") else 50_000)]
                print(("!! " if scans else "   ") + " ".join(sql.split())[:400])
                for r in rows:
                    print(f"      {r['table']}: type={r['type']} key={r['key']} rows={r['rows']} "
                          f"extra={r['Extra']}")


def job(args) -> int:
    """Run one job in this process's app context; print {"seconds": ..., ...} as the last line."""
    from app import create_app
    from app.extensions import db

    app = create_app()
    with app.app_context():
        explain = Explainer(db.engine) if args.explain and db.engine.dialect.name == "mysql" else None
        t = time.perf_counter()
        if args.job in ("rollup_all", "rollup_7d"):
            from models.analytics.rollup import build
            result = build(date.fromisoformat(args.first), date.fromisoformat(args.last))
            db.session.commit()
        elif args.job == "sweep":
            from models.orders.deadlines import sweep
            result = sweep(batch=int(args.last))
        elif args.job == "bill":
            result = _bill_rows(args.first, args.sandbox)
        elif args.job == "reconcile":
            from models.payments.reconcile import reconcile_day
            result = reconcile_day(args.first)
            db.session.commit()
        elif args.job == "reads":
            result = _reads(args.first)
        else:
            raise SystemExit(f"unknown job {args.job}")
        seconds = time.perf_counter() - t
        if explain:
            explain.report(args.job)
    print(json.dumps({"seconds": seconds, "result": result}, default=str))
    return 0


def _bill_rows(day: str, sandbox: str) -> dict:
    """Yesterday's payments and refunds as the sandbox's bill rows (what WeChat Pay's bill of
    the day would hold), posted to /_/pay/bill-rows."""
    from datetime import datetime
    from datetime import time as dtime
    from zoneinfo import ZoneInfo

    from sqlalchemy import select

    from app.extensions import db
    from models.payments.tables import Payment, Refund
    from wechat.sandbox.pay.bill import yuan

    china = ZoneInfo("Asia/Shanghai")
    start = datetime.combine(date.fromisoformat(day), dtime(0), china)
    end = start + timedelta(days=1)
    zero = {"代金券金额": "0.00", "退款金额": "0.00", "充值券退款金额": "0.00", "手续费": "0.00",
            "申请退款金额": "0.00", "订单金额": "0.00", "应结订单金额": "0.00"}
    http = bench.Http(sandbox)
    n = 0
    for p in db.session.scalars(select(Payment).where(Payment.status.in_(("paid", "held")),
                                                      Payment.paid_at >= start, Payment.paid_at < end)):
        fields = {**zero, "交易时间": p.paid_at.astimezone(china).strftime("%Y-%m-%d %H:%M:%S"),
                  "微信订单号": p.transaction_id, "商户订单号": p.out_trade_no, "交易状态": "SUCCESS",
                  "应结订单金额": yuan(p.paid_fen), "订单金额": yuan(p.paid_fen), "微信退款单号": "0",
                  "商户退款单号": "0"}
        n += _post_row(http, day, "payment", fields)
    for r in db.session.scalars(select(Refund).where(Refund.status == "success", Refund.succeeded_at >= start,
                                                     Refund.succeeded_at < end)):
        fields = {**zero, "交易时间": r.created_at.astimezone(china).strftime("%Y-%m-%d %H:%M:%S"),
                  "商户退款单号": r.out_refund_no, "微信退款单号": r.refund_id or "0", "交易状态": "REFUND",
                  "退款金额": yuan(r.amount_fen), "申请退款金额": yuan(r.amount_fen)}
        n += _post_row(http, day, "refund", fields)
    db.session.rollback()
    return {"rows": n}


def _post_row(http, day, kind, fields) -> int:
    status, body = http.call("POST", "/_/pay/bill-rows", {"bill_date": day, "kind": kind, "fields": fields})
    if status != 200:
        raise RuntimeError(f"sandbox bill row: {status} {body[:200]!r}")
    return 1


def _reads(day: str) -> dict:
    """The read paths once each, as their handlers call them (for --explain)."""
    from sqlalchemy import select

    from app.extensions import db
    from models.analytics.reports import daily
    from models.official.today import report
    from models.orders.queries import list_orders
    from models.outbox.review import rows
    from models.pickup.expiry import due_soon
    from models.staff.tables import Staff
    from models.stores import Store

    admin = db.session.scalars(select(Staff).where(Staff.username == "admin")).one()
    store = db.session.scalars(select(Store.id).order_by(Store.id.desc())).first()
    last = date.fromisoformat(day)
    out = {"report_all": len(daily(None, last - timedelta(days=29), last)["by_day"]),
           "report_store": len(daily([store], last - timedelta(days=29), last)["by_day"]),
           "expiring": len(due_soon(admin, store_id=None, within_hours=24, cursor=None, limit=21)),
           "staff_rare": len(list_orders(store_ids=[store], status=RARE_STATUS, limit=21)),
           "outbox_failed": len(rows(status="failed", kind=None, cursor=None, limit=21)),
           "oa_today": len(report(admin))}
    db.session.rollback()
    return out


# --- one size --------------------------------------------------------------------------------------

def run_job(env, name: str, *extra: str, explain: bool = False) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "_job", name, *extra] + (["--explain"] if explain else [])
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"job {name} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    lines = done.stdout.strip().splitlines()
    if explain:
        print("\n".join(lines[:-1]), flush=True)
    return json.loads(lines[-1])


def one_size(args, size: int, env: dict, sandbox: str, admin_engine, procs: list, logs: Path) -> dict:
    db_name = f"{args.db_prefix}_{size}"
    server = sa.make_url(args.database_url)
    env = {**env, "DATABASE_URL": server.set(database=db_name, query={"charset": "utf8mb4"})
                                        .render_as_string(hide_password=False)}
    with admin_engine.connect() as conn:
        reuse = args.reuse and conn.execute(sa.text("SELECT COUNT(*) FROM information_schema.schemata "
                                                    "WHERE schema_name = :db"), {"db": db_name}).scalar()
        if not reuse:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {db_name}"))
            conn.execute(sa.text(f"CREATE DATABASE {db_name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    out: dict = {"size": size, "database": db_name, "jobs": {}}
    try:
        t = time.monotonic()
        _flask(env, "db", "upgrade")
        if reuse:  # kept by an earlier run (--keep): upgraded to this code's schema, not regenerated
            out["generate"] = {"seconds": 0, "summary": [f"{db_name} reused; db upgrade {time.monotonic() - t:.1f}s"]}
        else:
            gen = subprocess.run([sys.executable, "scripts/gen_history.py", "--orders", str(size), "--days", "90",
                                  "--stores", "5", "--skus", "200", "--seed", str(args.seed),
                                  "--overdue-unpaid", str(args.overdue_unpaid),
                                  "--recent-per-day", str(args.recent_per_day), "--recent-days", str(RECENT_DAYS)],
                                 cwd=ROOT, env=env, capture_output=True, text=True, check=False)
            if gen.returncode:
                raise RuntimeError(f"gen_history failed:\n{gen.stdout[-3000:]}{gen.stderr[-3000:]}")
            out["generate"] = {"seconds": time.monotonic() - t, "summary": gen.stdout.strip().splitlines()[-2:]}
        print(f"[{size}] {out['generate']['summary'][0]}", flush=True)
        today = datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the app's business day
        yesterday, first = today - timedelta(days=1), today - timedelta(days=89)
        jobs = out["jobs"]
        jobs["rollup_all"] = run_job(env, "rollup_all", "--first", first.isoformat(), "--last", yesterday.isoformat())
        jobs["rollup_7d"] = run_job(env, "rollup_7d", "--first", (yesterday - timedelta(days=6)).isoformat(),
                                    "--last", yesterday.isoformat(), explain=args.explain)
        jobs["sweep"] = run_job(env, "sweep", "--last", str(args.sweep_batch), explain=args.explain)
        bench.Http(sandbox).call("POST", "/_/pay/reset", {})  # the other size's bill rows
        run_job(env, "bill", "--first", yesterday.isoformat(), "--sandbox", sandbox)
        jobs["reconcile"] = run_job(env, "reconcile", "--first", yesterday.isoformat(), explain=args.explain)
        if args.explain:
            run_job(env, "reads", "--first", today.isoformat(), explain=True)
        for name, r in jobs.items():
            print(f"[{size}] {name}: {r['seconds']:.3f}s {r['result']}", flush=True)
        out["results"] = serve_and_measure(args, env, sandbox, procs, logs)
    finally:
        if not args.keep:
            with admin_engine.connect() as conn:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {db_name}"))
    return out


def _flask(env, *cmd):
    done = subprocess.run([str(BIN / "flask"), *cmd], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"flask {' '.join(cmd)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def serve_and_measure(args, env, sandbox: str, procs: list, logs: Path) -> list[dict]:
    ctx = ReportContext(base=env["BENCH_APP"], sandbox=sandbox)
    env = {**env, "PUBLIC_BASE_URL": f"http://{ctx.base}", "WECHATPAY_NOTIFY_BASE": f"http://{ctx.base}"}
    shutil.rmtree(logs / "prom", ignore_errors=True)
    (logs / "prom").mkdir()
    app = []
    bench.spawn(app, [str(BIN / "gunicorn"), "-k", "gthread", "--workers", str(args.workers), "--threads",
                      str(args.threads), "--bind", ctx.base, "--no-control-socket", "--reuse-port", "wsgi:app"],
                env, logs / "gunicorn.log", f"{ctx.base}/readyz")
    procs.extend(app)
    try:
        http = bench.Http(ctx.base)
        stores = json.loads(http.call("GET", "/api/stores")[1])["items"]
        ctx.store_id = ctx.order_store_id = ctx.report_store = stores[-1]["id"]
        bench.setup_orders(ctx)
        http = bench.Http(ctx.base)  # a new connection: the last one may have idled out
        _, body = http.call("POST", "/api/staff/login", {"username": "admin", "password": "tihuo-admin-demo"})
        ctx.admin = {"Authorization": f"Bearer {json.loads(body)['token']}"}
        ctx.oa_openid = bind_official(ctx, http)
        results = []
        for name in ["healthz"] + REPORT_SCENARIOS:
            results.append(bench.run_load(ctx, name, args.warmup, args.duration, args.concurrency))
            r = results[-1]
            print(f"  {name}: {r['requests']} requests, {r['errors']} errors, {r['rps']:.0f} req/s", flush=True)
        bench.print_table(results)
        return results
    finally:
        for proc in app:
            bench.stop(proc)
            procs.remove(proc)


def bind_official(ctx: ReportContext, http: bench.Http) -> str:
    """The admin binds their WeChat to the official account: the QR code, scanned at the sandbox."""
    me = json.loads(http.call("GET", "/api/staff/me", None, ctx.admin)[1])
    status, body = http.call("POST", f"/api/admin/staff/{me['id']}/official-binding", None, ctx.admin)
    if status != 201:
        raise RuntimeError(f"binding QR: {status} {body[:300]!r}")
    status, body = bench.Http(ctx.sandbox).call("POST", "/_/official/scan",
                                                {"ticket": json.loads(body)["ticket"], "user": OA_USER})
    if status != 200:
        raise RuntimeError(f"sandbox scan: {status} {body[:300]!r}")
    from wechat.sandbox import openid_for
    return openid_for(OA_APPID, OA_USER)


def print_comparison(small: dict, big: dict) -> None:
    def ratio(results, name, key):
        base = results[0]
        r = next(r for r in results if r["endpoint"] == name)
        return r[key] / base[key] if base[key] else float("nan")

    print(f"\n{'':<14}{'x rps':>16}{'x p50':>16}{'flat: big/small':>18}")
    print(f"{'endpoint':<14}{small['size']:>8}{big['size']:>8}{small['size']:>8}{big['size']:>8}"
          f"{'rps':>9}{'p50':>9}")
    for name in REPORT_SCENARIOS:
        rs, rb = ratio(small["results"], name, "rps"), ratio(big["results"], name, "rps")
        ps, pb = ratio(small["results"], name, "p50_ms"), ratio(big["results"], name, "p50_ms")
        flag = "" if rb / rs >= 0.8 else "  << grows with the table"
        print(f"{name:<14}{rs:>8.3f}{rb:>8.3f}{ps:>8.2f}{pb:>8.2f}{rb / rs:>9.2f}{pb / ps:>9.2f}{flag}")
    print(f"\n{'job':<14}{'s @' + str(small['size']):>12}{'s @' + str(big['size']):>14}{'big/small':>11}")
    for name in JOBS:
        a, b = small["jobs"][name]["seconds"], big["jobs"][name]["seconds"]
        print(f"{name:<14}{a:>12.3f}{b:>14.3f}{b / a:>11.2f}")
    for run in (small, big):
        print(f"generated {run['size']}: {run['generate']['summary'][0]}")


def parse_size(text: str) -> int:
    units = {"K": 2**10, "M": 2**20, "G": 2**30}
    return int(float(text[:-1]) * units[text[-1].upper()]) if text[-1].upper() in units else int(text)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "_job":
        p = argparse.ArgumentParser()
        p.add_argument("marker")
        p.add_argument("job")
        p.add_argument("--first")
        p.add_argument("--last")
        p.add_argument("--sandbox")
        p.add_argument("--explain", action="store_true")
        return job(p.parse_args())
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="10000,1000000", help="two order counts, small,big")
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--recent-per-day", type=int, default=100,
                   help=f"orders on each of the last {RECENT_DAYS} days, at every size")
    p.add_argument("--overdue-unpaid", type=int, default=200, help="unpaid orders waiting for the sweep")
    p.add_argument("--sweep-batch", type=int, default=100, help="the sweep pass's batch (what it cancels)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--buffer-pool", default="2G", help="innodb_buffer_pool_size for the run (README: production)")
    p.add_argument("--database-url", default="mysql+pymysql://root@127.0.0.1:3306",
                   help="MariaDB server URL, without a database")
    p.add_argument("--db-prefix", default="tihuo_bench_reports", help="databases <prefix>_<size>, dropped after")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    p.add_argument("--keep", action="store_true", help="keep the databases")
    p.add_argument("--reuse", action="store_true",
                   help="measure databases kept by an earlier run (--keep) again, after `flask db upgrade` "
                        "(e.g. before and after a migration); the sweep then has the rest of the overdue orders")
    p.add_argument("--explain", action="store_true", help="EXPLAIN every statement of the jobs and read paths")
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if len(sizes) != 2 or sizes[0] >= sizes[1]:
        p.error("--sizes is small,big")
    signal.signal(signal.SIGTERM, signal.default_int_handler)

    server = sa.make_url(args.database_url)
    admin_engine = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    rds = redis.Redis.from_url(args.redis_url)
    logs = Path(tempfile.mkdtemp(prefix="tihuo-bench-reports-"))
    appid, secret = "wx" + secrets.token_hex(8), secrets.token_hex(16)
    sandbox_port, app_port = bench.free_port(), bench.free_port()
    sandbox = f"127.0.0.1:{sandbox_port}"
    # WeChat Pay: the sandbox is the platform; a merchant key made for this run.
    from Crypto.PublicKey import RSA
    merchant = RSA.generate(2048)
    (logs / "merchant.pem").write_bytes(merchant.export_key(pkcs=8))
    (logs / "merchant.pub").write_bytes(merchant.public_key().export_key())
    apiv3, serial, mchid = secrets.token_hex(16), secrets.token_hex(20).upper(), "1900000109"
    env = {**os.environ, "APP_ENV": "development", "FLASK_APP": "wsgi", "LOG_LEVEL": "WARNING",
           "REDIS_URL": args.redis_url, "CELERY_BROKER_URL": args.redis_url,
           "WECHAT_APPID": appid, "WECHAT_SECRET": secret, "WECHAT_SANDBOX": "0",
           "WECHAT_API_BASE": f"http://{sandbox}", "WECHATPAY_API_BASE": f"http://{sandbox}",
           "FIELD_ENCRYPTION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
           "SECRET_KEY": secrets.token_urlsafe(48), "PROMETHEUS_MULTIPROC_DIR": str(logs / "prom"),
           "WECHATPAY_MCHID": mchid, "WECHATPAY_CERT_SERIAL": serial,
           "WECHATPAY_PRIVATE_KEY_PATH": str(logs / "merchant.pem"), "WECHATPAY_APIV3_KEY": apiv3,
           "WECHATPAY_PUBLIC_KEY_PATH": str(logs / "platform.pem"), "WECHATPAY_NOTIFY_BASE": "http://127.0.0.1:1",
           "BENCH_APP": f"127.0.0.1:{app_port}",  # each size's app, in turn
           "WECHAT_OA_APPID": OA_APPID, "WECHAT_OA_SECRET": OA_SECRET, "WECHAT_OA_TOKEN": OA_TOKEN}
    env.pop("WECHAT_OA_AES_KEY", None)
    procs: list = []
    with admin_engine.connect() as conn:
        pool_before = int(conn.execute(sa.text("SELECT @@innodb_buffer_pool_size")).scalar())
    keep_logs = True
    try:
        with admin_engine.connect() as conn:
            conn.execute(sa.text(f"SET GLOBAL innodb_buffer_pool_size = {parse_size(args.buffer_pool)}"))
            time.sleep(1)
            pool = int(conn.execute(sa.text("SELECT @@innodb_buffer_pool_size")).scalar())
        print(f"innodb_buffer_pool_size {pool / 2**20:.0f} MiB (was {pool_before / 2**20:.0f} MiB); logs in {logs}",
              flush=True)
        rds.flushdb()
        bench.spawn(procs, [sys.executable, "-m", "wechat.sandbox", "--host", "127.0.0.1", "--port", str(sandbox_port),
                            "--app", f"{appid}:{secret}", "--mchid", mchid,
                            "--merchant-public-key", str(logs / "merchant.pub"), "--merchant-serial", serial,
                            "--apiv3-key", apiv3, "--platform-public-key-out", str(logs / "platform.pem"),
                            "--allow-http-loopback-notify", "--official", f"{OA_APPID}:{OA_SECRET}:{OA_TOKEN}",
                            # the binding scan is pushed to the app, as WeChat pushes it
                            "--official-url", f"http://127.0.0.1:{app_port}/wechat/official"],
                    env, logs / "sandbox.log", f"{sandbox}/_/config")
        config = json.loads(bench.Http(sandbox).call("GET", "/_/pay/config")[1])
        env["WECHATPAY_PUBLIC_KEY_ID"] = config["public_key_id"]
        runs = []
        for size in sizes:
            runs.append(one_size(args, size, env, sandbox, admin_engine, procs, logs))
            rds.flushdb()
        print_comparison(*runs)
        if args.json:
            args.json.write_text(json.dumps({"config": {k: str(v) for k, v in vars(args).items()}, "runs": runs},
                                            indent=2, default=str))
        errors = any(r["errors"] or r["exhausted"] for run in runs for r in run["results"])
        keep_logs = errors
        if errors:
            print(f"\n!!! THIS RUN HAD ERRORS: its numbers are not comparable. Logs: {logs}")
        return 1 if errors else 0
    except KeyboardInterrupt:
        print("\ninterrupted: stopping", file=sys.stderr)
        keep_logs = False
        return 130
    finally:
        for proc in reversed(procs):
            bench.stop(proc)
        with admin_engine.connect() as conn:
            conn.execute(sa.text(f"SET GLOBAL innodb_buffer_pool_size = {pool_before}"))
        rds.flushdb()
        if not keep_logs:
            shutil.rmtree(logs, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
