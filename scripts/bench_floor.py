"""The benchmark's floor for order placement: the app, plus a bare Flask endpoint that does
an order's SQL and nothing else, mounted at /floor (scripts/bench.py serves `create()`
instead of wsgi.py in runs that include the `order_floor` scenario).

Issue 3 sets its target against such an endpoint ("a minimal raw-SQL Flask endpoint doing
the same inserts reaches about 0.32 here"): measured in the same run, it shows how much of
an order's cost is the order's rows themselves and how much is everything a real one does
besides (auth, validation, idempotency, the flash-sale gate, serialisation, logs, metrics).

POST /floor/orders {"store_id", "fulfillment", "items": [{"sku_id", "qty"}]}: the first
line only, no auth (the first user buys), one PyMySQL connection per thread, a statement
per round trip as a minimal endpoint writes it: read the SKU, insert the order, its item
and event, hold the stock (guarded), write the ledger row, commit. Not part of the service;
tests/scripts/test_bench_floor.py keeps its SQL in step with the schema.
"""
from __future__ import annotations

import threading
from datetime import timedelta

import pymysql
from flask import Flask, request
from sqlalchemy.engine import make_url
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from models.base import utcnow
from models.orders.placement import new_order_no


def create():
    """The app with the floor mounted (gunicorn: `scripts.bench_floor:create()`)."""
    from wsgi import app

    floor = floor_app(app.config["SQLALCHEMY_DATABASE_URI"], app.config["ORDER_PAY_TIMEOUT_S"])
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/floor": floor})
    return app


def floor_app(database_url: str, pay_timeout_s: int) -> Flask:
    url, local = make_url(database_url), threading.local()
    floor = Flask("floor")

    def connection() -> pymysql.Connection:
        if getattr(local, "conn", None) is None:
            local.conn = pymysql.connect(
                host=url.host, port=url.port or 3306, user=url.username, password=url.password or "",
                database=url.database, charset="utf8mb4", autocommit=False)
            with local.conn.cursor() as cur:
                cur.execute("SELECT MIN(id) FROM users")
                local.user_id = cur.fetchone()[0]
        return local.conn

    @floor.post("/orders")
    def place():
        body = request.get_json()
        store_id, line = body["store_id"], body["items"][0]
        sku_id, qty = line["sku_id"], line["qty"]
        conn, order_no = connection(), new_order_no()
        now = utcnow().replace(tzinfo=None)  # the driver writes naive datetimes (UTC here)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT s.price_fen, s.product_id, p.name, s.spec FROM skus s "
                            "JOIN products p ON p.id = s.product_id WHERE s.id = %s", (sku_id,))
                price, product_id, name, spec = cur.fetchone()
                total = price * qty
                cur.execute("INSERT INTO orders (order_no, user_id, store_id, fulfillment, status, total_fen, "
                            "payable_fen, source, flash_sale, created_at, pay_deadline) "
                            "VALUES (%s, %s, %s, %s, 'pending_payment', %s, %s, 'floor', 0, %s, %s)",
                            (order_no, local.user_id, store_id, body["fulfillment"], total, total, now,
                             now + timedelta(seconds=pay_timeout_s)))
                order_id = cur.lastrowid
                cur.execute("INSERT INTO order_items (order_id, sku_id, product_id, name, spec, price_fen, "
                            "qty, picked_up_qty) VALUES (%s, %s, %s, %s, %s, %s, %s, 0)",
                            (order_id, sku_id, product_id, name, spec, price, qty))
                cur.execute("INSERT INTO order_events (order_id, at, to_status, actor_type, actor_id, reason) "
                            "VALUES (%s, %s, 'pending_payment', 'user', %s, 'placed')",
                            (order_id, now, local.user_id))
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

    return floor
