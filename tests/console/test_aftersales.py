"""A manager works the after-sales queue in the console: approves a refund-only request,
and receives a returned parcel saying how many units can be sold again."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from app.extensions import db
from models.stores import Store
from tests.console.test_counter import sign_in
from tests.factories import make_staff
from tests.models.aftersales.support import ask, on_hand, picked_up, refund_of, sale, shop  # noqa: F401 (fixture)


def test_a_manager_approves_and_receives_from_the_queue(app, client, sandbox, shop, desk):
    order_no = picked_up(app, client, sandbox, shop, qty=3)
    refund_only = ask(client, shop, order_no, qty=1)["after_sale_no"]
    returned = ask(client, shop, order_no, kind="return_refund", qty=2)["after_sale_no"]
    client.post(f"/api/staff/aftersales/{returned}/approve", headers=shop.manager, json={})
    client.post(f"/api/aftersales/{returned}/return-shipment", headers=shop.shopper,
                json={"carrier": "SF", "tracking_no": "SF1234567890"})
    before = on_hand(app, shop)
    with app.app_context():
        username = make_staff("manager", [db.session.get(Store, shop.store_id)]).username

    sign_in(desk, username)
    expect(desk).to_have_url(re.compile(r"/console/dashboard$"))
    desk.goto("/console/aftersales")
    row = desk.locator("tr", has_text=refund_only)
    expect(row).to_contain_text("待处理")
    row.get_by_role("button", name="查看").click()
    desk.locator(".do-approve").click()
    desk.locator(".do-confirm").click()
    expect(desk.get_by_text(f"售后 {refund_only} 已批准")).to_be_visible()
    expect(desk.locator(".detail-status")).to_have_text("退款中")
    desk.keyboard.press("Escape")

    desk.locator("tr", has_text=returned).get_by_role("button", name="查看").click()
    desk.locator(".do-receive").click()
    desk.locator(".received input").fill("2")
    desk.locator(".resellable input").fill("1")
    desk.locator(".do-confirm").click()
    expect(desk.get_by_text(f"售后 {returned} 已收货")).to_be_visible()

    assert sale(app, refund_only).status == "refunding"
    assert sale(app, returned).status == "refunding"
    assert on_hand(app, shop) == (before[0] + 1, before[1])  # only the resellable unit is back
    assert refund_of(app, returned).amount_fen == 2 * 12800
