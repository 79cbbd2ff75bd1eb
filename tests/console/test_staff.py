"""The Staff and Audit pages in Chromium, desk-sized: an admin creates a clerk for a store,
the clerk can sign in with the password set, the admin deactivates them and their
sign-in is refused, and the creation is in the audit log — each checked through the API
and the database, not only on the page."""
from __future__ import annotations

import os
import re

from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from models.audit import AuditLog
from models.staff.tables import Staff
from tests.console.conftest import SCREENSHOTS
from tests.console.test_counter import sign_in
from tests.factories import bearer, make_staff, make_store, staff_token

NEW_PASSWORD = "counter-pass-2026"


def member(username: str) -> Staff | None:
    db.session.expire_all()
    return db.session.scalars(select(Staff).where(Staff.username == username)).first()


def api_sign_in(client, username: str, password: str) -> int:
    return client.post("/api/staff/login", json={"username": username, "password": password}).status_code


def test_an_admin_creates_a_clerk_who_signs_in_until_deactivated(client, ctx, desk):
    store = make_store(name="南京路店")
    make_store(name="淮海路店")
    admin = make_staff("admin")
    sign_in(desk, admin.username)
    expect(desk).to_have_url(re.compile(r"/console/dashboard$"))

    desk.get_by_role("menuitem", name="员工", exact=True).click()
    expect(desk).to_have_url(re.compile(r"/console/staff$"))
    expect(desk.locator(f"tr[data-username='{admin.username}']")).to_be_visible()

    # Create: a clerk of one store.
    desk.get_by_role("button", name="新建员工").click()
    dialog = desk.get_by_role("dialog")
    dialog.locator("input[name=new-username]").fill("nanjing-clerk")
    dialog.locator("input[name=new-display-name]").fill("小王")
    dialog.locator("input[name=new-password]").fill(NEW_PASSWORD)
    dialog.locator("label.el-radio-button", has_text="店员").click()
    dialog.locator("label.el-checkbox", has_text="南京路店").click()
    dialog.get_by_role("button", name="保存").click()
    expect(desk.get_by_text("已创建员工 小王")).to_be_visible()
    row = desk.locator("tr[data-username='nanjing-clerk']")
    expect(row).to_contain_text("南京路店")
    expect(row).to_contain_text("在职")

    clerk = member("nanjing-clerk")
    assert clerk is not None and clerk.role.value == "clerk" and clerk.active
    assert clerk.store_ids == [store.id]
    assert api_sign_in(client, "nanjing-clerk", NEW_PASSWORD) == 200  # the password set works
    assert api_sign_in(client, "nanjing-clerk", "wrong-password-1") == 401

    # An admin cannot deactivate themself: the API's 409, said plainly, nothing changed.
    desk.locator(f"tr[data-username='{admin.username}']").get_by_role("button", name="停用").click()
    expect(desk.get_by_role("alert").filter(has_text="不能停用自己")).to_be_visible()
    assert member(admin.username).active

    # Deactivate the clerk: their sign-in is refused from now on.
    row.get_by_role("button", name="停用").click()
    expect(desk.get_by_text("已停用 小王")).to_be_visible()
    expect(row).to_contain_text("已停用")
    assert member("nanjing-clerk").active is False
    assert api_sign_in(client, "nanjing-clerk", NEW_PASSWORD) == 401

    # The audit log has the creation, by this admin, with what was set.
    entry = db.session.scalars(select(AuditLog).where(
        AuditLog.action == "staff.create", AuditLog.target_id == str(clerk.id))).one()
    assert (entry.actor_type, entry.actor_id) == ("staff", admin.id)
    assert entry.changes["username"] == "nanjing-clerk" and entry.changes["store_ids"] == [store.id]
    desk.get_by_role("menuitem", name="审计日志", exact=True).click()
    expect(desk).to_have_url(re.compile(r"/console/audit$"))
    created = desk.locator("tr[data-action='staff.create']").filter(has_text="nanjing-clerk")
    expect(created).to_be_visible()
    expect(created).to_contain_text(admin.username)
    expect(desk.locator("tr[data-action='staff.update']").first).to_contain_text("active: true → false")
    desk.locator("input[name=audit-action]").fill("staff.create")
    desk.locator("input[name=audit-action]").press("Enter")  # the API filters (AuditPage.vue)
    expect(desk.locator("tr[data-action='staff.update']")).to_have_count(0)
    if os.environ.get("UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(exist_ok=True)
        desk.screenshot(path=str(SCREENSHOTS / "audit.png"))


def test_the_money_page_opens_each_list_without_error(client, ctx, desk):
    analyst = make_staff("analyst")  # payments.read and outbox.read, resolves and retries nothing
    sign_in(desk, analyst.username)
    desk.get_by_role("menuitem", name="资金", exact=True).click()
    expect(desk).to_have_url(re.compile(r"/console/money$"))
    for tab in ("支付异常", "对账", "投递失败"):
        desk.get_by_role("tab", name=tab).click()
        expect(desk.get_by_text("加载中…")).to_have_count(0)
        expect(desk.get_by_role("alert")).to_have_count(0)
    expect(desk.get_by_role("button", name="标记已处理")).to_have_count(0)
    expect(desk.get_by_role("button", name="重新投递")).to_have_count(0)
    assert desk.request.get("/api/admin/reconciliations").status == 200
    token = bearer(staff_token(client, analyst))
    refused = client.post("/api/admin/outbox/1/retry", headers=token)  # not theirs to do
    assert (refused.status_code, refused.json["error"]["code"]) == (403, "forbidden")
