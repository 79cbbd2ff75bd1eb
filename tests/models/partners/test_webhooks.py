"""Webhooks end to end with a real receiver on loopback: events written with the change,
fanned out by the outbox, signed as Standard Webhooks (checked by the independent
`standardwebhooks` package), retried on their schedule while the receiver is down for two
(simulated) hours, then delivered exactly once each; 410 disables an endpoint; days of
failures disable it with a staff alert; a range is redelivered on request."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from app.extensions import db
from app.tasks import pending
from models.base import utcnow
from models.outbox import dispatch as outbox_dispatch
from models.outbox.tables import OutboxMessage
from models.partners import delivery
from models.partners.tables import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.conftest import backend_is_mysql
from tests.factories import admin_headers, make_product, make_shopper, make_store, mark_paid, stock
from tests.models.partners.helpers import make_client, partner_headers, reset_switch


class Receiver:
    """An HTTP receiver on 127.0.0.1 answering `status` (with `headers`), recording each request."""

    def __init__(self):
        self.status, self.headers, self.seen = 503, {}, []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.seen.append((receiver.status, dict(self.headers), body))
                self.send_response(receiver.status)
                for k, v in receiver.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def accepted(self) -> list[tuple[dict, bytes]]:
        return [(h, b) for status, h, b in self.seen if 200 <= status < 300]


@pytest.fixture(autouse=True)
def _switch():
    reset_switch()
    yield
    reset_switch()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()


@pytest.fixture
def hooked(app, ctx, client, receiver):
    store = make_store()
    sku = make_product().skus[0]
    stock(store, sku, 100, baseline=100)
    made = make_client(client, admin_headers(client), [store.id])
    h = partner_headers(client, made)
    resp = client.post("/api/partner/v1/webhooks", headers=h,
                       json={"url": receiver.url, "event_types": ["order.created", "order.paid", "stock.adjusted"]})
    assert resp.status_code == 201, resp.json
    assert resp.json["secret"].startswith("whsec_")
    return {"store": store.id, "sku": sku.id, "h": h, "endpoint": resp.json, "secret": resp.json["secret"],
            "client": made}


def _place(client, store_id, sku_id) -> str:
    _, shopper = make_shopper()
    resp = client.post("/api/orders", headers=shopper, json={"store_id": store_id, "fulfillment": "pickup",
                                                              "items": [{"sku_id": sku_id, "qty": 1}]})
    assert resp.status_code == 201
    return resp.json["order_no"]


def _run(app, at: datetime) -> dict:
    """What the beat and the kicks do: the outbox (fan-out), then the webhooks due at `at`."""
    pending(app).clear()
    outbox_dispatch.dispatch_due()
    return delivery.dispatch_due(now=at)


def test_signatures_verify_with_the_standardwebhooks_package(app, client, hooked, receiver):
    receiver.status = 204
    order_no = _place(client, hooked["store"], hooked["sku"])
    _run(app, utcnow())
    [(headers, body)] = receiver.accepted()
    payload = Webhook(hooked["secret"]).verify(body, headers)
    assert payload["type"] == "order.created" and payload["data"]["order_no"] == order_no
    assert set(payload) == {"id", "type", "created_at", "seq", "data"} and payload["seq"] == 1
    assert headers["webhook-id"] == payload["id"] and "." not in payload["id"]
    # Our signature is the package's own for the same message.
    ts = int(headers["webhook-timestamp"])
    theirs = Webhook(hooked["secret"]).sign(payload["id"], datetime.fromtimestamp(ts, tz=timezone.utc), body.decode())
    assert headers["webhook-signature"] == theirs == delivery.sign(hooked["secret"], payload["id"], ts, body)
    # A tampered body is refused by the receiver's library.
    with pytest.raises(Exception):
        Webhook(hooked["secret"]).verify(body.replace(b"order", b"0rder"), headers)


def test_a_receiver_down_for_two_hours_then_gets_every_event_exactly_once(app, client, hooked, receiver):
    receiver.status = 503
    orders = [_place(client, hooked["store"], hooked["sku"]) for _ in range(3)]
    mark_paid(orders[0])
    t0 = utcnow()
    # Down: tries at once, after 5 s, 5 min and 30 min all fail (503), and so would any before 2 h.
    for offset in (0, 6, 306, 2106, 3600, 7000):
        _run(app, t0 + timedelta(seconds=offset))
    assert receiver.accepted() == [] and len(receiver.seen) >= 4 * 4
    receiver.status = 200  # back up after two hours
    _run(app, t0 + timedelta(hours=2, minutes=1))  # the next try is due 2 h after the 30 min one
    assert receiver.accepted() == []
    for offset in (timedelta(hours=2, minutes=36), timedelta(hours=3), timedelta(hours=12), timedelta(hours=30)):
        _run(app, t0 + offset)
    got = [Webhook(hooked["secret"]).verify(body, h) for h, body in receiver.accepted()]
    ids = [g["id"] for g in got]
    assert len(ids) == len(set(ids)) == 4  # 3 created + 1 paid, each once
    assert sorted(g["type"] for g in got) == ["order.created"] * 3 + ["order.paid"]
    db.session.rollback()
    rows = db.session.scalars(select(WebhookDelivery)).all()
    assert {r.status for r in rows} == {"delivered"} and all(r.attempts == 5 for r in rows)
    assert db.session.scalar(select(db.func.count()).select_from(WebhookAttempt)) == 4 * 5
    assert db.session.get(WebhookEndpoint, hooked["endpoint"]["id"]).failing_since is None
    # What the partner sees: the deliveries and every attempt.
    page = client.get(f"/api/partner/v1/webhooks/{hooked['endpoint']['id']}/deliveries", headers=hooked["h"]).json
    attempts = client.get(f"/api/partner/v1/webhooks/deliveries/{page['items'][0]['id']}/attempts",
                          headers=hooked["h"]).json["attempts"]
    assert [a["status_code"] for a in attempts] == [503, 503, 503, 503, 200]


def test_429_retry_after_is_honoured(app, client, hooked, receiver):
    receiver.status, receiver.headers = 429, {"Retry-After": "3600"}
    _place(client, hooked["store"], hooked["sku"])
    t0 = utcnow()
    _run(app, t0)
    db.session.rollback()
    row = db.session.scalars(select(WebhookDelivery)).one()
    assert row.status == "pending" and row.next_attempt_at >= (t0 + timedelta(seconds=3590)).replace(microsecond=0)


def test_410_disables_the_endpoint(app, client, hooked, receiver):
    receiver.status = 410
    _place(client, hooked["store"], hooked["sku"])
    _run(app, utcnow())
    db.session.rollback()
    endpoint = db.session.get(WebhookEndpoint, hooked["endpoint"]["id"])
    assert endpoint.status == "disabled" and "410" in endpoint.disabled_reason
    assert db.session.scalars(select(WebhookDelivery)).one().status == "failed"
    _place(client, hooked["store"], hooked["sku"])
    _run(app, utcnow() + timedelta(hours=1))
    assert len(receiver.seen) == 1  # nothing more is sent to a disabled endpoint


def test_days_of_failures_disable_with_a_staff_alert(app, client, hooked, receiver):
    receiver.status = 500
    t0 = utcnow()
    for day in range(7):
        _place(client, hooked["store"], hooked["sku"])
        _run(app, t0 + timedelta(days=day))
    db.session.rollback()
    endpoint = db.session.get(WebhookEndpoint, hooked["endpoint"]["id"])
    assert endpoint.status == "disabled" and endpoint.disabled_reason.startswith("failing since")
    alerts = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "staff_alert")).all()
    assert [a.payload["event"] for a in alerts] == ["webhook_endpoint_disabled"]


def test_redelivery_of_a_range(app, client, hooked, receiver):
    receiver.status = 200
    for _ in range(2):
        _place(client, hooked["store"], hooked["sku"])
    _run(app, utcnow())
    first = [json.loads(b)["id"] for _, b in receiver.accepted()]
    feed = client.get("/api/partner/v1/events", headers=hooked["h"]).json["items"]
    seqs = [e["seq_no"] for e in feed]
    resp = client.post(f"/api/partner/v1/webhooks/{hooked['endpoint']['id']}/redeliver", headers=hooked["h"],
                       json={"from_seq": min(seqs), "to_seq": max(seqs)})
    assert resp.status_code == 200 and resp.json == {"queued": 2}
    _run(app, utcnow())
    again = [json.loads(b)["id"] for _, b in receiver.accepted()]
    assert again == first + first  # the same webhook-ids: a receiver that dedupes applies them once


def test_after_a_rotation_both_secrets_sign(app, client, hooked, receiver):
    receiver.status = 204
    admin = admin_headers(client)
    rotated = client.post(f"/api/admin/partners/webhooks/{hooked['endpoint']['id']}/rotate", headers=admin)
    assert rotated.status_code == 200 and rotated.json["secret"] != hooked["secret"]
    _place(client, hooked["store"], hooked["sku"])
    _run(app, utcnow())
    [(headers, body)] = receiver.accepted()
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (hooked["secret"], rotated.json["secret"]):  # a receiver on either verifies
        assert Webhook(secret).verify(body, headers)["type"] == "order.created"


@pytest.mark.skipif(not backend_is_mysql(), reason="SKIP LOCKED between real connections: MariaDB")
def test_concurrent_workers_send_each_delivery_once(app, client, hooked, receiver):
    receiver.status = 204
    for _ in range(12):
        _place(client, hooked["store"], hooked["sku"])
    pending(app).clear()
    outbox_dispatch.dispatch_due()

    def work():
        with app.app_context():
            delivery.dispatch_due()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    ids = [json.loads(b)["id"] for _, b in receiver.accepted()]
    assert len(ids) == len(set(ids)) == 12
