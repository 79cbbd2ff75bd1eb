"""Redeeming pickup cards: orders made from cards (pickup and delivery), partial
redemptions, every refusal with its code — and refusals that give guessers nothing."""
from __future__ import annotations

from collections import Counter

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, text, update

from app.extensions import db
from models.audit import AuditLog
from models.base import utcnow
from models.cards.tables import Card, CardBatch, CardRedemption
from models.stock.tables import Inventory
from models.orders.tables import Order, OrderItem
from models.outbox.tables import OutboxMessage
from models.stock.check import check_ledger
from tests.factories import (bearer, make_bundle, make_card_batch, make_product, make_shopper, make_staff,
                             make_store, staff_token, stock)
from tests.app.test_errors import assert_error
from tests.models.orders.test_concurrency import run_threads

ADDRESS = {"name": "王小明", "phone": "13912345678", "province": "上海市", "city": "上海市",
           "district": "静安区", "detail": "南京西路1号"}


@pytest.fixture
def shop(ctx):
    store, other = make_store(), make_store()
    sku = make_product("广式月饼礼盒", skus=[("双黄莲蓉 6枚", 12800)]).skus[0]
    stock(store, sku, 20)
    stock(other, sku, 20)
    _, alice = make_shopper()
    return SimpleNamespace(store=store, other=other, sku=sku, alice=alice)


def cards(shop, **over):
    """A batch for the shop's SKU; returns [(serial, password), ...]."""
    _, made = make_card_batch(shop.sku, **over)
    return list(made.items())


def redeem(client, headers, serial, password, ip="10.0.0.1", key=None, **body):
    body = {"serial": serial, "password": password, "fulfillment": "pickup", **body}
    if body["fulfillment"] == "pickup" and "store_id" not in body:
        body["store_id"] = None
    body = {k: v for k, v in body.items() if v is not None}
    headers = {**headers, **({"Idempotency-Key": key} if key else {})}
    return client.post("/api/cards/redeem", headers=headers, json=body, environ_base={"REMOTE_ADDR": ip})


def card_row(serial) -> Card:
    db.session.expire_all()
    return db.session.scalars(select(Card).where(Card.serial == serial)).one()


def held(store, sku) -> int:
    db.session.expire_all()
    return db.session.scalars(select(Inventory.reserved).where(
        Inventory.store_id == store.id, Inventory.sku_id == sku.id)).one()


def orders_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Order))


# --- orders made from cards -------------------------------------------------------------

def test_redeem_for_pickup(client, shop):
    (serial, password), = cards(shop, count=1, qty_per_unit=2)
    resp = redeem(client, shop.alice, serial, password, store_id=shop.store.id)
    assert resp.status_code == 201, resp.json
    order = resp.json
    assert order["status"] == "paid" and order["fulfillment"] == "pickup"
    assert order["store_id"] == shop.store.id
    assert order["payable_fen"] == 0 and order["total_fen"] == 2 * 12800
    assert order["source"] == f"card:{serial}"
    assert [(i["sku_id"], i["qty"], i["price_fen"]) for i in order["items"]] == [(shop.sku.id, 2, 12800)]
    assert [(e["from_status"], e["to_status"], e["actor_type"]) for e in order["events"]] == [
        (None, "pending_payment", "user"), ("pending_payment", "paid", "user")]
    assert order["paid_at"] is not None and order["address"] is None
    assert held(shop.store, shop.sku) == 2
    card = card_row(serial)
    assert (card.status, card.units_left, card.used_up_at is not None) == ("used_up", 0, True)
    redemption = db.session.scalars(select(CardRedemption)).one()
    placed = db.session.scalars(select(Order).where(Order.order_no == order["order_no"])).one()
    assert (redemption.card_id, redemption.order_id, redemption.units) == (card.id, placed.id, 1)
    kinds = {(m.kind, m.payload["event"]) for m in db.session.scalars(select(OutboxMessage))}
    assert kinds == {("subscribe_message", "order_paid"), ("staff_alert", "new_paid_order")}
    assert check_ledger() == []
    # The holder's order is theirs like any other.
    assert client.get(f"/api/orders/{order['order_no']}", headers=shop.alice).json["status"] == "paid"


def test_redeem_for_delivery_keeps_the_address_encrypted(client, shop):
    (serial, password), = cards(shop, count=1)
    resp = redeem(client, shop.alice, serial, password, fulfillment="delivery",
                  store_id=shop.store.id, address=ADDRESS)
    assert resp.status_code == 201, resp.json
    assert resp.json["fulfillment"] == "delivery" and resp.json["address"]["phone"] == ADDRESS["phone"]
    stored = db.session.scalars(select(Order.address_enc)).one()
    assert ADDRESS["phone"] not in stored and ADDRESS["detail"] not in stored


def test_password_is_typed_as_printed_or_without_spaces(client, shop):
    (serial, password), = cards(shop, count=1, units=2)
    assert " " in password  # printed in groups of four
    assert redeem(client, shop.alice, serial, password.replace(" ", ""), store_id=shop.store.id).status_code == 201
    spaced = " ".join([serial[:4], serial[4:9], serial[9:]])
    assert redeem(client, shop.alice, spaced, password.replace(" ", "-"), store_id=shop.store.id).status_code == 201


def test_partial_redemptions_sum_up(client, shop):
    (serial, password), = cards(shop, count=1, units=5, qty_per_unit=2)
    made = []
    for qty in (2, 2):
        resp = redeem(client, shop.alice, serial, password, store_id=shop.store.id, qty=qty)
        assert resp.status_code == 201, resp.json
        made.append(resp.json["order_no"])
        assert resp.json["items"][0]["qty"] == 2 * qty
    err = assert_error(redeem(client, shop.alice, serial, password, store_id=shop.store.id, qty=2),
                       409, "card_units_insufficient")
    assert err["details"] == {"units_left": 1, "requested": 2}
    last = redeem(client, shop.alice, serial, password, fulfillment="delivery", address=ADDRESS,
                  store_id=shop.other.id)
    assert last.status_code == 201, last.json
    assert_error(redeem(client, shop.alice, serial, password, store_id=shop.store.id), 409, "card_used_up")

    card = card_row(serial)
    assert (card.status, card.units_left) == ("used_up", 0)
    assert db.session.scalar(select(func.sum(CardRedemption.units))) == 5
    assert db.session.scalar(select(func.sum(OrderItem.qty))) == 10
    assert (held(shop.store, shop.sku), held(shop.other, shop.sku)) == (8, 2)
    detail = client.get(f"/api/admin/cards/{serial}", headers=bearer(staff_token(client, make_staff("admin"))))
    assert [r["units"] for r in detail.json["redemptions"]] == [2, 2, 1]
    assert [r["order_no"] for r in detail.json["redemptions"]][:2] == made


def test_bundle_card_holds_each_component(client, shop):
    box = make_bundle("蟹礼盒", price_fen=19800)
    part = box.components[0].component_sku_id
    from models.catalog import Sku

    stock(shop.store, db.session.get(Sku, part), 5)
    _, made = make_card_batch(box, count=1, qty_per_unit=2)
    (serial, password), = made.items()
    resp = redeem(client, shop.alice, serial, password, store_id=shop.store.id)
    assert resp.status_code == 201, resp.json
    assert resp.json["total_fen"] == 2 * 19800 and resp.json["payable_fen"] == 0
    assert held(shop.store, db.session.get(Sku, part)) == 2


def test_goods_off_the_shelf_are_still_redeemable(client, shop):
    (serial, password), = cards(shop, count=1)
    shop.sku.on_shelf = False  # a card-only product, or one no longer sold online
    db.session.commit()
    assert redeem(client, shop.alice, serial, password, store_id=shop.store.id).status_code == 201


def test_on_paid_is_called_with_the_paid_order(client, shop, monkeypatch):
    from models.orders import lifecycle

    seen = []
    monkeypatch.setattr(lifecycle, "on_paid", lambda order: seen.append((order.order_no, order.status)))
    (serial, password), = cards(shop, count=1)
    resp = redeem(client, shop.alice, serial, password, store_id=shop.store.id)
    assert seen == [(resp.json["order_no"], "paid")]


def test_retry_with_the_same_idempotency_key_gets_the_same_order(client, shop):
    (serial, password), = cards(shop, count=1)
    first = redeem(client, shop.alice, serial, password, store_id=shop.store.id, key="card-1")
    again = redeem(client, shop.alice, serial, password, store_id=shop.store.id, key="card-1")
    assert first.status_code == again.status_code == 201
    assert first.json["order_no"] == again.json["order_no"]
    assert orders_count() == 1 and held(shop.store, shop.sku) == 1
    assert_error(redeem(client, shop.alice, serial, password, store_id=shop.other.id, key="card-1"),
                 422, "idempotency_key_reused")
    # The stored fingerprint is not a fast hash of the password.
    from models.orders.tables import IdempotencyKey

    key = db.session.scalars(select(IdempotencyKey)).one()
    from models.orders.placement import request_fingerprint

    body = {"serial": serial, "password": password, "fulfillment": "pickup", "store_id": shop.store.id,
            "address": None, "qty": 1}
    assert key.request_hash != request_fingerprint(body)


# --- refusals after the password: distinct codes ----------------------------------------

def test_not_yet_active_card(client, shop):
    (serial, password), = cards(shop, count=1, activate=False)
    err = assert_error(redeem(client, shop.alice, serial, password, store_id=shop.store.id), 409, "card_not_active")
    assert "valid_from" not in err["details"]
    (serial, password), = cards(shop, count=1, valid_from=utcnow() + timedelta(days=2))
    err = assert_error(redeem(client, shop.alice, serial, password, store_id=shop.store.id), 409, "card_not_active")
    assert "valid_from" in err["details"]


def test_expired_card(client, shop):
    (serial, password), = cards(shop, count=1)
    db.session.execute(update(CardBatch).values(valid_from=utcnow() - timedelta(days=60),
                                                valid_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    err = assert_error(redeem(client, shop.alice, serial, password, store_id=shop.store.id), 409, "card_expired")
    assert "valid_until" in err["details"]


def test_void_card(client, shop):
    (serial, password), = cards(shop, count=1)
    admin = bearer(staff_token(client, make_staff("admin")))
    assert client.post(f"/api/admin/cards/{serial}/void", headers=admin, json={"reason": "lost"}).status_code == 200
    assert_error(redeem(client, shop.alice, serial, password, store_id=shop.store.id), 409, "card_void")


def test_channel_not_allowed(client, shop):
    (serial, password), = cards(shop, count=1, channels="pickup")
    err = assert_error(redeem(client, shop.alice, serial, password, fulfillment="delivery", address=ADDRESS,
                              store_id=shop.store.id), 409, "card_channel_not_allowed")
    assert err["details"] == {"channels": "pickup"}
    (serial, password), = cards(shop, count=1, channels="delivery")
    assert_error(redeem(client, shop.alice, serial, password, store_id=shop.store.id), 409,
                 "card_channel_not_allowed")
    assert card_row(serial).units_left == 1


def test_store_restriction(client, shop):
    (serial, password), = cards(shop, count=1, units=2, store=shop.store)
    err = assert_error(redeem(client, shop.alice, serial, password, store_id=shop.other.id), 409,
                       "card_store_not_allowed")
    assert err["details"] == {"store_id": shop.store.id}
    resp = redeem(client, shop.alice, serial, password)  # no store given: the card's own
    assert resp.status_code == 201 and resp.json["store_id"] == shop.store.id


def test_store_required_without_a_restriction(client, shop):
    (serial, password), = cards(shop, count=1)
    assert_error(redeem(client, shop.alice, serial, password), 400, "store_required")


def test_store_that_does_not_sell_it(client, shop):
    (serial, password), = cards(shop, count=1)
    empty = make_store()
    assert_error(redeem(client, shop.alice, serial, password, store_id=empty.id), 409, "not_for_sale")
    assert_error(redeem(client, shop.alice, serial, password, store_id=99999), 404, "not_found")
    closed = make_store(active=False)
    assert_error(redeem(client, shop.alice, serial, password, store_id=closed.id), 409, "store_closed")
    assert card_row(serial).units_left == 1 and orders_count() == 0


def test_out_of_stock_consumes_nothing(client, shop):
    (serial, password), = cards(shop, count=1, units=3, qty_per_unit=8)
    assert redeem(client, shop.alice, serial, password, store_id=shop.store.id, qty=2).status_code == 201
    err = assert_error(redeem(client, shop.alice, serial, password, store_id=shop.store.id), 409, "out_of_stock")
    assert err["details"]["sku_id"] == shop.sku.id
    card = card_row(serial)
    assert (card.status, card.units_left) == ("active", 1)
    assert orders_count() == 1 and held(shop.store, shop.sku) == 16
    assert db.session.scalar(select(func.count()).select_from(CardRedemption)) == 1
    assert check_ledger() == []


def test_a_failure_after_the_card_was_taken_undoes_everything(client, shop, monkeypatch):
    from app.errors import Conflict
    from models.orders import lifecycle

    def refuse(order):
        raise Conflict("late refusal")

    monkeypatch.setattr(lifecycle, "on_paid", refuse)
    (serial, password), = cards(shop, count=1)
    assert_error(redeem(client, shop.alice, serial, password, store_id=shop.store.id), 409, "conflict")
    card = card_row(serial)
    assert (card.status, card.units_left) == ("active", 1)
    assert orders_count() == 0 and held(shop.store, shop.sku) == 0
    assert check_ledger() == []


# --- wrong passwords: no oracle, lockout, rate limits -----------------------------------

def test_unknown_serial_and_wrong_password_answer_alike(client, shop):
    (serial, password), = cards(shop, count=1)
    wrong = redeem(client, shop.alice, serial, "0000000000000000", store_id=shop.store.id)
    unknown = redeem(client, shop.alice, "999999999999", password, store_id=shop.store.id)
    assert wrong.status_code == unknown.status_code == 400
    assert wrong.json == unknown.json
    assert wrong.json["error"]["code"] == "card_invalid"


def test_card_state_is_not_told_without_the_password(client, shop):
    (serial, password), = cards(shop, count=1)
    db.session.execute(update(CardBatch).values(valid_from=utcnow() - timedelta(days=60),
                                                valid_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    for bad in ("1111222233334444", password[:-1] + ("0" if password[-1] != "0" else "1")):
        assert_error(redeem(client, shop.alice, serial, bad, store_id=shop.store.id), 400, "card_invalid")
    (new_serial, _), = cards(shop, count=1, activate=False)
    assert_error(redeem(client, shop.alice, new_serial, "1111222233334444", store_id=shop.store.id),
                 400, "card_invalid")


def test_three_wrong_passwords_lock_the_card_until_a_manager_unlocks_it(client, app, shop):
    (serial, password), = cards(shop, count=1, store=shop.store)
    _, bob = make_shopper()
    for who in (shop.alice, bob, shop.alice):  # counted on the card, whoever tries
        assert_error(redeem(client, who, serial, "1234123412341234"), 400, "card_invalid")
    card = card_row(serial)
    assert card.failed_attempts == 3 and card.locked_at is not None
    # Locked: even the right password is refused, and a wrong one is answered the same.
    err = assert_error(redeem(client, shop.alice, serial, password), 423, "card_locked")
    assert "locked_at" in err["details"]
    assert_error(redeem(client, shop.alice, serial, "1234123412341234"), 423, "card_locked")
    alerts = [m.payload for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "staff_alert"))]
    assert alerts == [{"event": "card_locked", "card_id": card.id, "serial": serial, "store_id": shop.store.id}]

    # The review queue, per store; a clerk may not unlock, a manager of another store
    # doesn't see the card at all.
    from models.cards.lockout import locked_cards

    items = locked_cards([shop.store.id])
    assert [(i["kind"], i["ref"], i["store_id"], i["failed_attempts"]) for i in items] == [
        ("card", serial, shop.store.id, 3)]
    assert locked_cards([shop.other.id]) == [] and len(locked_cards(None)) == 1
    clerk = bearer(staff_token(client, make_staff("clerk", [shop.store])))
    assert_error(client.post(f"/api/staff/cards/{serial}/unlock", headers=clerk), 403, "forbidden")
    elsewhere = bearer(staff_token(client, make_staff("manager", [shop.other])))
    assert_error(client.post(f"/api/staff/cards/{serial}/unlock", headers=elsewhere), 404, "not_found")
    assert client.get("/api/staff/cards/locked", headers=elsewhere).json["items"] == []
    manager = bearer(staff_token(client, make_staff("manager", [shop.store])))
    listed = client.get("/api/staff/cards/locked", headers=manager).json["items"]
    assert [i["ref"] for i in listed] == [serial]
    # The pickup review queue carries it too (one queue at the counter), not elsewhere.
    queue = client.get("/api/staff/pickups/reviews", headers=manager).json["items"]
    assert [(i["kind"], i["ref"]) for i in queue] == [("card", serial)]
    assert client.get("/api/staff/pickups/reviews", headers=elsewhere).json["items"] == []
    resp = client.post(f"/api/staff/cards/{serial}/unlock", headers=manager)
    assert resp.status_code == 200 and resp.json["changed"] is True and resp.json["locked_at"] is None
    again = client.post(f"/api/staff/cards/{serial}/unlock", headers=manager)
    assert again.status_code == 200 and again.json["changed"] is False

    assert redeem(client, shop.alice, serial, password).status_code == 201
    audits = db.session.scalars(select(AuditLog).where(AuditLog.target_type == "cards")).all()
    assert [a.action for a in audits].count("card.wrong_password") == 3
    assert [a.action for a in audits].count("card.unlock") == 1
    assert all(password.replace(" ", "") not in str(a.changes) for a in audits)


def test_a_locked_card_answers_the_right_and_a_wrong_password_alike(client, app, shop):
    """Same status, code, body and work (statements sent, rows and counters touched): a
    locked card is no oracle for its password."""
    from sqlalchemy import event

    from app.extensions import rds

    def redis_state():  # the failure counters, whatever their shape
        return {key: rds().dump(key) for key in rds().keys("*")}

    (serial, password), = cards(shop, count=1, store=shop.store)
    for _ in range(3):
        assert_error(redeem(client, shop.alice, serial, "1234123412341234"), 400, "card_invalid")
    locked = card_row(serial)
    assert locked.locked_at is not None

    def attempt(pw):
        sent = []

        def record(conn, cursor, statement, *args):
            sent.append(statement.split()[0].upper())

        audits = db.session.scalar(select(func.count()).select_from(AuditLog))
        limits = redis_state()
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            resp = redeem(client, shop.alice, serial, pw)
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        db.session.expire_all()
        changed = (card_row(serial).failed_attempts,
                   db.session.scalar(select(func.count()).select_from(AuditLog)) - audits,
                   redis_state() == limits)
        return resp.status_code, resp.json, sent, changed

    right, wrong = attempt(password), attempt("9876987698769876")
    print("right password:", right[:2], "\nwrong password:", wrong[:2])
    assert right[0] == wrong[0] == 423
    assert right[1] == wrong[1] and right[1]["error"]["code"] == "card_locked"
    assert right[2] == wrong[2]  # the same statements, in the same order
    assert right[3] == wrong[3] == (3, 0, True)  # nothing counted, nothing audited


def test_the_right_password_starts_the_count_again(client, shop):
    (serial, password), = cards(shop, count=1, units=2)
    for _ in range(2):
        assert_error(redeem(client, shop.alice, serial, "1234123412341234", store_id=shop.store.id),
                     400, "card_invalid")
    assert redeem(client, shop.alice, serial, password, store_id=shop.store.id).status_code == 201
    assert card_row(serial).failed_attempts == 0
    assert_error(redeem(client, shop.alice, serial, "1234123412341234", store_id=shop.store.id),
                 400, "card_invalid")
    assert card_row(serial).locked_at is None


def test_each_shopper_gets_a_few_wrong_tries(client, app, shop, monkeypatch):
    monkeypatch.setitem(app.config, "CARD_REDEEM_MAX_FAILURES", 2)
    (serial, password), = cards(shop, count=1)
    for n in range(2):
        assert_error(redeem(client, shop.alice, f"12345678901{n}", password, store_id=shop.store.id),
                     400, "card_invalid")
    err = assert_error(redeem(client, shop.alice, serial, password, store_id=shop.store.id), 429, "rate_limited")
    assert err["details"]["retry_after_s"] > 0
    _, bob = make_shopper()
    assert redeem(client, bob, serial, password, store_id=shop.store.id, ip="10.0.0.2").status_code == 201


def test_one_address_gets_a_few_wrong_tries_across_shoppers(client, app, shop, monkeypatch):
    monkeypatch.setitem(app.config, "CARD_REDEEM_MAX_FAILURES_PER_IP", 3)
    (serial, password), = cards(shop, count=1)
    for n in range(3):
        _, someone = make_shopper()
        assert_error(redeem(client, someone, f"12345678901{n}", password, ip="10.9.9.9",
                            store_id=shop.store.id), 400, "card_invalid")
    _, fresh = make_shopper()
    assert_error(redeem(client, fresh, serial, password, ip="10.9.9.9", store_id=shop.store.id),
                 429, "rate_limited")
    assert redeem(client, fresh, serial, password, ip="10.9.9.10", store_id=shop.store.id).status_code == 201


def test_concurrent_wrong_passwords_stop_at_the_shopper_limit(app, shop, monkeypatch):
    # Thirty wrong passwords at once from one shopper (each from its own address): the
    # shopper's limit is taken before the password is checked, so only that many get that far.
    monkeypatch.setitem(app.config, "CARD_PASSWORD_ITERATIONS", 20_000)  # a check that takes a while
    (serial, _), = cards(shop, count=1)
    limit, store_id = app.config["CARD_REDEEM_MAX_FAILURES"], shop.store.id
    db.session.commit()  # this thread's read ends (on SQLite it holds the write lock)
    codes = run_threads(30, lambda i: redeem(app.test_client(), shop.alice, f"9{i:011d}", "1234123412341234",
                                             ip=f"10.3.0.{i}", store_id=store_id).status_code)
    assert Counter(codes) == {400: limit, 429: 30 - limit}


# --- bad input: 4xx with a stable code, never a 500 -------------------------------------

@pytest.mark.parametrize("change", [
    {"serial": None}, {"password": None}, {"fulfillment": None}, {"fulfillment": "drone"},
    {"qty": 0}, {"qty": "2"}, {"qty": 1000}, {"store_id": 0}, {"store_id": "1"}, {"serial": "ABC-123"},
    {"serial": ""}, {"password": ""}, {"password": "9" * 65}, {"evil": 1},
    {"fulfillment": "delivery"}, {"address": ADDRESS}, {"serial": 123456789012},
])
def test_bad_input(client, shop, change):
    body = {"serial": "000100001123", "password": "1234123412341234", "fulfillment": "pickup",
            "store_id": shop.store.id, **change}
    body = {k: v for k, v in body.items() if v is not None}
    resp = client.post("/api/cards/redeem", headers=shop.alice, json=body)
    assert_error(resp, 400, "invalid_request")


def test_redeem_needs_a_shopper(client, shop):
    body = {"serial": "000100001123", "password": "1234123412341234", "fulfillment": "pickup"}
    assert_error(client.post("/api/cards/redeem", json=body), 401, "unauthorized")
    staff = bearer(staff_token(client, make_staff("admin")))
    assert_error(client.post("/api/cards/redeem", headers=staff, json=body), 401, "unauthorized")


# --- looking a card up -----------------------------------------------------------------

def test_lookup_shows_what_is_left(client, shop):
    (serial, password), = cards(shop, count=1, units=3, qty_per_unit=2, channels="pickup")
    redeem(client, shop.alice, serial, password, store_id=shop.store.id)
    resp = client.post("/api/cards/lookup", headers=shop.alice, json={"serial": serial, "password": password})
    assert resp.status_code == 200, resp.json
    assert {k: resp.json[k] for k in ("state", "units_total", "units_left", "channels", "qty_per_unit",
                                      "name", "spec")} == {
        "state": "active", "units_total": 3, "units_left": 2, "channels": "pickup", "qty_per_unit": 2,
        "name": "广式月饼礼盒", "spec": "双黄莲蓉 6枚"}
    assert_error(client.post("/api/cards/lookup", headers=shop.alice,
                             json={"serial": serial, "password": "1234123412341234"}), 400, "card_invalid")
    db.session.execute(update(CardBatch).values(valid_from=utcnow() - timedelta(days=60),
                                                valid_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    resp = client.post("/api/cards/lookup", headers=shop.alice, json={"serial": serial, "password": password})
    assert resp.json["state"] == "expired"


# --- units back to the card ------------------------------------------------------------

def test_return_units_gives_units_back_once(client, shop):
    from models.cards.redemption import return_units

    (serial, password), = cards(shop, count=1, units=2, qty_per_unit=3)
    order_no = redeem(client, shop.alice, serial, password, store_id=shop.store.id, qty=2).json["order_no"]
    assert card_row(serial).status == "used_up"
    order = db.session.scalars(select(Order).where(Order.order_no == order_no)).one()
    assert return_units(order) is True
    db.session.commit()
    card = card_row(serial)
    assert (card.status, card.units_left, card.used_up_at) == ("active", 2, None)
    assert return_units(order) is False
    db.session.commit()
    assert card_row(serial).units_left == 2
    assert redeem(client, shop.alice, serial, password, store_id=shop.store.id).status_code == 201


def test_return_units_keeps_units_whose_goods_were_handed_over(client, shop):
    from models.cards.redemption import return_units

    (serial, password), = cards(shop, count=1, units=3, qty_per_unit=2)
    order_no = redeem(client, shop.alice, serial, password, store_id=shop.store.id, qty=3).json["order_no"]
    order = db.session.scalars(select(Order).where(Order.order_no == order_no)).one()
    db.session.execute(update(OrderItem).values(picked_up_qty=3))  # 1½ units collected
    db.session.commit()
    db.session.expire_all()
    assert return_units(order) is True
    db.session.commit()
    assert card_row(serial).units_left == 1
    redemption = db.session.scalars(select(CardRedemption)).one()
    assert redemption.returned_units == 1 and redemption.returned_at is not None


def test_return_units_ignores_shop_orders(client, shop):
    from models.cards.redemption import return_units

    resp = client.post("/api/orders", headers=shop.alice, json={
        "store_id": shop.store.id, "fulfillment": "pickup", "items": [{"sku_id": shop.sku.id, "qty": 1}]})
    order = db.session.scalars(select(Order).where(Order.order_no == resp.json["order_no"])).one()
    assert order.source == "shop" and return_units(order) is False


def test_no_password_in_any_table(client, shop):
    made = cards(shop, count=3)
    serial, password = made[0]
    redeem(client, shop.alice, serial, "1234123412341234", store_id=shop.store.id)
    redeem(client, shop.alice, serial, password, store_id=shop.store.id, key="k1")
    db.session.commit()
    dump = []
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            dump.extend(str(row) for row in conn.execute(text(f"SELECT * FROM {table.name}")))
    blob = "\n".join(dump)
    for _, pw in made:
        assert pw.replace(" ", "") not in blob and pw not in blob


def test_a_card_order_not_collected_in_time_gives_its_units_back(client, shop):
    """Pickup expiry of an order made from a card: nothing to refund, the stock goes back
    to the shelf and the units back to the card (the holder can redeem them again)."""
    from datetime import timedelta

    from sqlalchemy import update

    from models.payments.tables import Refund
    from models.pickup.expiry import sweep
    from tests.factories import mark_ready

    (serial, password), = cards(shop, count=1, units=1)
    order_no = redeem(client, shop.alice, serial, password, store_id=shop.store.id).json["order_no"]
    assert card_row(serial).status == "used_up"
    order = mark_ready(order_no)
    db.session.execute(update(Order).where(Order.id == order.id)
                       .values(pickup_deadline=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    assert sweep()["expired"] == 1
    db.session.commit()
    assert db.session.scalars(select(Order.status).where(Order.id == order.id)).one() == "pickup_expired"
    assert db.session.scalars(select(Refund)).all() == []
    card = card_row(serial)
    assert (card.status, card.units_left) == ("active", 1)
    assert redeem(client, shop.alice, serial, password, store_id=shop.store.id).status_code == 201
