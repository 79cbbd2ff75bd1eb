"""Partner stock changes: one Idempotency-Key applies once (also sent at once), 100
concurrent deltas sum right (real threads, MariaDB's row locks), counts become deltas and
are refused when the stock moved after the count; the ledger always sums to the counters."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from models.base import utcnow
from models.stock.check import check_ledger
from models.stock.tables import Inventory, StockMovement
from tests.conftest import backend_is_mysql
from tests.models.orders.test_concurrency import run_threads
from tests.factories import admin_headers, make_product, make_shopper, make_store, stock
from tests.models.partners.helpers import make_client, partner_headers, reset_switch


@pytest.fixture(autouse=True)
def _switch():
    reset_switch()
    yield
    reset_switch()


@pytest.fixture
def shop(ctx, client):
    store = make_store()
    sku = make_product().skus[0]
    stock(store, sku, 100, baseline=100)
    made = make_client(client, admin_headers(client), [store.id])
    return {"store": store.id, "sku": sku.id, "h": partner_headers(client, made)}


def _on_hand(store_id, sku_id) -> int:
    db.session.rollback()
    return db.session.scalar(select(Inventory.on_hand).where(Inventory.store_id == store_id, Inventory.sku_id == sku_id))


def _adjust(client, shop, key, delta, reason="received"):
    return client.post(f"/api/partner/v1/stores/{shop['store']}/stock/adjustments",
                       headers={**shop["h"], "Idempotency-Key": key},
                       json={"lines": [{"sku_id": shop["sku"], "delta": delta, "reason": reason}]})


def test_the_same_key_twice_applies_once(client, shop):
    first = _adjust(client, shop, "erp-1", 7)
    again = _adjust(client, shop, "erp-1", 7)
    assert first.status_code == again.status_code == 200
    assert first.json["lines"][0]["on_hand"] == again.json["lines"][0]["on_hand"] == 107
    assert first.json["replayed"] is False and again.json["replayed"] is True
    assert _on_hand(shop["store"], shop["sku"]) == 107
    other = _adjust(client, shop, "erp-1", 8)
    assert other.status_code == 422 and other.json["error"]["code"] == "idempotency_key_reused"
    assert db.session.scalar(select(func.count()).select_from(StockMovement)
                             .where(StockMovement.reason == "partner:received")) == 1
    assert check_ledger() == []
    missing = client.post(f"/api/partner/v1/stores/{shop['store']}/stock/adjustments", headers=shop["h"],
                          json={"lines": [{"sku_id": shop["sku"], "delta": 1, "reason": "found"}]})
    assert missing.status_code == 400


def test_below_reserved_is_refused_and_the_key_can_be_retried(client, shop):
    _, shopper = make_shopper()
    assert client.post("/api/orders", headers=shopper, json={"store_id": shop["store"], "fulfillment": "pickup",
                                                             "items": [{"sku_id": shop["sku"], "qty": 3}]}).status_code == 201
    refused = _adjust(client, shop, "erp-2", -98, reason="lost")
    assert refused.status_code == 409 and refused.json["error"]["code"] == "stock_below_reserved"
    # The refused call rolled back with its key: the key is free again.
    assert _adjust(client, shop, "erp-2", -97, reason="lost").json["lines"][0]["on_hand"] == 3
    assert check_ledger() == []


def test_a_count_is_a_delta_unless_the_stock_moved_after_it(client, shop):
    counted_at = utcnow() - timedelta(minutes=5)
    _adjust(client, shop, "erp-4", 1)  # the stock moves now: after the count
    stale = client.post(f"/api/partner/v1/stores/{shop['store']}/stock/counts",
                        headers={**shop["h"], "Idempotency-Key": "count-1"},
                        json={"lines": [{"sku_id": shop["sku"], "on_hand": 90, "counted_at": counted_at.isoformat()}]})
    assert stale.status_code == 409 and stale.json["error"]["code"] == "stale_count"
    fresh = client.post(f"/api/partner/v1/stores/{shop['store']}/stock/counts",
                        headers={**shop["h"], "Idempotency-Key": "count-2"},
                        json={"lines": [{"sku_id": shop["sku"], "on_hand": 90,
                                         "counted_at": (utcnow() + timedelta(seconds=1)).isoformat()}]})
    assert fresh.status_code == 200, fresh.json
    assert fresh.json["lines"][0] == {"sku_id": shop["sku"], "delta": -11, "reason": "count", "on_hand": 90,
                                      "reserved": 0, "available": 90}
    assert _on_hand(shop["store"], shop["sku"]) == 90


@pytest.mark.skipif(not backend_is_mysql(), reason="row locks and unique-key waits: MariaDB")
def test_one_hundred_concurrent_deltas_sum_right(app, shop):
    deltas = [(i % 7) - 3 or 5 for i in range(100)]

    def one(i):
        c = app.test_client()
        return _adjust(c, shop, f"k-{i}", deltas[i], reason="found" if deltas[i] > 0 else "damaged").status_code

    assert run_threads(100, one) == [200] * 100
    assert _on_hand(shop["store"], shop["sku"]) == 100 + sum(deltas)
    assert check_ledger() == []


@pytest.mark.skipif(not backend_is_mysql(), reason="row locks and unique-key waits: MariaDB")
def test_one_key_sent_at_once_applies_once(app, shop):
    def one(i):
        c = app.test_client()
        resp = _adjust(c, shop, "same-key", 5)
        return resp.status_code, resp.json["lines"][0]["on_hand"]

    results = run_threads(10, one)
    assert results == [(200, 105)] * 10
    assert _on_hand(shop["store"], shop["sku"]) == 105
