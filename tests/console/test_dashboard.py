"""The overview in Chromium: today's figures and the last 30 days (rollups for past days,
today live) for those who read reports, the to-do tiles for everyone, and the queue of
pickups about to expire leading to the order."""
from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import update

from app.extensions import db
from models.analytics import calendar, rollup
from models.base import utcnow
from models.orders.tables import Order
from tests.console.conftest import SCREENSHOTS
from tests.console.test_counter import sign_in
from tests.factories import make_staff
from tests.models.analytics.test_rollups import days_ago
from tests.models.pickup.support import make_counter, place, ready_order


def kpi(page, section, name):
    return page.get_by_test_id(section).locator(f"[data-kpi={name}] .kpi-value")


def test_the_overview_shows_today_the_last_30_days_and_what_expires(client, ctx, desk):
    c = make_counter(client)
    soon = ready_order(client, c)                   # paid today, due in 3 hours
    ready_order(client, c, (c.skus[1], 1))          # paid today
    old = ready_order(client, c)                    # paid three days ago
    db.session.execute(update(Order).where(Order.order_no == soon)
                       .values(pickup_deadline=utcnow() + timedelta(hours=3)))
    db.session.commit()
    days_ago([old], 3)
    today = calendar.today()
    rollup.build(today - timedelta(days=7), today - timedelta(days=1))
    db.session.commit()

    admin = make_staff("admin")
    sign_in(desk, admin.username)
    expect(desk).to_have_url(re.compile(r"/console/dashboard$"))
    expect(kpi(desk, "today", "paid")).to_have_text("2")
    expect(kpi(desk, "today", "paid_fen")).to_have_text("¥354.00")        # 2 × 128.00 + 98.00
    expect(kpi(desk, "today", "placed")).to_have_text("2")
    last30 = desk.get_by_test_id("last30")
    expect(last30).to_contain_text("¥610.00")                            # + the order of three days ago
    expect(last30.locator("canvas")).to_have_count(1)                     # the ECharts trend
    expect(desk.get_by_test_id("today-stores")).to_contain_text(c.store.name)
    if os.environ.get("UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(exist_ok=True)
        desk.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)

    # Pickups about to expire are a to-do (the order of three days ago is already past its
    # deadline, not yet swept: listed too, first), and a number opens the order.
    tile = desk.locator("a.tile", has_text="24 小时内过期的提货")
    expect(tile).to_contain_text("2 项")
    tile.click()
    expect(desk).to_have_url(re.compile(r"/console/queues/expiring$"))
    desk.get_by_role("link", name=soon).click()
    expect(desk).to_have_url(re.compile(rf"/console/orders/{soon}$"))


def test_a_clerk_gets_the_to_dos_without_the_figures(client, ctx, desk):
    c = make_counter(client)
    ready_order(client, c)
    clerk = make_staff("clerk", [c.store])
    sign_in(desk, clerk.username)
    expect(desk).to_have_url(re.compile(r"/console/counter$"))
    desk.goto("/console/dashboard")
    expect(desk.locator("a.tile", has_text="24 小时内过期的提货")).to_be_visible()
    expect(desk.get_by_test_id("today")).to_have_count(0)
    assert desk.request.get("/api/admin/reports/daily").status == 403     # the API refuses too


def test_the_reports_page_shows_sales_steps_and_the_funnel_and_exports_csv(client, ctx, desk):
    c = make_counter(client)
    ready_order(client, c)
    ready_order(client, c, (c.skus[1], 1))
    cancelled = place(client, c)
    assert client.post(f"/api/orders/{cancelled}/cancel", headers=c.shopper, json={}).status_code == 200
    manager = make_staff("manager", [c.store])
    sign_in(desk, manager.username)
    desk.locator("aside .el-menu-item", has_text="经营报表").click()
    expect(desk).to_have_url(re.compile(r"/console/reports$"))

    sales = desk.get_by_test_id("sales")
    expect(sales.locator("[data-kpi=paid] .kpi-value")).to_have_text("2")
    expect(sales.locator("[data-kpi=paid_fen] .kpi-value")).to_have_text("¥354.00")
    steps = desk.get_by_test_id("steps")
    expect(steps).to_contain_text("下单→付款")
    expect(steps).to_contain_text("付款→备好")
    expect(steps.get_by_test_id("chart").locator("canvas").first).to_be_visible()  # the heat map
    expect(steps.locator("[data-kpi=pickupRate] .kpi-value")).to_have_text("0.0%")  # 2 ready, none collected
    ranked = desk.get_by_test_id("products")
    expect(ranked).to_contain_text("月饼 双黄 6枚")
    ranked.locator(".el-table__row", has_text="双黄").first.wait_for()
    expect(ranked.locator(".el-table__row", has_text="双黄").locator("td").nth(1)).to_have_text("2")
    shoppers = desk.get_by_test_id("customers")
    expect(shoppers).to_contain_text("尚未计算过")                          # nightly; not yet
    funnel = desk.get_by_test_id("funnel")
    for stage, count in (("placed", "3"), ("paid", "2"), ("prepared", "2"), ("collected", "0"), ("lost_unpaid", "1")):
        expect(funnel.locator(f"[data-stage={stage}] .kpi-value")).to_have_text(count)

    with desk.expect_download() as info:
        funnel.get_by_role("button", name="导出 CSV").click()
    text = Path(info.value.path()).read_bytes().decode("utf-8")
    assert text.startswith("\ufeffstage,orders\r\n") and "placed,3\r\n" in text and "lost_unpaid,1\r\n" in text
    if os.environ.get("UPDATE_SCREENSHOTS"):
        desk.set_viewport_size({"width": 1366, "height": 1700})  # the whole page, header on top
        desk.screenshot(path=str(SCREENSHOTS / "reports.png"))
