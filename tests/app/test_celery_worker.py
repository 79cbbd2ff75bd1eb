"""End to end with a real Celery worker: a separate process (`celery -A make_celery
worker`), a real Redis broker, the MariaDB test database. The web side runs in worker
mode, so the paid order's subscribe message can only reach WeChat (the sandbox) through
the queue: order → pay → notify → outbox row → after commit, a task on the broker → the
worker claims and sends it.

Only meaningful on MariaDB + Redis (a second process needs a shared database and a real
broker): skipped on the embedded default. The dispatcher itself is tested on both
backends in test_outbox_dispatch.py."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis
import requests
from sqlalchemy import select

from app import create_app
from app.extensions import db
from models.notifications.tables import MessageLog
from models.outbox.tables import OutboxMessage
from tests.conftest import ClosingClient, _free_port, backend_is_mysql
from tests.factories import admin_headers, bearer, make_product, make_store, stock

ROOT = Path(__file__).resolve().parents[2]
BROKER = os.environ.get("TEST_CELERY_BROKER_URL")

pytestmark = [
    pytest.mark.skipif(not backend_is_mysql() or not os.environ.get("TEST_REDIS_URL"),
                       reason="a real worker needs MariaDB and Redis (scripts/test runs it there)"),
    pytest.mark.skipif(not BROKER, reason="TEST_CELERY_BROKER_URL (a Redis db of its own) is not set"),
]


def _env(settings, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "CELERY", "WECHAT", "REDIS",
                                                                      "DATABASE"))}
    for name, value in settings.model_dump().items():
        if value is None or isinstance(value, dict):
            continue
        if isinstance(value, (set, frozenset, list, tuple)):  # as an operator writes it: JSON
            env[name] = json.dumps(sorted(value) if isinstance(value, (set, frozenset)) else list(value))
        else:
            env[name] = ("1" if value else "0") if isinstance(value, bool) else str(value)
    env.update(extra)
    return env


@pytest.fixture
def broker():
    client = redis.Redis.from_url(BROKER)
    client.flushdb()  # a database of its own: left-over tasks of an earlier run go
    yield BROKER
    client.flushdb()


@pytest.fixture
def web(settings, broker):
    """The web app with a worker configured, listening for WeChat Pay's notifications."""
    from werkzeug.serving import make_server

    port = _free_port()
    web_app = create_app(settings.model_copy(update={
        "TASKS_IN_PROCESS": False, "CELERY_BROKER_URL": broker,
        "WECHATPAY_NOTIFY_BASE": f"http://127.0.0.1:{port}"}))
    web_app.test_client_class = ClosingClient
    server = make_server("127.0.0.1", port, web_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield web_app
    server.shutdown()
    with web_app.app_context():
        db.engine.dispose()


@pytest.fixture
def worker(settings, broker, web, tmp_path):
    log_path = tmp_path / "worker.log"
    env = _env(settings, TASKS_IN_PROCESS="0", CELERY_BROKER_URL=broker, LOG_LEVEL="INFO",
               CELERY_BEAT_SCHEDULE_FILE=str(tmp_path / "beat"))
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "make_celery", "worker", "--pool=solo",
             "--loglevel=INFO", "--without-gossip", "--without-mingle", "-n", f"e2e-{os.getpid()}@%h"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        celery = web.extensions["celery"]
        deadline = time.monotonic() + 90
        while not celery.control.ping(timeout=0.5):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the worker did not start:\n{log_path.read_text()[-4000:]}")
        yield proc, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_paid_message_arrives_through_a_real_worker(app, web, worker, sandbox):
    proc, log_path = worker
    client = web.test_client()
    issued = requests.post(f"{sandbox.base_url}/_/login-codes", json={"user": "e2e"}, timeout=5).json()
    login = client.post("/api/auth/login", json={"code": issued["code"]}).json
    headers, openid = bearer(login["token"]), issued["openid"]
    # The shopper accepted the "paid" template once: WeChat counts it, we are told.
    requests.post(f"{sandbox.base_url}/_/subscribe-grants",
                  json={"openid": openid, "template_id": "TPL_ORDER_PAID"}, timeout=5)
    assert client.post("/api/messages/subscriptions", headers=headers,
                       json={"accepted": ["TPL_ORDER_PAID"]}).json["grants"]["TPL_ORDER_PAID"] == 1
    with web.app_context():
        store = make_store()
        sku = make_product("月饼", skus=[("6枚", 12800)]).skus[0]
        stock(store, sku, 5)
        store_id, sku_id = store.id, sku.id
    order_no = client.post("/api/orders", headers=headers, json={
        "store_id": store_id, "fulfillment": "pickup", "items": [{"sku_id": sku_id, "qty": 1}]}).json["order_no"]
    params = client.post(f"/api/orders/{order_no}/pay", headers=headers).json
    paid = requests.post(f"{sandbox.base_url}/_/pay/request-payment", json=params, timeout=10)
    assert paid.status_code == 200, paid.text

    deadline, messages = time.monotonic() + 60, []
    while not messages and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        messages = requests.get(f"{sandbox.base_url}/_/messages",
                                params={"kind": "subscribe", "touser": openid}, timeout=5).json()["messages"]
    assert messages, f"no message within 60 s; worker log:\n{log_path.read_text()[-4000:]}"
    [msg] = messages
    assert msg["template_id"] == "TPL_ORDER_PAID"
    assert msg["data"]["character_string1"]["value"] == order_no
    assert msg["data"]["amount2"]["value"] == "¥128.00"
    rows, deadline = {}, time.monotonic() + 30
    while time.monotonic() < deadline:  # the staff alert is the worker's next row
        with web.app_context():
            rows = dict(db.session.execute(select(OutboxMessage.kind, OutboxMessage.status)).all())
            entry = db.session.execute(select(MessageLog.status, MessageLog.msgid)).one()
            db.session.rollback()
        if set(rows.values()) == {"sent"}:
            break
        time.sleep(0.2)
    # No staff member is bound to the official account here: the alert has no one to go to.
    assert rows == {"subscribe_message": "sent", "staff_alert": "sent"}
    assert entry.status == "sent" and entry.msgid == str(msg["msgid"])
    # It was the worker that delivered it: the task is in its log.
    assert "tihuo.outbox.dispatch" in log_path.read_text()


def test_a_card_export_runs_on_the_worker_and_no_password_is_logged(web, worker):
    """The export's POST only queues the job; the worker makes the passwords. Its log (at
    INFO, task results included) holds none of them."""
    import csv
    import io

    proc, log_path = worker
    client = web.test_client()
    with web.app_context():
        sku_id = make_product("月饼", skus=[("6枚", 12800)]).skus[0].id
        admin = admin_headers(client)
    batch_id = client.post("/api/admin/card-batches", headers=admin, json={
        "name": "中秋", "sku_id": sku_id, "card_count": 5, "valid_until": "2099-01-01T00:00:00+08:00"}).json["id"]
    started = client.post(f"/api/admin/card-batches/{batch_id}/export", headers=admin)
    assert started.status_code == 202 and started.json["status"] == "queued"
    url, state, deadline = f"/api/admin/card-exports/{started.json['id']}", {}, time.monotonic() + 60
    while state.get("status") != "ready" and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        state = client.get(url, headers=admin).json
    assert state["status"] == "ready", f"{state}; worker log:\n{log_path.read_text()[-4000:]}"
    rows = list(csv.DictReader(io.StringIO(client.get(f"{url}/csv", headers=admin).get_data(as_text=True)
                                           .lstrip("\ufeff"))))
    assert len(rows) == 5 and client.post(f"{url}/confirm", headers=admin).json["status"] == "delivered"
    log = log_path.read_text()
    assert "tihuo.cards.export" in log
    assert not any(r["password"] in log or r["password"].replace(" ", "") in log for r in rows)
