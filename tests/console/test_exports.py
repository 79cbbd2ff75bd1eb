"""Exports from the console in Chromium: a store's orders as CSV straight away, and — past
the streaming cap — as a background job whose file downloads once it is ready."""
from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from tests.console.test_counter import sign_in
from tests.factories import make_staff
from tests.models.pickup.support import make_counter, ready_order


def export(page, scope, fmt_label):
    scope.locator("[data-export] button").first.click()
    with page.expect_download(timeout=30_000) as info:
        page.get_by_role("menuitem", name=fmt_label).click()
    return Path(info.value.path()).read_bytes()


def test_orders_export_streamed_then_as_a_job(app, client, ctx, desk):
    c = make_counter(client)
    order_no = ready_order(client, c)
    manager = make_staff("manager", [c.store])
    sign_in(desk, manager.username)
    desk.locator("aside .el-menu-item", has_text="订单").click()
    expect(desk).to_have_url(re.compile(r"/console/orders$"))
    expect(desk.get_by_role("link", name=order_no)).to_be_visible()

    body = export(desk, desk, "CSV（Excel 可打开）").decode("utf-8")
    assert body.startswith("\ufeff") and order_no in body
    header = body.lstrip("\ufeff").split("\r\n", 1)[0]
    assert "订单号" in header

    # Past the streaming cap the same click becomes a job, followed to its download.
    cap = app.config["EXPORT_STREAM_MAX_ROWS"]
    app.config["EXPORT_STREAM_MAX_ROWS"] = 0
    try:
        data = export(desk, desk, "Excel（.xlsx）")
    finally:
        app.config["EXPORT_STREAM_MAX_ROWS"] = cap
    assert data[:2] == b"PK"  # an .xlsx is a zip
    assert desk.request.get("/api/admin/exports").json()["items"][0]["status"] == "ready"
