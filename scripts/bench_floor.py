"""The benchmark's floor for order placement: the app, plus a bare Flask endpoint that does
an order's SQL and nothing else, mounted at /floor (scripts/bench.py serves this module
instead of wsgi.py when the `order_floor` scenario is asked for).

Issue 3 sets its target against such an endpoint ("a minimal raw-SQL Flask endpoint doing
the same inserts reaches about 0.32 here"): measured in the same run, it shows how much of
an order's cost is the order's rows themselves and how much is everything a real one does
besides (auth, validation, idempotency, the flash-sale gate, serialisation, logs, metrics).

POST /floor/orders {"store_id", "fulfillment", "items": [{"sku_id", "qty"}]}: one line,
no auth (the first user buys), one PyMySQL connection per thread, a statement per round
trip as a minimal endpoint writes it: read the SKU, insert the order, its item and event,
hold the stock (guarded), write the ledger row, commit. Not part of the service.
"""
from __future__ import annotations

import secrets
import threading
from datetime import datetime, timedelta, timezone

import pymysql
from flask import Flask, request
from sqlalchemy.engine import make_url
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from wsgi import app

floor = Flask("floor")
_url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
_local = threading.local()


def _connection() -> pymysql.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = pymysql.connect(
            host=_url.host, port=_url.port or 3306, user=_url.username, password=_url.password or "",
            database=_url.database, charset="utf8mb4", autocommit=False)
        with conn.cursor() as cur:
            cur.execute("SELECT MIN(id) FROM users")
            _local.user_id = cur.fetchone()[0]
    return conn


@floor.post("/orders")
def place():
    body = request.get_json()
    store_id, line = body["store_id"], body["items"][0]
    sku_id, qty = line["sku_id"], line["qty"]
    conn = _connection()
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    order_no = f"FL{now:%y%m%d%H%M}{secrets.randbelow(10**16):016d}"
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT s.price_fen, s.product_id, p.name, s.spec FROM skus s "
                        "JOIN products p ON p.id = s.product_id WHERE s.id = %s", (sku_id,))
            price, product_id, name, spec = cur.fetchone()
            total = price * qty
            cur.execute("INSERT INTO orders (order_no, user_id, store_id, fulfillment, status, total_fen, "
                        "payable_fen, source, flash_sale, created_at, pay_deadline) "
                        "VALUES (%s, %s, %s, %s, 'pending_payment', %s, %s, 'floor', 0, %s, %s)",
                        (order_no, _local.user_id, store_id, body["fulfillment"], total, total, now,
                         now + timedelta(minutes=15)))
            order_id = cur.lastrowid
            cur.execute("INSERT INTO order_items (order_id, sku_id, product_id, name, spec, price_fen, qty, "
                        "picked_up_qty) VALUES (%s, %s, %s, %s, %s, %s, %s, 0)",
                        (order_id, sku_id, product_id, name, spec, price, qty))
            cur.execute("INSERT INTO order_events (order_id, at, to_status, actor_type, actor_id, reason) "
                        "VALUES (%s, %s, 'pending_payment', 'user', %s, 'placed')",
                        (order_id, now, _local.user_id))
            held = cur.execute("UPDATE inventory SET reserved = reserved + %s WHERE store_id = %s "
                               "AND sku_id = %s AND online AND on_hand - reserved >= %s",
                               (qty, store_id, sku_id, qty))
            if held != 1:
                conn.rollback()
                return {"code": "out_of_stock"}, 409
            cur.execute("INSERT INTO stock_movements (at, store_id, sku_id, delta_on_hand, delta_reserved, "
                        "reason, order_id) VALUES (%s, %s, %s, 0, %s, 'reserve', %s)",
                        (now, store_id, sku_id, qty, order_id))
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return {"order_no": order_no, "id": order_id, "total_fen": total}, 201


app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/floor": floor})
