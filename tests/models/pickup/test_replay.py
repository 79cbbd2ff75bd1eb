"""A verify sent again with its Idempotency-Key gets its first answer and hands nothing
over twice (models/pickup/replay.py) — the counter resends after a lost response."""
from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from models.pickup.tables import PickupVerification
from models.stock.tables import Inventory
from tests.app.test_errors import assert_error
from tests.models.orders.test_concurrency import run_threads
from tests.models.pickup.support import make_counter, order_row, ready_order, shown
from tests.models.pickup.test_races import clerks


def verify(client, headers, key=None, **body):
    extra = {"Idempotency-Key": key} if key else {}
    return client.post("/api/staff/pickups/verify", headers={**headers, "X-Device-Id": "till-1", **extra},
                       json=body)


def on_hand(sku) -> int:
    db.session.expire_all()
    sku_id = sku if isinstance(sku, int) else sku.id
    return db.session.scalars(select(Inventory.on_hand).where(Inventory.sku_id == sku_id)).one()


def hand_overs() -> int:
    return db.session.scalar(select(func.count()).select_from(PickupVerification))


def test_a_partial_verify_sent_again_hands_over_once(client, ctx):
    c = make_counter(client)
    order_no = ready_order(client, c, (c.skus[0], 3))
    code = shown(client, c, order_no)["code"]
    body = {"code": code, "items": [{"sku_id": c.skus[0].id, "qty": 1}]}
    first = verify(client, c.clerk, "tap-1", **body)
    assert first.status_code == 200, first.json
    again = verify(client, c.clerk, "tap-1", **body)
    assert again.status_code == 200 and again.json == first.json
    assert on_hand(c.skus[0]) == 49 and hand_overs() == 1
    # Without a key (or with a new one) the same body is a new hand-over, as before.
    assert verify(client, c.clerk, "tap-2", **body).status_code == 200
    assert on_hand(c.skus[0]) == 48 and hand_overs() == 2


def test_the_last_verify_sent_again_gets_its_answer_not_a_refusal(client, ctx):
    c = make_counter(client)
    order_no = ready_order(client, c, (c.skus[0], 2))
    code = shown(client, c, order_no)["code"]
    first = verify(client, c.clerk, "final", code=code)
    assert first.status_code == 200 and first.json["status"] == "picked_up"
    again = verify(client, c.clerk, "final", code=code)
    assert again.status_code == 200 and again.json == first.json
    assert_error(verify(client, c.clerk, code=code), 409, "already_picked_up")  # no key: told it is done
    assert on_hand(c.skus[0]) == 48 and hand_overs() == 1


def test_a_key_with_another_body_is_refused(client, ctx):
    c = make_counter(client)
    order_no = ready_order(client, c, (c.skus[0], 3))
    code = shown(client, c, order_no)["code"]
    assert verify(client, c.clerk, "k", code=code, items=[{"sku_id": c.skus[0].id, "qty": 1}]).status_code == 200
    assert_error(verify(client, c.clerk, "k", code=code, items=[{"sku_id": c.skus[0].id, "qty": 2}]),
                 422, "idempotency_key_reused")
    assert on_hand(c.skus[0]) == 49


def test_a_refused_verify_is_done_when_sent_again_once_it_can_be(client, ctx):
    c = make_counter(client)
    order_no = ready_order(client, c, (c.skus[0], 1))
    code = shown(client, c, order_no)["code"]
    for _ in range(3):  # wrong codes typed with the order open lock its code
        verify(client, c.clerk, order_no=order_no, code="000000000000")
    assert_error(verify(client, c.clerk, "after-lock", code=code), 423, "pickup_locked")
    unlocked = client.post(f"/api/staff/pickups/orders/{order_no}/unlock", headers=c.manager,
                           json={"note": "checked the customer's ID"})
    assert unlocked.status_code == 200, unlocked.json
    resp = verify(client, c.clerk, "after-lock", code=code)
    assert resp.status_code == 200 and resp.json["status"] == "picked_up"
    assert order_row(order_no).status == "picked_up" and hand_overs() == 1


def test_the_same_partial_verify_sent_at_once_hands_over_once(app):
    client = app.test_client()
    with app.app_context():
        c = make_counter(client)
        order_no = ready_order(client, c, (c.skus[0], 5))
        code = shown(client, c, order_no)["code"]
        sku_id, till = c.skus[0].id, clerks(client, c.store, 1)[0]
    body = {"code": code, "items": [{"sku_id": sku_id, "qty": 2}]}

    def send(i):
        resp = verify(app.test_client(), till, "double-tap", **body)
        return resp.status_code, resp.get_json()

    results = run_threads(6, send)
    assert [status for status, _ in results] == [200] * 6, results
    assert all(answer == results[0][1] for _, answer in results)
    with app.app_context():
        assert on_hand(sku_id) == 48 and hand_overs() == 1
        assert order_row(order_no).status == "ready_for_pickup"
