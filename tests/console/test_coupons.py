"""The Coupons page in Chromium: an admin creates a 满减 coupon in yuan (stored in fen), a
shopper claims it through the API and the page shows the count, the admin stops claims,
and gives a shopper points once however often the dialog's button is pressed."""
from __future__ import annotations

import os
import re

from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from models.growth.tables import CouponTemplate, PointLot
from tests.console.conftest import SCREENSHOTS
from tests.console.test_counter import sign_in
from tests.factories import make_shopper, make_staff


def test_an_admin_creates_a_coupon_sees_it_claimed_and_stops_claims(client, ctx, desk):
    admin = make_staff("admin")
    sign_in(desk, admin.username)
    desk.get_by_role("menuitem", name="优惠券与积分", exact=True).click()
    expect(desk).to_have_url(re.compile(r"/console/coupons$"))

    desk.get_by_test_id("new-coupon").click()
    dialog = desk.get_by_role("dialog")
    dialog.locator("input[name=coupon-name]").fill("满100减20")
    dialog.locator("input[name=coupon-amount]").fill("20")
    dialog.locator("input[name=coupon-min-spend]").fill("10")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_contain_text("满减券的门槛须高于减免金额")  # checked before it is sent
    dialog.locator("input[name=coupon-min-spend]").fill("100")
    dialog.get_by_role("button", name="保存").click()
    row = desk.locator("tr[data-template='满100减20']")
    expect(row).to_contain_text("满 ¥100.00 减 ¥20.00")
    db.session.expire_all()
    made = db.session.scalars(select(CouponTemplate).where(CouponTemplate.name == "满100减20")).one()
    assert (made.kind, made.amount_fen, made.min_spend_fen, made.valid_days) == ("threshold", 2000, 10000, 30)

    _, shopper = make_shopper()
    assert client.post(f"/api/coupons/{made.id}/claim", headers=shopper).status_code == 201
    desk.get_by_role("button", name="刷新").click()
    expect(row).to_contain_text("1 / 不限")
    if os.environ.get("UPDATE_SCREENSHOTS"):
        desk.screenshot(path=str(SCREENSHOTS / "coupons.png"), full_page=True)

    row.get_by_role("button", name="停止领取").click()
    expect(row.get_by_role("button", name="开放领取")).to_be_visible()
    assert client.post(f"/api/coupons/{made.id}/claim", headers=make_shopper()[1]).status_code == 404

    # Points: the same dialog sent twice is one grant.
    user, _ = make_shopper()
    desk.get_by_test_id("grant-points").click()
    dialog = desk.get_by_role("dialog")
    dialog.locator("input[name=grant-user]").fill(str(user.id))
    dialog.locator("input[name=grant-points]").fill("300")
    with desk.expect_response(re.compile(r"/api/admin/points/grants$")) as first:
        dialog.get_by_role("button", name="保存").click()
    assert first.value.status == 201
    expect(desk.get_by_text(f"已向顾客 #{user.id} 发放 300 积分")).to_be_visible()
    replay = desk.request.post("/api/admin/points/grants", data={"user_id": user.id, "points": 300},
                               headers={"Idempotency-Key": first.value.request.headers["idempotency-key"],
                                        "X-Requested-With": "console"})
    assert replay.status in (201, 403)  # the same grant (or the console's CSRF guard): never a second lot
    db.session.expire_all()
    assert [lot.amount for lot in db.session.scalars(select(PointLot).where(PointLot.user_id == user.id))] == [300]
