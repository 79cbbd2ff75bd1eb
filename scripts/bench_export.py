#!/usr/bin/env python3
"""Memory benchmark of a large export: 10^6 orders exported as CSV by the background job,
in this process, printing its peak resident memory (the target: under 200 MB).

    .venv/bin/python scripts/bench_export.py [--rows 1000000] [--format csv|xlsx]
        [--database-url mysql+pymysql://root@127.0.0.1:3306/tihuo_bench_export?charset=utf8mb4]

Two processes, so that the figure is the export's alone:
1. a child makes the data, if the database does not hold it yet: it creates the database
   (`--fresh` drops it first), applies the migrations and inserts --rows orders of one
   store, spread over the last 300 days, with SQLAlchemy Core in batches of 10 000
   (plain rows: only the export is measured here, not order placement);
2. this process creates the app, starts the export as an admin (`models.exports.jobs`),
   runs the job's task here (as a Celery worker would), reads the file back chunk by chunk
   (counting a CSV's lines), and prints the peak RSS (`resource.getrusage`): before the export
   (the app and its imports) and after it.

Not a test: it takes minutes and measures. Leaves the database (drop it when done).

Measured (2 cores shared, MariaDB busy with another load): 10^6 orders as CSV, a 152 MB
file in 153 chunks, 105–150 s, peak RSS 154 MB (133 MB before the export: the app); as
XLSX, 67 MB in 350 s, peak 150 MB. (Before models/staff/accounts.py made its dummy argon2id
hash on first use instead of at import, every process peaked at 192 MB on start.)
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = os.environ.get(
    "BENCH_DATABASE_URL", "mysql+pymysql://root@127.0.0.1:3306/tihuo_bench_export?charset=utf8mb4")
BATCH = 10_000
ADMIN = "bench-export"
DAYS = 300


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def current_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def make_app(url: str):
    from app import create_app
    from app.config import Settings

    return create_app(Settings(DATABASE_URL=url, TASKS_IN_PROCESS=True, WECHAT_SANDBOX=False,
                               LOG_LEVEL="WARNING"))


def fill(url: str, rows: int, fresh: bool) -> None:
    """The child: the database, its schema and `rows` orders (only what is missing)."""
    import sqlalchemy as sa

    target = sa.make_url(url)
    if target.drivername.startswith("mysql"):
        server = sa.create_engine(target.set(database=""))
        with server.begin() as conn:
            if fresh:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{target.database}`"))
            conn.execute(sa.text(f"CREATE DATABASE IF NOT EXISTS `{target.database}` "
                                 "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
        server.dispose()
    app = make_app(url)
    from flask_migrate import upgrade
    from sqlalchemy import func, insert, select

    from app.extensions import db
    from models import stores
    from models.base import utcnow
    from models.orders.tables import Order
    from models.staff.accounts import create_staff
    from models.staff.tables import Staff
    from models.users import User

    with app.app_context():
        upgrade()
        if db.session.scalars(select(Staff).where(Staff.username == ADMIN)).first() is None:
            # Here, not in the measured process: argon2id takes 64 MiB for a moment by design.
            create_staff(None, username=ADMIN, password="bench-export-password", role="admin", store_ids=[])
            db.session.commit()
        have = db.session.scalar(select(func.count()).select_from(Order))
        if have >= rows:
            print(f"data: {have} orders already there", flush=True)
            return
        store = db.session.scalars(select(stores.Store)).first() or stores.create_store(None, {
            "name": "静安寺店", "address": "上海市静安区南京西路1号", "lat": 31.22, "lng": 121.45,
            "opening_hours": {d: [["00:00", "23:59"]] for d in stores.DAYS}})
        user = db.session.scalars(select(User)).first()
        if user is None:
            user = User(openid="o-bench-export")
            db.session.add(user)
        db.session.commit()
        started, now = time.monotonic(), utcnow()
        step = timedelta(days=DAYS) / rows
        remarks = ["", "请尽快备货", "=1+1", "周末来取", "-2+3"]
        for at in range(have, rows, BATCH):
            batch = []
            for n in range(at, min(at + BATCH, rows)):
                created = now - timedelta(days=DAYS) + step * n
                batch.append({
                    "order_no": f"BX{n:014d}", "user_id": user.id, "store_id": store.id, "fulfillment": "pickup",
                    "status": "completed", "total_fen": 1280 + n % 9000, "payable_fen": 1280 + n % 9000,
                    "remark": remarks[n % len(remarks)] or None, "source": "shop", "flash_sale": False,
                    "created_at": created, "pay_deadline": created + timedelta(minutes=15),
                    "paid_at": created + timedelta(minutes=1), "completed_at": created + timedelta(days=1)})
            db.session.execute(insert(Order), batch)
            db.session.commit()
            if (at // BATCH) % 10 == 0:
                print(f"data: {at + len(batch)} / {rows} orders ({time.monotonic() - started:.0f} s)", flush=True)
        print(f"data: {rows} orders in {time.monotonic() - started:.0f} s", flush=True)


def export(url: str, fmt: str) -> int:
    from datetime import date

    app = make_app(url)
    from sqlalchemy import select

    from app.extensions import db
    from app.tasks import pending
    from models.analytics import calendar
    from models.exports import jobs, storage
    from models.exports.tables import ExportJob
    from models.staff.abilities import Role
    from models.staff.principal import StaffPrincipal
    from models.staff.tables import Staff

    with app.app_context():
        admin = db.session.scalars(select(Staff).where(Staff.username == ADMIN)).one()
        actor = StaffPrincipal(admin.id, Role.admin, [])
        last = calendar.today()
        first = max(last - timedelta(days=365), date(2000, 1, 1))
        job = jobs.start(actor, "orders", fmt, first=first, last=last, lang="zh")
        db.session.commit()
        pending(app).clear()  # run below, here, as the worker would
        before = peak_mb()
        print(f"export: job {job.id} ({fmt}); RSS before: {current_mb():.0f} MB (peak so far {before:.0f} MB)",
              flush=True)
        started = time.monotonic()
        result = jobs.run(job.id)
        took = time.monotonic() - started
        job = db.session.get(ExportJob, job.id)
        size = 0
        lines = 0
        for chunk in storage.read(job.id, job.staff_id, job.chunks):  # as the download reads it
            size += len(chunk)
            lines += chunk.count(b"\n")
        read_back = f"{lines} lines" if fmt == "csv" else f"{size / 2**20:.1f} MB"
        print(f"export: {result['status']}: {job.rows_done} rows, {job.bytes / 2**20:.1f} MB in {job.chunks} "
              f"chunks, {took:.1f} s ({job.rows_done / max(took, 1e-9):.0f} rows/s); "
              f"{read_back} read back", flush=True)
        peak = peak_mb()
        print(f"peak RSS: {peak:.0f} MB (before the export: {before:.0f} MB; the export added "
              f"{peak - before:.0f} MB)", flush=True)
        return 0 if result["status"] == "ready" and peak < 200 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--fresh", action="store_true", help="drop and recreate the database first")
    parser.add_argument("--fill-only", action="store_true", help=argparse.SUPPRESS)  # the child
    args = parser.parse_args()
    if args.fill_only:
        fill(args.database_url, args.rows, args.fresh)
        return 0
    child = [sys.executable, __file__, "--fill-only", "--rows", str(args.rows), "--database-url", args.database_url]
    subprocess.run(child + (["--fresh"] if args.fresh else []), check=True)
    return export(args.database_url, args.format)


if __name__ == "__main__":
    sys.exit(main())
