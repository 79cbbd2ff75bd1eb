"""Who sees what in the console, and that the session ends where the API ends it."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.console.test_counter import sign_in
from tests.factories import bearer, make_staff, make_store, staff_token


def test_a_clerk_sees_only_the_counter_and_the_api_refuses_the_rest(client, ctx, desk):
    clerk = make_staff("clerk", [make_store()])
    sign_in(desk, clerk.username)
    expect(desk).to_have_url(re.compile(r"/console/counter$"))
    menu = desk.locator("nav, aside").first
    expect(menu).to_contain_text("核销")
    for admin_entry in ("投递失败的消息", "支付异常", "员工"):
        expect(menu).not_to_contain_text(admin_entry)
    # Typed into the address bar: the page does not open it...
    desk.goto("/console/queues/outbox")
    expect(desk).not_to_have_url(re.compile(r"/queues/outbox$"))
    # ...and the API, asked directly with the same cookie, refuses too.
    assert desk.request.get("/api/admin/outbox").status == 403
    assert desk.request.get("/api/staff/me").status == 200
    # The token is in an httpOnly cookie: no page script can read it.
    assert desk.evaluate("document.cookie") == ""
    assert any(c["name"] == "tihuo_console" and c["httpOnly"] and c["sameSite"] == "Strict"
               for c in desk.context.cookies())


def test_an_admin_sees_the_action_queue_and_signs_out(client, ctx, desk):
    admin = make_staff("admin")
    sign_in(desk, admin.username)
    expect(desk).to_have_url(re.compile(r"/console/dashboard$"))
    expect(desk.get_by_text("投递失败的消息").first).to_be_visible()
    expect(desk.get_by_text("加载中…")).to_have_count(0)  # every count came from its list
    desk.get_by_text("退出登录").first.click()
    expect(desk).to_have_url(re.compile(r"/console/login"))
    assert desk.request.get("/api/console/session").status == 401


def test_a_role_change_sends_the_console_back_to_sign_in(client, ctx, desk):
    store = make_store()
    clerk = make_staff("clerk", [store])
    sign_in(desk, clerk.username)
    expect(desk).to_have_url(re.compile(r"/console/counter$"))
    admin = bearer(staff_token(client, make_staff("admin")))
    assert client.patch(f"/api/admin/staff/{clerk.id}", json={"role": "manager"}, headers=admin).status_code == 200
    desk.reload()  # the next call the page makes answers 401
    expect(desk).to_have_url(re.compile(r"/console/login"))
