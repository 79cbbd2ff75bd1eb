"""A manager answers a WeChat Pay complaint and reports it handled, from the console: the
complaint arrived by WeChat's notification (sandbox), the answer and the completion go
to WeChat Pay (sandbox), the first-response time shows."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.console.test_counter import sign_in
from tests.factories import make_staff
from tests.models.complaints.test_complaints import complain, paid_order, register_url, synced, wechat_side
from tests.models.payments.test_payments import shop  # noqa: F401 (fixture)


def test_a_manager_answers_and_completes_a_complaint(app, client, live, sandbox, shop, desk):  # noqa: F811
    register_url(app)
    complaint_id = complain(sandbox, paid_order(client, sandbox, shop), problem_type="OTHERS",
                            complaint_detail="到店取货时商品缺件")
    synced(app, complaint_id)
    with app.app_context():
        from app.extensions import db
        from models.stores import Store

        manager = make_staff("manager", [db.session.get(Store, shop[0])]).username

    sign_in(desk, manager)
    expect(desk).to_have_url(re.compile(r"/console/dashboard$"))
    desk.goto("/console/complaints")
    row = desk.locator(f"tr[data-complaint='{complaint_id}']")
    expect(row.get_by_test_id("first-response")).to_have_text("未回复")
    expect(desk.get_by_test_id("complaints-summary")).to_contain_text("未回复 1 条")
    row.get_by_role("button", name="查看").click()
    detail = desk.get_by_test_id("complaint-detail")
    expect(detail).to_contain_text("到店取货时商品缺件")
    expect(detail.get_by_test_id("complaint-history")).to_contain_text("USER_CREATE_COMPLAINT")
    expect(detail.get_by_test_id("complaint-complete")).to_be_disabled()  # answer first

    detail.get_by_test_id("complaint-reply").fill("您好，缺的商品已为您补发，请再来门店领取。")
    detail.get_by_test_id("complaint-send").click()
    expect(detail.get_by_text("已发送。")).to_be_visible()
    expect(detail.get_by_test_id("detail-status")).to_have_text("处理中")
    expect(row.get_by_test_id("first-response")).not_to_have_text("未回复")

    detail.get_by_test_id("complaint-complete").click()
    expect(detail.get_by_text("已反馈处理完成。")).to_be_visible()
    expect(detail.get_by_test_id("detail-status")).to_have_text("已处理")
    assert wechat_side(sandbox, complaint_id)["complaint_state"] == "PROCESSED"
