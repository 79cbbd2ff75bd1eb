"""The orders page and the review queue's actions in Chromium: an order found by its
number and partly refunded (one refund of exactly that many fen, however often the click
or the request is repeated); an order found by the last 4 digits of its buyer's phone,
with its payment and pickup rows; a delivery shipped and delivered from a clerk's phone;
and a manager unlocking a locked pickup code (the code verifies again) — checked in the
database and through the API, not only on the page."""
from __future__ import annotations

import os
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import requests
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from models.payments.tables import Refund
from tests.console.conftest import SCREENSHOTS
from tests.console.test_counter import sign_in
from models.payments.tables import Payment
from models.users import bind_phone
from tests.factories import (bearer, make_product, make_shopper, make_staff, make_store, mark_paid, mark_ready,
                             staff_token, stock)
from tests.models.orders.test_placement import ADDRESS
from tests.models.orders.test_staff_view import paid_through_wechat
from tests.models.pickup.support import make_counter, order_row, place, ready_order, shown, verify

WRONG = "000000000000"


def paid_order(client, sandbox, qty=2):
    """A pickup order paid through the WeChat Pay sandbox (a real payment row to refund)."""
    store = make_store()
    sku = make_product("月饼", skus=[("6枚", 12800)]).skus[0]
    stock(store, sku, 20)
    _, shopper = make_shopper()
    resp = client.post("/api/orders", headers=shopper, json={
        "store_id": store.id, "fulfillment": "pickup", "items": [{"sku_id": sku.id, "qty": qty}]})
    assert resp.status_code == 201, resp.json
    order_no = resp.json["order_no"]
    pay = client.post(f"/api/orders/{order_no}/pay", headers=shopper).json
    requests.post(f"{sandbox.base_url}/_/pay/request-payment", json=pay, timeout=10)
    requests.get(f"{sandbox.base_url}/_/pay/notifications", params={"out_trade_no": order_no, "wait": 5},
                 timeout=15)
    assert order_row(order_no).status == "paid"
    return store, order_no


def refunds_of(order_no):
    db.session.expire_all()
    order_id = order_row(order_no).id
    return db.session.scalars(select(Refund).where(Refund.order_id == order_id)).all()


def test_an_order_found_by_number_and_refunded_once(client, ctx, sandbox, desk):
    store, order_no = paid_order(client, sandbox)
    manager = make_staff("manager", [store])
    sign_in(desk, manager.username)
    expect(desk).to_have_url(re.compile(r"/console/dashboard$"))

    # The menu's 订单 (no longer "coming soon"): the store's list has the order.
    desk.locator("aside .el-menu-item", has_text="订单").click()
    expect(desk).to_have_url(re.compile(r"/console/orders$"))
    expect(desk.get_by_role("link", name=order_no)).to_be_visible()

    # Found by its number, opened: items and amounts in yuan from integer fen.
    box = desk.locator("#order-search")
    box.fill(order_no)
    box.press("Enter")
    expect(desk).to_have_url(re.compile(rf"/console/orders/{order_no}$"))
    expect(desk.get_by_text("¥256.00").first).to_be_visible()
    expect(desk.get_by_text("已支付").first).to_be_visible()

    # The first request reaches the server but its answer is lost on the way back.
    keys = []

    def lose_first_answer(route):
        keys.append(route.request.headers.get("idempotency-key"))
        if len(keys) == 1:
            route.fetch()  # the server makes the refund...
            route.abort()  # ...the page never hears of it
        else:
            route.continue_()

    desk.route("**/api/staff/orders/*/refunds", lose_first_answer)

    desk.get_by_role("button", name="退款", exact=True).click()
    desk.locator("#refund-amount").fill("56.3")
    desk.locator("#refund-reason").fill("少一盒")
    desk.get_by_role("button", name="下一步").click()
    dialog = desk.get_by_role("dialog")
    expect(dialog).to_contain_text("将向顾客退款 ¥56.30")
    desk.get_by_role("button", name="确认退款 ¥56.30").dblclick()  # a double click sends one request
    expect(dialog.get_by_role("alert")).to_contain_text("退款结果未知")
    assert len(keys) == 1
    assert [r.amount_fen for r in refunds_of(order_no)] == [5630]  # made, though unheard of

    # The retry sends the same request with the same key: the server answers the same refund.
    desk.get_by_role("button", name="重试").click()
    expect(desk.get_by_role("status")).to_contain_text("已提交退款 ¥56.30")
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0]
    (refund,) = refunds_of(order_no)
    assert refund.amount_fen == 5630 and refund.reason == "少一盒" and refund.requested_by == manager.id
    expect(desk.locator(".refunds")).to_contain_text(refund.out_refund_no)
    if os.environ.get("UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(exist_ok=True)
        desk.screenshot(path=str(SCREENSHOTS / "order.png"), full_page=True)

    # The API with the page's key again: still the one refund.
    again = desk.request.post(f"/api/staff/orders/{order_no}/refunds", headers={
        "Idempotency-Key": keys[0], "X-CSRF-Token": desk.request.get("/api/console/session").json()["csrf_token"]},
        data={"amount_fen": 5630, "reason": "少一盒"})
    assert again.status == 201 and again.json()["out_refund_no"] == refund.out_refund_no
    assert len(refunds_of(order_no)) == 1
    assert order_row(order_no).status == "paid"  # a part refunded: the order goes on


def test_a_refund_over_what_was_paid_is_refused_in_plain_words(client, ctx, sandbox, desk):
    store, order_no = paid_order(client, sandbox, qty=1)
    sign_in(desk, make_staff("admin").username)
    expect(desk).to_have_url(re.compile(r"/console/dashboard$"))
    desk.goto(f"/console/orders/{order_no}")
    desk.get_by_role("button", name="退款", exact=True).click()
    desk.locator("#refund-amount").fill("128.01")  # one fen more than paid
    expect(desk.get_by_text("退款金额不能超过可退金额 ¥128.00")).to_be_visible()
    assert refunds_of(order_no) == []


def test_an_order_found_by_the_buyers_last_four_digits_shows_its_payment_and_pickups(client, ctx, sandbox, desk):
    c = make_counter(client)
    first, second = c.skus
    bind_phone(c.user, {"purePhoneNumber": "13812345678", "countryCode": "86"})
    db.session.commit()
    order_no = paid_through_wechat(client, sandbox, c, (first, 2), (second, 1))
    mark_ready(order_no)
    counter_clerk = make_staff("clerk", [c.store], display_name="王小丽")
    handed = verify(client, bearer(staff_token(client, counter_clerk)), code=shown(client, c, order_no)["code"],
                    items=[{"sku_id": first.id, "qty": 1}])
    assert handed.status_code == 200, handed.json
    other_user, other = make_shopper()  # another buyer, another tail: not found by 5678
    bind_phone(other_user, {"purePhoneNumber": "13900001111", "countryCode": "86"})
    db.session.commit()
    not_theirs = place(client, c, (first, 1), headers=other)

    sign_in(desk, make_staff("manager", [c.store]).username)
    expect(desk).to_have_url(re.compile(r"/console/dashboard$"))
    desk.goto("/console/orders")
    expect(desk.locator(f"tr[data-order='{not_theirs}']")).to_be_visible()
    box = desk.locator("#order-search")
    box.fill("5678")
    box.press("Enter")
    expect(desk.get_by_text("手机尾号 5678 的订单")).to_be_visible()
    row = desk.locator(f"tr[data-order='{order_no}']")
    expect(row).to_contain_text("138****5678")
    expect(desk.locator(f"tr[data-order='{not_theirs}']")).to_have_count(0)
    expect(desk.locator("table.list tbody tr")).to_have_count(1)

    # Days are Asia/Shanghai days: placed today, so not among orders up to yesterday.
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    until = desk.locator("#order-to")
    until.fill((today - timedelta(days=1)).isoformat())
    until.press("Enter")
    expect(row).to_have_count(0)
    until.fill(today.isoformat())
    until.press("Enter")
    expect(row).to_be_visible()

    row.get_by_role("link", name=order_no).click()
    expect(desk).to_have_url(re.compile(rf"/console/orders/{order_no}$"))
    tx = db.session.scalars(select(Payment.transaction_id).where(Payment.out_trade_no == order_no)).one()
    payments = desk.locator(".payments")
    expect(payments).to_contain_text("¥354.00")  # 2 × 128.00 + 98.00, from integer fen
    expect(payments).to_contain_text("已支付")
    expect(payments).to_contain_text(f"{tx[:4]}****{tx[-6:]}")
    pickups = desk.locator(".pickups")
    expect(pickups).to_contain_text("王小丽")
    expect(pickups).to_contain_text("月饼 双黄 6枚 ×1")
    expect(pickups).to_contain_text("部分提货")
    expect(desk.locator(".refunds .refundable")).to_contain_text("¥354.00")
    if os.environ.get("UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(exist_ok=True)
        desk.screenshot(path=str(SCREENSHOTS / "order-detail.png"), full_page=True)


def test_a_clerk_ships_a_delivery_and_marks_it_delivered_from_a_phone(client, ctx, phone):
    store = make_store()
    sku = make_product("大米", skus=[("5kg", 8900)]).skus[0]
    stock(store, sku, 10)
    _, shopper = make_shopper()
    resp = client.post("/api/orders", headers=shopper, json={
        "store_id": store.id, "fulfillment": "delivery", "address": ADDRESS, "items": [{"sku_id": sku.id, "qty": 1}]})
    assert resp.status_code == 201, resp.json
    order_no = resp.json["order_no"]
    mark_paid(order_no)

    sign_in(phone, make_staff("clerk", [store]).username)
    expect(phone).to_have_url(re.compile(r"/console/counter$"))
    phone.goto("/console/orders")
    phone.locator("#order-search").fill(order_no)
    phone.locator("#order-search").press("Enter")  # one order by its number: opened
    expect(phone).to_have_url(re.compile(rf"/console/orders/{order_no}$"))

    phone.get_by_role("button", name="发货", exact=True).click()
    dialog = phone.get_by_role("dialog")
    dialog.locator("#ship-carrier").fill("中通快递")
    dialog.locator("#ship-tracking").fill("ZT7300012345")
    dialog.get_by_role("button", name="确认发货").click()
    expect(phone.get_by_role("status")).to_contain_text("操作成功")
    expect(phone.locator(".head")).to_contain_text("已发货")
    shipped = order_row(order_no)
    assert (shipped.status, shipped.carrier, shipped.tracking_no) == ("shipped", "中通快递", "ZT7300012345")

    phone.get_by_role("button", name="确认送达").click()
    phone.get_by_role("dialog").get_by_role("button", name="确认送达").click()
    expect(phone.locator(".head")).to_contain_text("已送达")
    timeline = phone.locator(".timeline")
    expect(timeline).to_contain_text("已支付 → 已发货")
    expect(timeline).to_contain_text("已发货 → 已送达")
    assert order_row(order_no).status == "delivered"
    facts = phone.locator(".facts")
    expect(facts).to_contain_text("中通快递")
    expect(facts).to_contain_text("ZT7300012345")


def test_a_manager_unlocks_a_locked_code_and_it_verifies_again(client, ctx, desk):
    c = make_counter(client)
    order_no = ready_order(client, c, (c.skus[0], 1))
    code = shown(client, c, order_no)["code"]
    for _ in range(3):  # three wrong codes with the order open: locked
        assert verify(client, c.clerk, order_no=order_no, code=WRONG).status_code == 400
    assert verify(client, c.clerk, code=code).json["error"]["code"] == "pickup_locked"

    manager = make_staff("manager", [c.store])
    sign_in(desk, manager.username)
    expect(desk).to_have_url(re.compile(r"/console/dashboard$"))
    desk.goto("/console/queues/reviews")
    row = desk.locator(f"tr[data-order='{order_no}']")
    expect(row).to_contain_text("3")
    row.get_by_role("button", name="解锁").click()
    desk.locator("#review-note").fill("核对了身份证")
    desk.get_by_role("dialog").get_by_role("button", name="确认").click()
    expect(desk.get_by_role("status")).to_contain_text(f"已解锁 {order_no}")
    expect(row).to_have_count(0)  # off the queue

    reviews = client.get("/api/staff/pickups/reviews", headers=c.manager).json["items"]
    assert reviews == []
    resp = verify(client, c.clerk, code=code)
    assert resp.status_code == 200, resp.json
    assert order_row(order_no).status == "picked_up"


def test_priority_orders_come_first_in_the_clerks_paid_list(client, ctx, sandbox, desk):
    """A shopper on a visit streak's priority pickup pays an order: the payment fixes the
    priority on it, and the clerk's list of paid orders shows it first, marked 优先, above a
    newer order without it."""
    from models.base import utcnow
    from models.growth.tables import Streak

    store = make_store()
    sku = make_product("月饼", skus=[("6枚", 12800)]).skus[0]
    stock(store, sku, 20)
    clerk = make_staff("clerk", [store])
    placed = []
    for streak in (True, False):  # the priority order first, so it is the older one
        user, shopper = make_shopper()
        if streak:
            db.session.add(Streak(user_id=user.id, last_day=utcnow().date(), length=7, best=7, rewards=1,
                                  priority_until=utcnow() + timedelta(days=3), updated_at=utcnow()))
            db.session.commit()
        resp = client.post("/api/orders", headers=shopper, json={
            "store_id": store.id, "fulfillment": "pickup", "items": [{"sku_id": sku.id, "qty": 1}]})
        order_no = resp.json["order_no"]
        pay = client.post(f"/api/orders/{order_no}/pay", headers=shopper).json
        requests.post(f"{sandbox.base_url}/_/pay/request-payment", json=pay, timeout=10)
        requests.get(f"{sandbox.base_url}/_/pay/notifications", params={"out_trade_no": order_no, "wait": 5},
                     timeout=15)
        assert order_row(order_no).status == "paid"
        placed.append(order_no)
    urgent, plain = placed
    assert (order_row(urgent).priority, order_row(plain).priority) == (True, False)

    sign_in(desk, clerk.username)
    expect(desk).to_have_url(re.compile(r"/console/(dashboard|counter)$"))
    desk.goto("/console/orders")
    rows = desk.locator("tr[data-order]")
    expect(rows).to_have_count(2)
    expect(rows.first).to_have_attribute("data-order", plain)  # every status: newest first
    desk.locator(".status-select").click()
    desk.locator(".el-select-dropdown__item", has_text="已支付").click()
    expect(rows.first).to_have_attribute("data-order", urgent)
    expect(rows.first.locator(".priority-tag")).to_have_text("优先")
    expect(rows.nth(1)).to_have_attribute("data-order", plain)
    expect(rows.nth(1).locator(".priority-tag")).to_have_count(0)
