"""A coupon and points at checkout, through the real paths: placed (payable exact, the
coupon locked, the points spent), cancelled (both come back), paid through the WeChat Pay
sandbox (the coupon used), refunded in full (coupon and points back, what the order
earned clawed back); a coupon never in a flash sale, never on two orders."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from models.growth import checkout, coupons, points
from models.growth.tables import Coupon, PointAccount
from models.orders.tables import Order, OrderItem
from tests.app.test_errors import assert_error
from tests.factories import admin_headers
from tests.factories import make_product, make_shopper, make_store, stock
from tests.models.payments.test_payments import eventually, notifications, order_row, sb


@pytest.fixture
def shop(app, live):
    """(store_id, sku_id, shopper headers, shopper id): a ¥128 SKU, 20 in stock."""
    with app.app_context():
        store = make_store()
        sku = make_product("月饼", skus=[("6枚", 12800)]).skus[0]
        stock(store, sku, 20)
        user, headers = make_shopper()
        return store.id, sku.id, headers, user.id


def coupon_for(app, client, headers, **over) -> int:
    with app.app_context():
        template = coupons.create_template(None, {"name": "立减10元", "kind": "fixed", "amount_fen": 1000,
                                                  "valid_days": 30, **over})
        db.session.commit()
        template_id = template.id
    resp = client.post(f"/api/coupons/{template_id}/claim", headers=headers)
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


def admin(app, client) -> dict:
    with app.app_context():
        return admin_headers(client)


def give_points(app, client, user_id: int, amount: int, key: str) -> None:
    resp = client.post("/api/admin/points/grants", headers={**admin(app, client), "Idempotency-Key": key},
                       json={"user_id": user_id, "points": amount})
    assert resp.status_code == 201, resp.json


def order(client, shop, qty=2, **extra):
    store_id, sku_id, headers, _ = shop
    return client.post("/api/orders", headers=headers, json={
        "store_id": store_id, "fulfillment": "pickup", "items": [{"sku_id": sku_id, "qty": qty}], **extra})


def state(app, coupon_id, user_id):
    with app.app_context():
        coupon = db.session.get(Coupon, coupon_id)
        return coupon.status, coupon.order_id, points.spendable(user_id)


def test_a_coupon_and_points_through_the_life_of_an_order(app, client, sandbox, shop):
    user_id = shop[3]
    coupon_id = coupon_for(app, client, shop[2])
    give_points(app, client, user_id, 1000, "start")

    # More points than the shopper has: refused, nothing written.
    assert_error(order(client, shop, coupon_id=coupon_id, points=5000), 409, "points_insufficient")
    assert state(app, coupon_id, user_id) == ("available", None, 1000)

    placed = order(client, shop, coupon_id=coupon_id, points=1050)  # whole hundreds: 1000 used
    assert placed.status_code == 201, placed.json
    body = placed.json
    assert (body["total_fen"], body["coupon_discount_fen"], body["points_used"], body["points_discount_fen"]) == \
        (25600, 1000, 1000, 1000)
    assert body["payable_fen"] == 25600 - 2000 and sum(i["discount_fen"] for i in body["items"]) == 2000
    first = body["order_no"]
    assert state(app, coupon_id, user_id)[:2] == ("locked", _order_id(app, first))
    assert state(app, coupon_id, user_id)[2] == 0
    # The same coupon on a second order at once: refused while the first holds it.
    assert_error(order(client, shop, coupon_id=coupon_id), 422, "coupon_not_applicable")

    # Cancelled unpaid: both come back.
    assert client.post(f"/api/orders/{first}/cancel", headers=shop[2], json={}).status_code == 200
    assert state(app, coupon_id, user_id) == ("available", None, 1000)

    # Again, paid through the sandbox: the coupon is used.
    second = order(client, shop, coupon_id=coupon_id, points=1000).json["order_no"]
    sb(sandbox, "POST", "/_/pay/request-payment", json=client.post(f"/api/orders/{second}/pay", headers=shop[2]).json)
    notifications(sandbox, second)
    assert order_row(app, second).status == "paid"
    assert state(app, coupon_id, user_id)[:2] == ("used", _order_id(app, second))
    with app.app_context():  # the paid amount is what WeChat Pay charged: the payable
        assert order_row(app, second).payable_fen == 23600

    # Refunded in full: the coupon (still valid) and the points come back.
    refund = client.post(f"/api/staff/orders/{second}/refunds", json={"amount_fen": 23600, "reason": "顾客要求"},
                         headers={**admin(app, client), "Idempotency-Key": "full"})
    assert refund.status_code == 201, refund.json
    sb(sandbox, "POST", f"/_/pay/refunds/{refund.json['out_refund_no']}/finish", json={"status": "SUCCESS"})
    notifications(sandbox, second)
    eventually(app, lambda: order_row(app, second).status == "refunded")
    assert state(app, coupon_id, user_id) == ("available", None, 1000)
    with app.app_context():
        account = db.session.get(PointAccount, user_id)
        assert (account.balance, account.debt) == (1000, 0)


def test_a_coupon_is_never_used_in_a_flash_sale_nor_with_points_when_it_does_not_stack(app, client, shop):
    user_id = shop[3]
    alone = coupon_for(app, client, shop[2], stack_with_points=False)
    give_points(app, client, user_id, 500, "p")
    refused = assert_error(order(client, shop, coupon_id=alone, points=500), 422, "coupon_not_applicable")
    assert refused["details"]["reason"] == "not_with_points"
    with app.app_context():
        coupon = db.session.get(Coupon, alone)
        try:
            checkout.plan(user_id, shop[0], [(shop[1], 1, 12800)], coupon_id=coupon.id, points_offered=0, flash=True)
            raise AssertionError("a coupon applied in a flash sale")
        except coupons.CouponNotApplicable as exc:
            assert exc.details["reason"] == "flash_sale"
    # Another shopper's coupon looks like none.
    with app.app_context():
        _, stranger = make_shopper()
    store_id, sku_id, _, _ = shop
    resp = client.post("/api/orders", headers=stranger, json={
        "store_id": store_id, "fulfillment": "pickup", "items": [{"sku_id": sku_id, "qty": 1}], "coupon_id": alone})
    assert_error(resp, 404, "not_found")


def test_line_discounts_add_up_for_an_order_of_several_lines(app, client, ctx):
    store = make_store()
    skus = make_product("礼盒", skus=[("大", 9900), ("中", 4900), ("小", 1)]).skus
    for sku in skus:
        stock(store, sku, 10)
    user, headers = make_shopper()
    store_id, sku_ids, user_id = store.id, [s.id for s in skus], user.id
    db.session.commit()  # nothing left open here while the helpers use contexts of their own (SQLite)
    coupon_id = coupon_for(app, client, headers, kind="percent", amount_fen=0, percent_off=33, cap_fen=5000)
    give_points(app, client, user_id, 10_000, "many")
    resp = client.post("/api/orders", headers=headers, json={
        "store_id": store_id, "fulfillment": "pickup", "coupon_id": coupon_id, "points": 10_000,
        "items": [{"sku_id": sku_ids[0], "qty": 1}, {"sku_id": sku_ids[1], "qty": 3}, {"sku_id": sku_ids[2], "qty": 7}]})
    assert resp.status_code == 201, resp.json
    body = resp.json
    total = 9900 + 3 * 4900 + 7
    assert body["coupon_discount_fen"] == min(total * 33 // 100, 5000)  # capped
    assert body["payable_fen"] == total - body["coupon_discount_fen"] - body["points_discount_fen"] >= 1
    assert sum(i["discount_fen"] for i in body["items"]) == body["coupon_discount_fen"] + body["points_discount_fen"]
    assert all(0 <= i["discount_fen"] <= i["price_fen"] * i["qty"] for i in body["items"])
    stored = db.session.scalars(select(OrderItem.discount_fen).join(Order).where(Order.order_no == body["order_no"]))
    assert sorted(stored) == sorted(i["discount_fen"] for i in body["items"])


def _order_id(app, order_no) -> int:
    return order_row(app, order_no).id


def test_one_coupon_raced_to_six_orders_is_on_one_and_the_rest_leave_nothing(app, client, shop):
    """Six orders at once with the same coupon and points: the coupon's guarded update goes
    in each placement's batch; one order wins, the others roll back whole — no order, no
    stock held, no points spent, the winner's points spent once."""
    from models.orders.tables import Order as OrderRow
    from models.stock.tables import Inventory
    from tests.models.orders.test_concurrency import run_threads

    store_id, sku_id, headers, user_id = shop
    coupon_id = coupon_for(app, client, headers)
    give_points(app, client, user_id, 1000, "race")
    body = {"store_id": store_id, "fulfillment": "pickup", "items": [{"sku_id": sku_id, "qty": 1}],
            "coupon_id": coupon_id, "points": 100}

    def place(_):
        resp = app.test_client().post("/api/orders", headers=headers, json=body)
        return resp.status_code, (resp.json or {}).get("error", {}).get("code")

    results = run_threads(6, place)
    assert [r[0] for r in results].count(201) == 1, results
    # Refused when read as taken (422), or when its guarded update lost (409).
    assert {r for r in results if r[0] != 201} <= {(409, "conflict"), (422, "coupon_not_applicable")}, results
    with app.app_context():
        [won] = db.session.scalars(select(OrderRow)).all()
        assert (won.coupon_id, won.points_used, won.payable_fen) == (coupon_id, 100, 12800 - 1000 - 100)
        inv = db.session.scalars(select(Inventory).where(Inventory.store_id == store_id,
                                                         Inventory.sku_id == sku_id)).one()
        assert inv.reserved == 1
        assert db.session.get(PointAccount, user_id).balance == 900
    assert state(app, coupon_id, user_id)[:2] == ("locked", won.id)


def test_a_member_price_comes_off_after_the_coupon_and_before_points(app, client, shop):
    """A level's member price: its percentage of what each line still costs after the
    coupon, rounded down per line; points then take from what is left; the parts add up
    and each line's paid share includes them. Without a coupon the price still applies;
    a shopper without the level pays in full."""
    from models.growth import levels
    from models.growth.tables import Member

    store_id, sku_id, headers, user_id = shop
    with app.app_context():
        gold = levels.create_level(None, name="金卡", min_spend_fen=0, discount_percent=7)
        db.session.add(Member(user_id=user_id, level_id=gold.id, spend_12m_fen=0))
        db.session.commit()
    coupon_id = coupon_for(app, client, headers)
    give_points(app, client, user_id, 1000, "member")
    resp = order(client, shop, qty=3, coupon_id=coupon_id, points=300)
    assert resp.status_code == 201, resp.json
    body = resp.json
    # 3 × ¥128 = 38400; coupon 1000 → 37400; 7 % of it, rounded down: 2618; points ¥3 → 300.
    assert (body["coupon_discount_fen"], body["level_discount_fen"], body["points_discount_fen"]) == (1000, 2618, 300)
    assert body["payable_fen"] == 38400 - 1000 - 2618 - 300
    with app.app_context():
        placed = db.session.scalars(select(Order).where(Order.order_no == body["order_no"])).one()
        items = db.session.scalars(select(OrderItem).where(OrderItem.order_id == placed.id)).all()
        assert sum(i.discount_fen for i in items) == 1000 + 2618 + 300
        assert sum(i.paid_share_fen for i in items) == placed.payable_fen
    plain = order(client, shop, qty=1).json
    assert (plain["level_discount_fen"], plain["payable_fen"]) == (896, 12800 - 896)  # 7 % of 12800
    with app.app_context():
        _, other = make_shopper()
    store_id, sku_id, _, _ = shop
    stranger = client.post("/api/orders", headers=other, json={
        "store_id": store_id, "fulfillment": "pickup", "items": [{"sku_id": sku_id, "qty": 1}]}).json
    assert (stranger["level_discount_fen"], stranger["payable_fen"]) == (0, 12800)
