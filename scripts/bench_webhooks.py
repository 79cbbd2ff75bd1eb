"""Webhook delivery throughput: events a second one delivery worker sends to a local receiver.

    .venv/bin/python scripts/bench_webhooks.py [--events 2000] [--workers 1]
        [--database-url mysql+pymysql://root@127.0.0.1:3306] [--database-name tihuo_bench_webhooks]
        [--redis-url redis://127.0.0.1:6379/14]

Builds a scratch database (migrations), a store, a partner client and one endpoint pointing
at a threaded HTTP receiver on 127.0.0.1 (answers 204 at once), writes --events events
(stock.adjusted, one transaction each, as the API writes them), fans them out through the
outbox (untimed), then times --workers threads, each running the delivery loop
(models/partners/delivery.dispatch_due: claim with SKIP LOCKED, sign, POST, record) until
every delivery is delivered. Prints events/s in all and per worker; drops the database.
The receiver shares the CPU with the sender: a floor, not a ceiling.
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


class _Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    count = 0

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).count += 1
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--events", type=int, default=2000)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--database-url", default="mysql+pymysql://root@127.0.0.1:3306")
    p.add_argument("--database-name", default="tihuo_bench_webhooks")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    args = p.parse_args()
    server = sa.make_url(args.database_url)
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {args.database_name}"))
        conn.execute(sa.text(f"CREATE DATABASE {args.database_name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    os.environ.update(DATABASE_URL=server.set(database=args.database_name, query={"charset": "utf8mb4"})
                      .render_as_string(hide_password=False),
                      REDIS_URL=args.redis_url, WEBHOOK_ALLOW_HTTP_LOOPBACK="1", LOG_LEVEL="WARNING",
                      APP_ENV="development")
    try:
        return _run(args, f"http://127.0.0.1:{receiver.server_address[1]}/hook")
    finally:
        receiver.shutdown()
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {args.database_name}"))


def _run(args, url: str) -> int:
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db, rds
    from models import stores
    from models.outbox.dispatch import dispatch_due as outbox_dispatch
    from models.partners import clients, delivery, events, webhooks
    from models.partners.tables import WebhookDelivery

    app = create_app()
    with app.app_context():
        upgrade()
        rds().flushdb()
        store = stores.create_store(None, {"name": "bench", "address": "上海", "lat": 31.2, "lng": 121.4,
                                           "opening_hours": {d: [["00:00", "23:59"]] for d in stores.DAYS}})
        staff = type("Admin", (), {"id": None, "audit_kind": "system"})()
        client, _ = clients.create(staff, name="bench", scopes=["webhooks:manage"], store_ids=[store.id])
        webhooks.create(staff, client.id, url, ["stock.adjusted"])
        db.session.commit()
        events.refresh_flag()
        for i in range(args.events):
            events.emit("stock.adjusted", "stock", f"{store.id}:{i % 50}", store.id,
                        {"store_id": store.id, "sku_id": i % 50, "delta": 1})
            db.session.commit()
        while outbox_dispatch(limit=1000):
            pass
        pending = db.session.scalar(sa.select(sa.func.count()).select_from(WebhookDelivery))
        db.session.remove()
    print(f"{pending} deliveries pending to {url}; {args.workers} worker(s)", flush=True)

    def worker():
        with app.app_context():
            while delivery.dispatch_due(limit=500):
                pass

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(args.workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    with app.app_context():
        delivered = db.session.scalar(sa.select(sa.func.count()).select_from(WebhookDelivery)
                                      .where(WebhookDelivery.status == "delivered"))
    rate = delivered / elapsed
    print(f"delivered {delivered}/{pending} in {elapsed:.1f} s: {rate:.0f} events/s, "
          f"{rate / args.workers:.0f} events/s per worker (receiver saw {_Receiver.count})")
    return 0 if delivered == pending else 1


if __name__ == "__main__":
    sys.exit(main())
