"""A manager unlocks a pickup card locked after wrong passwords, from the console's queue."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.console.test_counter import sign_in
from tests.factories import make_staff
from tests.models.cards.test_redemption import card_row, cards, redeem, shop  # noqa: F401 (fixture)


def test_a_manager_unlocks_a_locked_card_and_it_redeems_again(app, client, shop, desk, monkeypatch):
    monkeypatch.setitem(app.config, "CARD_PASSWORD_ITERATIONS", 1000)  # the live server's config too
    (serial, password), = cards(shop, count=1, store=shop.store)
    for _ in range(3):
        redeem(client, shop.alice, serial, "1234123412341234")
    assert card_row(serial).locked_at is not None

    sign_in(desk, make_staff("manager", [shop.store]).username)
    expect(desk).to_have_url(re.compile(r"/console/dashboard$"))
    desk.goto("/console/queues/locked-cards")
    row = desk.locator("tr", has_text=serial)
    row.get_by_role("button", name="解锁").click()
    desk.locator(".el-popconfirm").get_by_role("button", name="解锁").click()
    expect(desk.get_by_text(f"提货卡 {serial} 已解锁。")).to_be_visible()
    expect(desk.locator("tr", has_text=serial)).to_have_count(0)  # gone from the queue

    assert card_row(serial).locked_at is None and card_row(serial).failed_attempts == 0
    assert redeem(client, shop.alice, serial, password, store_id=shop.store.id).status_code == 201
