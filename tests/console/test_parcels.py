"""Parcels in Chromium: a manager splits a delivery order into two parcels from its detail
page (the first ships the order), 快递100 reports trouble with one, and the parcel-issue
queue shows it until the manager resolves it — checked in the database too."""
from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from models.shipments.tables import Parcel, ParcelIssue
from models.stores import Store
from tests.console.test_counter import sign_in
from tests.factories import make_staff
from tests.models.pickup.support import order_row
from tests.models.shipments.conftest import paid_order, push, shop2  # noqa: F401 (fixture)
from tests.models.shipments.test_tracking import settled_subscription


def test_a_manager_ships_in_two_parcels_and_resolves_a_problem_parcel(client, ctx, sandbox, shop2, desk):
    order = paid_order(client, sandbox, shop2, lines=((0, 2), (1, 1)))
    order_no = order["order_no"]
    manager = make_staff("manager", [db.session.get(Store, shop2[0])])
    sign_in(desk, manager.username)
    expect(desk).to_have_url(re.compile(r"/console/dashboard$"))
    desk.goto(f"/console/orders/{order_no}")

    # The first parcel: the first line only (the second line's quantity set to 0).
    desk.get_by_role("button", name="添加包裹").click()
    dialog = desk.get_by_role("dialog")
    dialog.locator("#parcel-carrier").fill("YTO")
    dialog.locator("#parcel-tracking").fill("YT5000000001")
    second = dialog.locator(".parcel-lines tbody tr").nth(1)
    second.locator("input").fill("0")
    second.locator("input").press("Tab")
    dialog.get_by_role("button", name="确认发出").click()
    expect(desk.get_by_text("包裹已添加。")).to_be_visible()
    expect(desk.get_by_text("已发货").first).to_be_visible()
    # The rest in a second parcel: what is left is filled in.
    desk.get_by_role("button", name="添加包裹").click()
    dialog.locator("#parcel-carrier").fill("ZTO")
    dialog.locator("#parcel-tracking").fill("ZT5000000002")
    dialog.get_by_role("button", name="确认发出").click()
    expect(desk.locator(".parcels").get_by_text("ZT5000000002")).to_be_visible()
    expect(desk.get_by_role("button", name="添加包裹")).to_have_count(0)  # nothing left to ship
    db.session.expire_all()
    parcels = db.session.scalars(select(Parcel).where(Parcel.order_id == order_row(order_no).id)
                                 .order_by(Parcel.id)).all()
    assert [(p.tracking_no, [(i.qty) for i in p.items]) for p in parcels] == [("YT5000000001", [2]),
                                                                               ("ZT5000000002", [1])]
    assert order_row(order_no).status == "shipped"

    # 快递100: the second parcel is a problem parcel (疑难).
    settled_subscription(sandbox, "ZT5000000002")
    push(sandbox, "ZT5000000002", state=2, context="【上海】地址不详")
    desk.locator("aside .el-menu-item", has_text="异常包裹").click()
    expect(desk).to_have_url(re.compile(r"/console/queues/parcel-issues$"))
    row = desk.locator("tr", has_text=order_no)
    expect(row).to_contain_text("快递疑难件")
    expect(row).to_contain_text("【上海】地址不详")
    row.get_by_role("button", name="已处理").click()
    desk.locator(".el-popconfirm").get_by_role("button", name="已处理").click()
    expect(desk.get_by_text(re.compile(r"包裹异常 \d+ 已处理。"))).to_be_visible()
    db.session.expire_all()
    [issue] = db.session.scalars(select(ParcelIssue)).all()
    assert issue.status == "resolved" and issue.resolved_by == manager.id
