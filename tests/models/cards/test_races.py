"""Pickup-card races with real threads on real connections (the MariaDB run is the one
that counts): one card redeemed twice at once, a multi-unit card by a crowd, wrong
passwords at once, exports started at once, holders redeeming after a mistyped password
(the lock order: docs/architecture.md)."""
from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update

from app.extensions import db
from models.base import utcnow
from models.cards.tables import Card, CardExport, CardRedemption
from models.catalog import Sku
from models.stock.tables import Inventory
from models.orders.tables import Order
from models.stock.check import check_ledger
from tests.factories import (admin_headers, make_card_batch, make_product, make_shopper, make_store,
                             stock)
from tests.conftest import backend_is_mysql
from tests.models.orders.test_concurrency import run_threads


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


def test_exports_started_at_once_make_the_passwords_once(app, shop):
    """Two starts by one admin at once: one job, the other start is shown it. Two admins
    at once: one job; the other admin is refused. Either way the passwords are made once."""
    _, sku = shop
    with app.app_context():
        admins = [admin_headers(app.test_client()) for _ in range(2)]
    client = app.test_client()
    body = {"name": "并发", "sku_id": sku, "card_count": 20, "valid_until": "2099-01-01T00:00:00+08:00"}
    for who in (admins[:1] * 2, admins):
        batch_id = client.post("/api/admin/card-batches", headers=admins[0], json=body).json["id"]

        def go(i):
            resp = app.test_client().post(f"/api/admin/card-batches/{batch_id}/export", headers=who[i])
            return resp.status_code, resp.json.get("id") or resp.json["error"]["code"]

        answers = sorted(run_threads(2, go), key=str)
        if who[0] == who[1]:
            assert [a[0] for a in answers] == [200, 202] and answers[0][1] == answers[1][1], answers
        else:
            assert sorted(a[0] for a in answers) == [202, 409] and "card_batch_exported" in dict(answers).values()
        with app.app_context():
            jobs = db.session.scalars(select(CardExport).where(CardExport.batch_id == batch_id)).all()
            assert [(j.status, j.cards_done) for j in jobs] == [("ready", 20)]
            hashes = db.session.scalars(select(Card.password_hash).where(Card.batch_id == batch_id)).all()
            assert len(hashes) == 20 and len(set(hashes)) == 20 and None not in hashes


def test_holders_redeeming_one_card_at_once_after_a_wrong_password_never_deadlock(app, shop):
    """A wrong password counted on a multi-unit card, then its holders redeem at once:
    each takes the stock rows, then the card (docs/architecture.md, Lock order). Resetting
    the count before holding the stock took the card first: deadlocks, answered 503."""
    store_id, sku = shop
    rounds, crowd = 6, 8
    with app.app_context():
        _, made = make_card_batch(db.session.get(Sku, sku), count=rounds, units=crowd)
        holders = [make_shopper()[1] for _ in range(crowd)]
    answers = Counter()
    for n, (serial, password) in enumerate(made.items()):
        miss = app.test_client().post("/api/cards/redeem", headers=holders[n % crowd],
                                      json=redeem_body(store_id, serial, "0" * 16))
        assert miss.status_code == 400  # counted on the card: the next right one resets it

        def go(i):
            # Staggered (not a timing assertion): some read the card before the first
            # redemption commits its reset of the count, some after.
            time.sleep(0.015 * (i % 4))
            resp = app.test_client().post("/api/cards/redeem", headers=holders[i],
                                          json=redeem_body(store_id, serial, password))
            return resp.status_code, (resp.json.get("error") or {}).get("code")

        answers.update(run_threads(crowd, go))
    print("answers:", dict(answers))
    assert set(answers) <= {(201, None), (409, "card_used_up"), (409, "card_units_insufficient")}, answers
    with app.app_context():
        taken = db.session.scalar(select(func.sum(CardRedemption.units)))
        assert taken == answers[(201, None)] == db.session.scalar(select(func.count()).select_from(Order))
        assert all(c.units_left == crowd - len(c.redemptions) and c.failed_attempts == 0
                   for c in db.session.scalars(select(Card)))
        inv = db.session.scalars(select(Inventory).where(Inventory.sku_id == sku)).one()
        assert inv.reserved == taken
        assert check_ledger() == []


def lock_waits(app) -> list[str]:
    """The statements this test database's transactions are waiting on a row lock to run
    (the server is shared: other databases' transactions are not ours)."""
    with app.app_context():
        return [q or "" for q in db.session.scalars(text(
            "SELECT t.trx_query FROM information_schema.INNODB_TRX t"
            " JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id"
            " WHERE t.trx_state = 'LOCK WAIT' AND p.DB = DATABASE()"))]


def wait_until(what, check, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"never happened: {what}"
        # InnoDB refreshes what INNODB_TRX shows only once nobody read it for 0.1 s.
        time.sleep(0.15)


@pytest.mark.skipif(not backend_is_mysql(), reason="row locks held across connections (MariaDB run)")
def test_a_holder_reset_of_the_count_never_holds_the_card_before_the_stock(app, shop):
    """The interleaving of the deadlock, made on purpose with locks held by the test:
    A reads the card while its count is 1 (another holder's reset of it not committed
    yet), then waits on its own user row (its Idempotency-Key's foreign key) — B, reading
    after that reset committed, holds the stock and asks for the card. A redemption that
    reset the count in open_card held the card there: A and B deadlocked (one got 503)."""
    store_id, sku = shop
    with app.app_context():
        _, made = make_card_batch(db.session.get(Sku, sku), count=1, units=2)
        (a_id, alice), (_, bob) = ((u.id, h) for u, h in (make_shopper(), make_shopper()))
        card_id = db.session.scalar(select(Card.id))
    (serial, password), = made.items()
    assert app.test_client().post("/api/cards/redeem", headers=bob,
                                  json=redeem_body(store_id, serial, "0" * 16)).status_code == 400
    with app.app_context():
        other_holder, a_row = db.engine.connect(), db.engine.connect()
        try:
            other_holder.begin()  # another holder's right password, resetting the count
            other_holder.execute(text("UPDATE cards SET failed_attempts = 0 WHERE id = :id"), {"id": card_id})
            a_row.begin()  # something else of A's holds A's user row for a moment
            a_row.execute(text("SELECT id FROM users WHERE id = :id FOR UPDATE"), {"id": a_id})
            answers = {}

            def go(name, headers):
                resp = app.test_client().post("/api/cards/redeem", json=redeem_body(store_id, serial, password),
                                              headers={**headers, "Idempotency-Key": name})
                answers[name] = resp.status_code, (resp.json.get("error") or {}).get("code")

            a = threading.Thread(target=go, args=("A", alice))
            a.start()
            wait_until("A waits (on the card's reset or its user row)", lambda: lock_waits(app) or answers)
            other_holder.commit()  # the count is 0 now; A still saw 1
            wait_until("A waits on its user row",
                       lambda: any("idempotency_keys" in q for q in lock_waits(app)))
            b = threading.Thread(target=go, args=("B", bob))
            b.start()
            # B holds the stock, then needs the card: it waits for it, or — the card free — is done.
            wait_until("B waits on the card or is done",
                       lambda: "B" in answers or any(q.lstrip().upper().startswith("UPDATE CARDS")
                                                     for q in lock_waits(app)))
            a_row.rollback()  # A goes on: the stock, then the card
            a.join(60), b.join(60)
        finally:
            other_holder.close(), a_row.close()
    print("answers:", answers)
    assert answers == {"A": (201, None), "B": (201, None)}, answers
    with app.app_context():
        card = db.session.get(Card, card_id)
        assert (card.status, card.units_left, card.failed_attempts) == ("used_up", 0, 0)
        assert check_ledger() == []


def test_units_returned_by_expiries_while_the_card_is_redeemed_again(app, shop):
    """Card orders expiring (the code, the order, the stock, the redemption, then the
    card) while holders redeem the same card again (the stock, then the card) — after a
    mistyped password, whose reset of the count once locked the card first."""
    from models.orders.tables import Order
    from models.pickup.expiry import expire_if_overdue
    from tests.factories import mark_ready

    store_id, sku = shop
    for _ in range(2):
        with app.app_context():
            _, made = make_card_batch(db.session.get(Sku, sku), count=1, units=6)
            holders = [make_shopper()[1] for _ in range(4)]
        (serial, password), = made.items()
        earlier = []
        for i in range(3):
            resp = app.test_client().post("/api/cards/redeem", headers=holders[i],
                                          json=redeem_body(store_id, serial, password))
            assert resp.status_code == 201, resp.json
            earlier.append(resp.json["order_no"])
        with app.app_context():
            for order_no in earlier:
                mark_ready(order_no)
            db.session.execute(update(Order).where(Order.order_no.in_(earlier))
                               .values(pickup_deadline=utcnow() - timedelta(seconds=1)))
            db.session.commit()
        assert app.test_client().post("/api/cards/redeem", headers=holders[3],
                                      json=redeem_body(store_id, serial, "0" * 16)).status_code == 400

        def go(i):
            if i < 3:  # the expiry of an earlier order, as a read of it or the sweep does
                with app.app_context():
                    order = db.session.scalars(select(Order).where(Order.order_no == earlier[i])).one()
                    expired = expire_if_overdue(order)
                    db.session.commit()
                    return "expired" if expired else "not expired"
            resp = app.test_client().post("/api/cards/redeem", headers=holders[i - 3],
                                          json=redeem_body(store_id, serial, password))
            return resp.status_code, (resp.json.get("error") or {}).get("code")

        answers = run_threads(6, go)
        assert answers == ["expired"] * 3 + [(201, None)] * 3, answers
        with app.app_context():
            card = db.session.scalars(select(Card).where(Card.serial == serial)).one()
            redemptions = db.session.scalars(select(CardRedemption).where(CardRedemption.card_id == card.id)).all()
            assert sum(r.units - (r.returned_units or 0) for r in redemptions) == 3
            assert (card.units_left, card.failed_attempts, card.status) == (3, 0, "active")
            assert {o.status for o in db.session.scalars(select(Order).where(Order.order_no.in_(earlier)))} == {
                "pickup_expired"}
            assert check_ledger() == []
    with app.app_context():
        inv = db.session.scalars(select(Inventory).where(Inventory.sku_id == sku)).one()
        assert (inv.on_hand, inv.reserved) == (100, 6)


def test_a_batch_voided_while_its_export_finishes(app, shop):
    """The export's last step (the batch, the job, the cards) and a void of its batch (the
    batch, its cards) at once: the job is ready with every card's password stored, or
    failed with none — the cards void either way; never a deadlock."""
    from models.cards import batches, exports

    _, sku = shop
    with app.app_context():
        admin = admin_headers(app.test_client())
    seen = set()
    for delay in (0, 0.01, 0.03, 0.1):  # the void lands early or late in the run
        with app.app_context():
            now = utcnow()
            batch = batches.create_batch(None, {
                "name": "作废", "sku_id": sku, "qty_per_unit": 1, "units_per_card": 1, "card_count": 30,
                "valid_from": now, "valid_until": now + timedelta(days=30), "channels": "both", "store_id": None})
            job, _ = exports.start(None, batch.id)
            db.session.commit()
            batch_id, export_id = batch.id, job.id

        def go(i):
            if i == 0:
                with app.app_context():
                    return exports.run(export_id)["status"]
            time.sleep(delay)
            return app.test_client().post(f"/api/admin/card-batches/{batch_id}/void", headers=admin,
                                          json={}).status_code

        ran, voided = run_threads(2, go)
        with app.app_context():
            job = db.session.get(CardExport, export_id)
            cards = db.session.execute(select(Card.status, Card.password_hash).where(Card.batch_id == batch_id)).all()
            assert voided == 200 and ran == job.status, (ran, voided)
            assert {status for status, _ in cards} == {"void"}
            if job.status == "ready":
                assert None not in {h for _, h in cards} and job.cards_done == 30
            else:
                assert (job.status, job.error) == ("failed", "card_batch_void") and job.result_enc is None
                assert {h for _, h in cards} == {None}
        seen.add(job.status)
    print("export outcomes:", seen)
