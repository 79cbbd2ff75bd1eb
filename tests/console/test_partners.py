"""The Partners page in Chromium, desk-sized: an admin creates a partner client for one
store, copies the secret shown once and the client gets a token with it; rotates the secret
(both stay valid); registers a webhook endpoint — each checked through the API and the
database, not only on the page."""
from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from models.partners.tables import PartnerClient, WebhookEndpoint
from tests.console.test_counter import sign_in
from tests.factories import make_staff, make_store
from tests.models.partners.helpers import reset_switch, token_response


def test_an_admin_creates_a_client_rotates_its_secret_and_adds_a_webhook(client, ctx, desk):
    store = make_store(name="南京路店")
    make_store(name="淮海路店")
    admin = make_staff("admin")
    sign_in(desk, admin.username)
    expect(desk).to_have_url(re.compile(r"/console/dashboard$"))
    desk.get_by_role("menuitem", name="合作方接口", exact=True).click()
    expect(desk).to_have_url(re.compile(r"/console/partners$"))

    desk.get_by_role("button", name="新建客户端").click()
    dialog = desk.get_by_role("dialog")
    dialog.locator("input[name=client-name]").fill("金蝶 ERP")
    dialog.locator("label.el-checkbox", has_text="orders:read").click()
    dialog.locator("label.el-checkbox", has_text="stock:write").click()
    dialog.locator("label.el-checkbox", has_text="南京路店").click()
    dialog.get_by_role("button", name="保存").click()
    secret_box = desk.locator("input[data-test=secret], [data-test=secret] input").first
    expect(secret_box).to_have_value(re.compile(r"^tps_"))
    first = secret_box.input_value()
    desk.get_by_role("button", name="关闭", exact=True).click()

    db.session.expire_all()
    made = db.session.scalars(select(PartnerClient)).one()
    assert made.name == "金蝶 ERP" and made.scopes == ["stock:write", "orders:read"] and made.store_ids == [store.id]
    issued = {"client_id": made.client_id}
    assert token_response(client, issued, secret=first).status_code == 200

    row = desk.locator("tr[data-client='金蝶 ERP']")
    expect(row).to_contain_text("南京路店")
    row.get_by_role("button", name="更换密钥").click()
    expect(secret_box).to_have_value(re.compile(r"^tps_"))
    second = secret_box.input_value()
    assert second != first
    desk.get_by_role("button", name="关闭", exact=True).click()
    assert token_response(client, issued, secret=first).status_code == 200  # two valid at a time
    assert token_response(client, issued, secret=second).status_code == 200

    row.get_by_role("button", name="回调地址").click()
    hooks = desk.get_by_role("dialog")
    hooks.locator("input[name=endpoint-url]").fill("https://erp.example.com/tihuo")
    hooks.locator("label.el-checkbox", has_text="order.paid").click()
    hooks.get_by_role("button", name="添加回调地址").click()
    expect(secret_box).to_have_value(re.compile(r"^whsec_"))
    desk.get_by_role("button", name="关闭", exact=True).click()
    expect(desk.locator("tr[data-endpoint='https://erp.example.com/tihuo']")).to_be_visible()
    db.session.expire_all()
    endpoint = db.session.scalars(select(WebhookEndpoint)).one()
    assert endpoint.event_types == ["order.paid"] and endpoint.client_id == made.id
    reset_switch()
