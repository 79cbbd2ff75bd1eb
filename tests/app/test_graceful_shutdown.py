"""A web server stopped under load (gunicorn.conf.py's graceful_timeout): gunicorn with
two gthread workers, as in production, receives SIGTERM while shoppers keep placing
orders over fresh connections.

Every request ends one of three ways: a full answer; refused (nobody listens any more);
or cut before any byte of an answer (it was queued to a listening socket that closed).
Never an answer cut halfway. Whatever was cut before its answer is in the database
entirely or not at all: the order with its reservation and ledger row, or nothing — the
stock ledger sums to the counters and the reserved count is the placed orders' units.
The requests in progress when the signal came are finished, not dropped.

MariaDB + Redis run only: the server is a separate process on the test database.
(The worker side, SIGTERM to a Celery worker mid-task: tests/app/test_celery_rabbitmq.py.)"""
from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from models.orders.tables import Order, OrderItem
from models.stock.check import check_ledger
from models.stock.tables import Inventory
from tests.app.test_celery_worker import _env
from tests.conftest import _free_port, backend_is_mysql
from tests.factories import make_product, make_shopper, make_store, stock

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not backend_is_mysql() or not os.environ.get("TEST_REDIS_URL"),
                                reason="a server process needs MariaDB and Redis (scripts/test runs it there)")


def _post(port: int, path: str, headers: dict, body: dict) -> tuple[str, object]:
    """One request on a connection of its own: ("answer", (status, json)), ("refused", None),
    ("cut-before-answer", None) or ("cut-mid-answer", detail)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        try:
            conn.connect()
        except ConnectionRefusedError:
            return "refused", None
        try:
            conn.request("POST", path, body=json.dumps(body),
                         headers={**headers, "Content-Type": "application/json", "Connection": "close"})
            resp = conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            return "cut-before-answer", None
        try:
            data = resp.read()
            return "answer", (resp.status, json.loads(data))
        except (http.client.IncompleteRead, ConnectionResetError, ValueError) as exc:
            return "cut-mid-answer", repr(exc)
    finally:
        conn.close()


@pytest.fixture
def server(settings, tmp_path):
    port = _free_port()
    env = _env(settings, PROMETHEUS_MULTIPROC_DIR=str(tmp_path), LOG_LEVEL="WARNING")
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "-k", "gthread",
             "--workers", "2", "--threads", "4", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"gunicorn did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)
    yield proc, port, log_path
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_sigterm_under_load_finishes_what_it_started_and_half_does_nothing(app, server):
    proc, port, log_path = server
    with app.app_context():
        store = make_store()
        sku = make_product("大米", skus=[("5kg", 8900)]).skus[0]
        stock(store, sku, 100_000)
        store_id, sku_id = store.id, sku.id
        shoppers = [make_shopper()[1] for _ in range(8)]
    outcomes: list[tuple[float, float, str, object, str]] = []  # sent, ended, kind, detail, key
    stop = threading.Event()

    def shopper(headers):
        while not stop.is_set():
            key = uuid.uuid4().hex
            sent = time.monotonic()
            kind, detail = _post(port, "/api/orders", {**headers, "Idempotency-Key": key}, {
                "store_id": store_id, "fulfillment": "pickup", "items": [{"sku_id": sku_id, "qty": 1}]})
            outcomes.append((sent, time.monotonic(), kind, detail, key))
            if kind == "refused":
                return  # the server is gone: no one will listen on this port again

    threads = [threading.Thread(target=shopper, args=(h,)) for h in shoppers]
    for t in threads:
        t.start()
    time.sleep(1.5)
    signalled = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        assert proc.wait(timeout=60) == 0, log_path.read_text()[-3000:]
    finally:
        stop.set()
        for t in threads:
            t.join(60)

    kinds = {kind for _, _, kind, _, _ in outcomes}
    assert "cut-mid-answer" not in kinds, [o for o in outcomes if o[2] == "cut-mid-answer"][:3]
    answers = [detail for _, _, kind, detail, _ in outcomes if kind == "answer"]
    assert {status for status, _ in answers} == {201}, [a for a in answers if a[0] != 201][:3]
    assert "refused" in kinds  # it did stop
    # Requests in progress at the signal were finished, not dropped.
    assert any(sent < signalled < ended for sent, ended, kind, _, _ in outcomes if kind == "answer")

    placed = {body["order_no"] for _, body in answers}
    cut = [key for _, _, kind, _, key in outcomes if kind == "cut-before-answer"]
    with app.app_context():
        orders = dict(db.session.execute(select(Order.order_no, Order.id)).all())
        assert placed <= set(orders)  # every answered order is there
        # An order not answered can only be one whose request was cut before its answer.
        assert len(orders) - len(placed) <= len(cut)
        # ...and it is there entirely or not at all: one item, its unit reserved, its ledger row.
        units = db.session.scalar(select(func.coalesce(func.sum(OrderItem.qty), 0)))
        inv = db.session.scalars(select(Inventory).where(Inventory.store_id == store_id)).one()
        assert inv.reserved == units == len(orders)  # each order: its one unit, reserved once
        assert check_ledger() == []
        db.session.rollback()
    print(f"{len(outcomes)} requests: {len(placed)} placed, {len(cut)} cut before an answer, "
          f"{len(orders) - len(placed)} of those placed; {sum(1 for o in outcomes if o[2] == 'refused')} refused")
