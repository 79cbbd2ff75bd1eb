"""Daily reconciliation against the sandbox's trade bill: agreement, a safe repair, and
differences reported for staff."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.extensions import db
from models.payments.tables import ReconciliationReport, Refund
from tests.factories import bearer, make_staff, staff_token
from tests.models.payments.test_payments import eventually, order_row, paid_order, place, sb, shop  # noqa: F401 (fixture)

TODAY = lambda: datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()  # noqa: E731


def reconcile(app):
    return app.test_cli_runner().invoke(args=["pay", "reconcile", "--date", TODAY()])


def test_agreement_then_a_difference(app, client, sandbox, shop):
    order_no = paid_order(app, client, sandbox, shop)
    with app.app_context():
        admin = bearer(staff_token(client, make_staff("admin")))
    refund = client.post(f"/api/staff/orders/{order_no}/refunds", headers={**admin, "Idempotency-Key": "r1"},
                         json={"amount_fen": 800}).json
    sb(sandbox, "POST", f"/_/pay/refunds/{refund['out_refund_no']}/finish", json={"status": "SUCCESS"})
    eventually(app, lambda: db.session.scalars(select(Refund).where(Refund.status == "success")).first())
    ok = reconcile(app)
    assert ok.exit_code == 0 and ": ok, 0 difference(s)" in ok.output, ok.output
    sb(sandbox, "POST", "/_/pay/bill-rows", json={"bill_date": TODAY(), "kind": "payment", "fields": {
        "交易时间": f"{TODAY()} 10:00:00", "公众账号ID": "wx1234567890abcdef", "商户号": "1900000109",
        "微信订单号": "4200009999202611220000000001", "商户订单号": "TH_NOT_OURS_1",
        "交易类型": "JSAPI", "交易状态": "SUCCESS", "应结订单金额": "99.00", "订单金额": "99.00"}})
    bad = reconcile(app)
    assert bad.exit_code == 1 and "1 difference(s)" in bad.output, bad.output
    with app.app_context():
        report = db.session.scalars(select(ReconciliationReport).order_by(ReconciliationReport.id.desc())).first()
        assert report.differences[0]["kind"] == "missing_here"
        assert report.differences[0]["bill_fen"] == 9900
    listed = client.get("/api/admin/reconciliations", headers=admin).json["items"]
    assert listed[0]["status"] == "differences" and listed[0]["differences"][0]["transaction_id"] == (
        "4200009999202611220000000001")


def test_a_payment_only_the_bill_knows_is_repaired(app, client, sandbox, shop):
    order_no = place(client, shop)
    client.post(f"/api/orders/{order_no}/pay", headers=shop[2])
    sb(sandbox, "POST", f"/_/pay/transactions/{order_no}/pay", json={"notify": False})
    result = reconcile(app)
    assert result.exit_code == 0 and "1 repair(s)" in result.output, result.output
    assert order_row(app, order_no).status == "paid"


def test_a_day_without_a_bill_is_nothing_to_reconcile_for_the_command_too(app):
    """The command and the scheduled job share the rule (models.payments.reconcile)."""
    yesterday = (datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(days=1)).date().isoformat()
    result = app.test_cli_runner().invoke(args=["pay", "reconcile", "--date", yesterday])
    assert result.exit_code == 0, result.output
    assert f"reconciliation {yesterday}: no bill" in result.output
    with app.app_context():
        assert db.session.scalars(select(ReconciliationReport)).first() is None  # no report for no bill
