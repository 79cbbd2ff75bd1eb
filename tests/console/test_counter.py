"""The clerk's counter (核销) in Chromium, phone-sized: part of an order, then the rest,
then the repeat explained — the stock and the order are checked in the database, not on
the page."""
from __future__ import annotations

import os
import re

from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from models.staff.tables import Staff
from models.stock.tables import Inventory
from tests.console.conftest import SCREENSHOTS
from tests.factories import PASSWORD
from tests.models.pickup.support import make_counter, order_row, ready_order, shown


def sign_in(page, username, password=PASSWORD):
    page.goto("/console/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.keyboard.press("Enter")


def look_up(page, code):
    box = page.locator("#pickup-code")
    box.fill(code)
    box.press("Enter")  # what a hardware scanner types after the digits


def on_hand(store, sku) -> int:
    db.session.expire_all()
    return db.session.scalars(select(Inventory.on_hand).where(
        Inventory.store_id == store.id, Inventory.sku_id == sku.id)).one()


def test_a_clerk_hands_over_part_then_the_rest_then_is_told_it_is_done(client, ctx, phone):
    c = make_counter(client)
    first, second = c.skus
    order_no = ready_order(client, c, (first, 2), (second, 1))
    code = shown(client, c, order_no)["code"]
    clerk = db.session.get(Staff, c.clerk_id)
    before = on_hand(c.store, first), on_hand(c.store, second)

    sign_in(phone, clerk.username)
    expect(phone).to_have_url(re.compile(r"/console/counter$"))  # a clerk lands on the counter

    # Part: one of the first SKU only.
    look_up(phone, code)
    expect(phone.get_by_text(order_no)).to_be_visible()
    phone.get_by_role("button", name="清零").click()
    phone.locator(".items li").first.get_by_role("button", name="+").click()
    phone.get_by_role("button", name="核销所选（1 件）").click()
    expect(phone.get_by_text("部分核销成功")).to_be_visible()
    assert (on_hand(c.store, first), on_hand(c.store, second)) == (before[0] - 1, before[1])
    assert order_row(order_no).status == "ready_for_pickup"

    # The rest: the preview shows what is left, everything is chosen by default.
    phone.get_by_role("button", name="下一位顾客").click()
    look_up(phone, code)
    verify_all = phone.get_by_role("button", name="全部核销（2 件）")
    expect(verify_all).to_be_visible()
    if os.environ.get("UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(exist_ok=True)
        phone.screenshot(path=str(SCREENSHOTS / "counter.png"))
    verify_all.click()
    expect(phone.get_by_text("核销成功", exact=True)).to_be_visible()
    assert (on_hand(c.store, first), on_hand(c.store, second)) == (before[0] - 2, before[1] - 1)
    assert order_row(order_no).status == "picked_up"

    # Again: refused (409 already_picked_up), said plainly, and nothing more leaves the store.
    phone.get_by_role("button", name="下一位顾客").click()
    look_up(phone, code)
    expect(phone.get_by_role("alert")).to_contain_text("不能重复交付")
    assert (on_hand(c.store, first), on_hand(c.store, second)) == (before[0] - 2, before[1] - 1)


def test_another_stores_code_is_refused_like_a_wrong_one(client, ctx, phone):
    mine, theirs = make_counter(client), make_counter(client)
    order_no = ready_order(client, theirs, (theirs.skus[0], 1))
    code = shown(client, theirs, order_no)["code"]
    sign_in(phone, db.session.get(Staff, mine.clerk_id).username)
    look_up(phone, code)
    expect(phone.get_by_role("alert")).to_contain_text("提货码无效")
    assert order_row(order_no).status == "ready_for_pickup"
