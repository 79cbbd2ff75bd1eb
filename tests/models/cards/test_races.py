"""Pickup-card races with real threads on real connections (the MariaDB run is the one
that counts): one card redeemed twice at once, a multi-unit card by a crowd, wrong
passwords at once, two exports at once."""
from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from app.extensions import db
from models.cards.tables import Card, CardRedemption
from models.catalog import Sku
from models.stock.tables import Inventory
from models.orders.tables import Order
from models.stock.check import check_ledger
from tests.factories import (admin_headers, make_card_batch, make_product, make_shopper, make_store,
                             stock)
from tests.models.orders.test_concurrency import run_threads


@pytest.fixture(autouse=True)
def _fast_hashes(app, monkeypatch):
    monkeypatch.setitem(app.config, "CARD_PASSWORD_ITERATIONS", 1000)


@pytest.fixture
def shop(app):
    with app.app_context():
        store = make_store()
        sku = make_product("五常大米", skus=[("5kg", 8900)]).skus[0]
        stock(store, sku, 100)
        return store.id, sku.id


def redeem_body(store_id, serial, password, qty=1):
    return {"serial": serial, "password": password, "fulfillment": "pickup", "store_id": store_id, "qty": qty}


def test_one_card_redeemed_twice_at_once_is_redeemed_once(app, shop):
    store_id, sku = shop
    with app.app_context():
        _, made = make_card_batch(db.session.get(Sku, sku), count=5)
        holders = [make_shopper()[1] for _ in range(2)]
    for serial, password in made.items():  # a few rounds: the race can fall either way
        def go(i):
            resp = app.test_client().post("/api/cards/redeem", headers=holders[i],
                                          json=redeem_body(store_id, serial, password))
            return resp.status_code, (resp.json.get("error") or {}).get("code")

        results = run_threads(2, go)
        assert sorted(results, key=str) == [(201, None), (409, "card_used_up")], results
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Order)) == 5
        assert db.session.scalar(select(func.count()).select_from(CardRedemption)) == 5
        assert set(db.session.scalars(select(Card.status))) == {"used_up"}
        inv = db.session.scalars(select(Inventory).where(Inventory.sku_id == sku)).one()
        assert (inv.on_hand, inv.reserved) == (100, 5)
        assert check_ledger() == []


def test_a_crowd_on_one_multi_unit_card_takes_exactly_its_units(app, shop):
    store_id, sku = shop
    with app.app_context():
        _, made = make_card_batch(db.session.get(Sku, sku), count=1, units=4, qty_per_unit=2)
        holders = [make_shopper()[1] for _ in range(10)]
    (serial, password), = made.items()

    def go(i):
        resp = app.test_client().post("/api/cards/redeem", headers=holders[i],
                                      json=redeem_body(store_id, serial, password))
        return resp.status_code

    assert Counter(run_threads(10, go)) == {201: 4, 409: 6}
    with app.app_context():
        card = db.session.scalars(select(Card)).one()
        assert (card.status, card.units_left) == ("used_up", 0)
        assert db.session.scalar(select(func.sum(CardRedemption.units))) == 4
        inv = db.session.scalars(select(Inventory).where(Inventory.sku_id == sku)).one()
        assert inv.reserved == 8
        assert check_ledger() == []


def test_wrong_passwords_at_once_are_all_counted(app, shop):
    store_id, sku = shop
    with app.app_context():
        _, made = make_card_batch(db.session.get(Sku, sku), count=1)
        guessers = [make_shopper()[1] for _ in range(6)]
    (serial, password), = made.items()

    def go(i):
        return app.test_client().post("/api/cards/redeem", headers=guessers[i],
                                      json=redeem_body(store_id, serial, f"{i:016d}")).status_code

    answers = Counter(run_threads(6, go))
    # Tries that found the card unlocked are counted (card_invalid); once it is locked
    # (at 3), a try — right or wrong — is answered card_locked and counts nothing.
    assert set(answers) <= {400, 423} and answers[400] >= 3, answers
    with app.app_context():
        card = db.session.scalars(select(Card)).one()
        assert card.failed_attempts == answers[400] and card.locked_at is not None
        from models.outbox.tables import OutboxMessage

        alerts = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "staff_alert")).all()
        assert len(alerts) == 1  # one lock, one alert
    resp = app.test_client().post("/api/cards/redeem", headers=guessers[0],
                                  json=redeem_body(store_id, serial, password))
    assert resp.status_code == 423


def test_two_exports_at_once_show_the_passwords_once(app, shop):
    _, sku = shop
    with app.app_context():
        admin = admin_headers(app.test_client())
    client = app.test_client()
    body = {"name": "并发", "sku_id": sku, "card_count": 20, "valid_until": "2099-01-01T00:00:00+08:00"}
    batch_id = client.post("/api/admin/card-batches", headers=admin, json=body).json["id"]

    def go(_):
        return app.test_client().post(f"/api/admin/card-batches/{batch_id}/export", headers=admin).status_code

    assert sorted(run_threads(2, go)) == [200, 409]
    with app.app_context():
        hashes = db.session.scalars(select(Card.password_hash)).all()
        assert len(hashes) == 20 and len(set(hashes)) == 20 and None not in hashes
