"""The exports API: every kind streamed as CSV and XLSX (read back), formula neutralisation
end to end, Chinese headers, who may export what and which stores' rows they get, the
streamed cap, background exports (progress, download by their owner only, expiry), and
the audit rows each export leaves."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from models.audit import AuditLog
from models.base import utcnow
from models.exports.kinds import KINDS
from models.exports.tables import ExportChunk, ExportJob
from models.payments.tables import Payment
from tests.app.test_errors import assert_error
from tests.factories import admin_headers, bearer, make_card_batch, make_staff, staff_token
from tests.models.exports.support import csv_rows, records, xlsx_cells, xlsx_rows
from tests.models.payments.test_payments import paid_order, shop  # noqa: F401 (fixture)
from tests.models.payments.test_refunds import refund, succeed
from tests.models.pickup.support import make_counter, place, ready_order, shown, verify

REMARKS = ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tx"]


@pytest.fixture(autouse=True)
def _fast_hashes(app, monkeypatch):
    monkeypatch.setitem(app.config, "CARD_PASSWORD_ITERATIONS", 1000)


@pytest.fixture
def stores(ctx, client):
    """Two stores with their staff; orders at both (remarks a spreadsheet would run), one
    handed over at A; an admin, an analyst."""
    a, b = make_counter(client), make_counter(client)
    for remark in REMARKS:
        client.post("/api/orders", headers=a.shopper, json={
            "store_id": a.store.id, "fulfillment": "pickup", "items": [{"sku_id": a.skus[0].id, "qty": 1}],
            "remark": remark})
    handed = ready_order(client, a, (a.skus[1], 2))
    assert verify(client, a.clerk, code=shown(client, a, handed)["code"]).status_code == 200
    other = place(client, b, (b.skus[0], 1))
    return {"a": a, "b": b, "handed": handed, "other": other, "admin": admin_headers(client),
            "analyst": bearer(staff_token(client, make_staff("analyst")))}


def export(client, headers, kind, fmt="csv", **query):
    return client.get(f"/api/admin/exports/{kind}.{fmt}", headers=headers, query_string=query)


def table(resp) -> list[dict]:
    assert resp.status_code == 200, resp.json
    if resp.mimetype == "text/csv":
        return records(csv_rows(resp.data))
    return records(xlsx_rows(resp.data))


def test_orders_csv_neutralises_remarks_and_keeps_numbers(client, stores):
    resp = export(client, stores["admin"], "orders", lang="en")
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="orders_')
    assert resp.headers["Cache-Control"] == "no-store" and resp.headers["X-Export-Rows"] == "7"
    rows = table(resp)
    assert len(rows) == 7
    by_remark = {r["Remark"] for r in rows if r["Remark"]}
    assert by_remark == {"'=1+1", "'+cmd", "'-2+3", "'@SUM(A1)", "'\tx"}
    handed = next(r for r in rows if r["Order no."] == stores["handed"])
    assert handed["Total (fen)"] == "19600" and handed["Total (yuan)"] == "196.00"
    assert handed["Status"] == "picked_up" and handed["Store ID"] == str(stores["a"].store.id)
    assert handed["Picked up at"] and handed["Store"] == stores["a"].store.name


def test_orders_xlsx_writes_each_remark_as_a_neutralised_string(client, stores):
    resp = export(client, stores["admin"], "orders", "xlsx", lang="en")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    cells = xlsx_cells(resp.data)
    col = [c.value for c in cells[0]].index("Remark")
    remarks = {row[col].value: row[col].data_type for row in cells[1:] if row[col].value}
    assert remarks == {"'=1+1": "s", "'+cmd": "s", "'-2+3": "s", "'@SUM(A1)": "s", "'\tx": "s"}
    total = [c.value for c in cells[0]].index("Total (yuan)")
    assert all(isinstance(row[total].value, (int, float)) for row in cells[1:])


def test_headers_follow_lang_or_accept_language(client, stores):
    zh = csv_rows(export(client, {**stores["admin"], "Accept-Language": "zh-CN"}, "orders").data)[0]
    assert zh[:3] == ["订单号", "门店ID", "门店"] and "商品金额（元）" in zh
    assert csv_rows(export(client, stores["admin"], "orders").data)[0][0] == "Order no."
    assert csv_rows(export(client, stores["admin"], "orders", lang="zh").data)[0][0] == "订单号"
    resp = export(client, {**stores["admin"], "Accept-Language": "zh"}, "orders", "xlsx")
    assert xlsx_rows(resp.data)[0][0] == "订单号"
    assert "filename*=UTF-8''%E8%AE%A2%E5%8D%95_" in resp.headers["Content-Disposition"]  # 订单_...


def test_a_manager_gets_only_their_stores_rows(client, stores):
    a, b = stores["a"], stores["b"]
    mine = table(export(client, a.manager, "orders", lang="en"))
    assert len(mine) == 6 and {r["Store ID"] for r in mine} == {str(a.store.id)}
    assert [r["Order no."] for r in table(export(client, b.manager, "orders", lang="en"))] == [stores["other"]]
    assert_error(export(client, a.manager, "orders", store_id=b.store.id), 403, "forbidden")
    both = table(export(client, stores["admin"], "orders", store_id=b.store.id, lang="en"))
    assert [r["Order no."] for r in both] == [stores["other"]]
    items = table(export(client, a.clerk, "order_items", lang="en"))  # a clerk reads their store's orders
    assert len(items) == 6 and {r["Store ID"] for r in items} == {str(a.store.id)}
    handed = next(r for r in items if r["Order no."] == stores["handed"])
    assert (handed["Qty"], handed["Picked up"], handed["Line total (yuan)"]) == ("2", "2", "196.00")
    stock = table(export(client, b.clerk, "stock_ledger", lang="en"))
    assert stock and {r["Store ID"] for r in stock} == {str(b.store.id)}
    assert any(r["Reserved change"] == "1" for r in stock)


def test_the_pickup_ledger(client, stores):
    a = stores["a"]
    rows = table(export(client, a.clerk, "pickup_ledger", lang="en"))
    assert len(rows) == 1
    row = rows[0]
    assert row["Order no."] == stores["handed"] and row["Ledger seq"] == "1"
    assert row["Items (SKU×qty)"] == f"{a.skus[1].id}×2" and row["Units"] == "2" and row["Partial"] == "no"
    assert row["Staff ID"] == str(a.clerk_id) and len(row["Row hash"]) == 64
    assert table(export(client, stores["b"].clerk, "pickup_ledger", lang="en")) == []


def test_who_may_export_what(client, stores):
    """Each kind needs the ability of its rows: a clerk has orders.read and stock.read, not
    payments.read, cards.read or reports.read; a manager lacks payments.read."""
    clerk, manager = stores["a"].clerk, stores["a"].manager
    for kind in ("payments", "refunds", "reconciliation_differences", "card_batches", "report_daily"):
        for fmt in ("csv", "xlsx"):
            body = assert_error(export(client, clerk, kind, fmt), 403, "forbidden")
            assert body["details"]["ability"] == KINDS[kind].ability
        assert_error(client.post("/api/admin/exports", headers=clerk, json={"kind": kind}), 403, "forbidden")
    for kind in ("payments", "refunds", "reconciliation_differences"):
        assert_error(export(client, manager, kind), 403, "forbidden")
    for kind in ("orders", "order_items", "pickup_ledger", "stock_ledger"):
        assert export(client, clerk, kind).status_code == 200
    for kind in ("card_batches", "report_daily"):
        assert export(client, manager, kind).status_code == 200
    assert db.session.scalar(select(func.count()).select_from(ExportJob)) == 0


def test_the_streamed_cap_says_to_start_a_job(app, client, stores, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_STREAM_MAX_ROWS", 6)
    body = assert_error(export(client, stores["admin"], "orders"), 409, "export_too_large")
    assert body["details"] == {"kind": "orders", "limit": 6} and "POST /api/admin/exports" in body["message"]
    zh = export(client, {**stores["admin"], "Accept-Language": "zh"}, "orders")
    assert zh.status_code == 409 and "后台导出" in zh.json["error"]["message"]
    assert export(client, stores["a"].manager, "orders", store_id=stores["b"].store.id).status_code == 403
    assert len(table(export(client, stores["b"].manager, "orders"))) == 1  # under the cap


@pytest.mark.parametrize("query", [{"from": "2026-12-05", "to": "2026-12-01"}, {"from": "2024-01-01", "to": "2026-01-01"},
                                   {"from": "2026-13-01"}, {"store_id": 0}, {"lang": "fr"}])
def test_bad_queries_are_400(client, ctx, query):
    assert_error(export(client, admin_headers(client), "orders", **query), 400, "invalid_request")


def test_a_kind_not_kept_per_store_refuses_a_store(client, ctx):
    body = assert_error(export(client, admin_headers(client), "reconciliation_differences", store_id=1), 400,
                        "invalid_request")
    assert body["details"] == {"kind": "reconciliation_differences", "store_id": 1}


def test_payments_refunds_and_reconciliation(app, client, sandbox, shop):
    from tests.models.payments.test_payments import sb
    from tests.models.payments.test_reconcile import TODAY, reconcile

    order_no = paid_order(app, client, sandbox, shop, qty=2)
    with app.app_context():
        admin = admin_headers(client)
    out_refund_no = refund(client, admin, order_no, 800, "r1")
    succeed(app, sandbox, order_no, out_refund_no)
    payments = table(export(client, admin, "payments", lang="en"))
    assert len(payments) == 1
    assert payments[0]["Order no. (out_trade_no)"] == order_no and payments[0]["Paid (yuan)"] == "256.00"
    assert payments[0]["Status"] == "paid" and payments[0]["WeChat Pay transaction"]
    refunds = table(export(client, admin, "refunds", "xlsx", lang="en"))
    assert [(r["Refund no."], r["Order no."], r["Amount (fen)"], r["Amount (yuan)"], r["Status"])
            for r in refunds] == [(out_refund_no, order_no, 800, 8.0, "success")]
    sb(sandbox, "POST", "/_/pay/bill-rows", json={"bill_date": TODAY(), "kind": "payment", "fields": {
        "交易时间": f"{TODAY()} 10:00:00", "公众账号ID": "wx1234567890abcdef", "商户号": "1900000109",
        "微信订单号": "4200009999202611220000000001", "商户订单号": "=HYPERLINK(1)",
        "交易类型": "JSAPI", "交易状态": "SUCCESS", "应结订单金额": "99.00", "订单金额": "99.00"}})
    assert reconcile(app).exit_code == 1
    diffs = table(export(client, admin, "reconciliation_differences", lang="en"))
    assert [(d["Difference"], d["Order no. (out_trade_no)"], d["Bill (fen)"], d["Bill (yuan)"]) for d in diffs] == [
        ("missing_here", "'=HYPERLINK(1)", "9900", "99.00")]
    with app.app_context():  # a payment paid yesterday (Shanghai) is not today's
        db.session.execute(update(Payment).values(paid_at=utcnow() - timedelta(days=2)))
        db.session.commit()
    today = table(export(client, admin, "payments", **{"from": TODAY()}))
    assert today == []


def test_card_batches_never_show_a_password(client, stores):
    a, b = stores["a"], stores["b"]
    mine, _ = make_card_batch(a.skus[0], count=2, store=a.store, name="=A门店卡")
    everyone, passwords = make_card_batch(a.skus[0], count=3, name="通用卡")
    make_card_batch(b.skus[0], count=1, store=b.store, name="B门店卡")
    data = export(client, a.manager, "card_batches", lang="en").data
    rows = records(csv_rows(data))
    assert [(r["Batch ID"], r["Name"], r["Cards"], r["Cards active"]) for r in rows] == [
        (str(mine), "'=A门店卡", "2", "2"), (str(everyone), "通用卡", "3", "3")]
    assert not any(pw.encode() in data for pw in passwords.values())
    assert len(table(export(client, stores["admin"], "card_batches"))) == 3


def test_report_daily(client, stores):
    from models.analytics import calendar

    a = stores["a"]
    today = calendar.today().isoformat()
    rows = table(export(client, a.manager, "report_daily", lang="en", **{"from": today, "to": today}))
    sections = [r["Section"] for r in rows]
    assert sections == ["day", "store", "total", "previous period"]
    assert rows[0]["From"] == rows[0]["To"] == today and rows[0]["Orders placed"] == "6"
    assert rows[1]["Store ID"] == str(a.store.id) and rows[2]["Placed (yuan)"] == rows[0]["Placed (yuan)"]
    zh = table(export(client, a.manager, "report_daily", "xlsx", lang="zh", **{"from": today, "to": today}))
    assert [r["类别"] for r in zh] == ["按日", "按门店", "合计", "上一周期合计"] and zh[0]["下单数"] == 6


def test_each_streamed_export_is_audited(client, stores):
    a = stores["a"]
    export(client, a.manager, "orders", lang="en", store_id=a.store.id)
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "export.stream")).one()
    assert (entry.actor_type, entry.target_type, entry.target_id) == ("staff", "export_kinds", "orders")
    assert entry.changes["rows"] == 6 and entry.changes["format"] == "csv"
    assert entry.changes["filters"]["store_id"] == a.store.id and entry.changes["filters"]["store_ids"] == [a.store.id]
    export(client, a.clerk, "payments")  # refused: no audit row
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.action.like("export.%"))) == 1


# --- background exports ----------------------------------------------------------------------

def test_a_background_export_from_start_to_download(app, client, stores):
    a = stores["a"]
    resp = client.post("/api/admin/exports", headers=a.manager,
                       json={"kind": "orders", "format": "xlsx", "lang": "zh", "filters": {}})
    assert resp.status_code == 202, resp.json
    job = resp.json
    assert resp.headers["Location"].endswith(f"/api/admin/exports/{job['id']}")
    assert job["status"] == "queued" and job["kind"] == "orders" and job["filters"]["lang"] == "zh"
    # The task ran after the response (in process): ready.
    done = client.get(f"/api/admin/exports/{job['id']}", headers=a.manager).json
    assert done["status"] == "ready" and done["rows_done"] == done["rows_total"] == 6 and done["bytes"] > 0
    assert done["expires_at"] and done["ready_at"]
    file = client.get(f"/api/admin/exports/{job['id']}/download", headers=a.manager)
    assert file.status_code == 200 and int(file.headers["Content-Length"]) == done["bytes"] == len(file.data)
    rows = xlsx_rows(file.data)
    assert rows[0][0] == "订单号" and len(rows) == 7
    assert {r[[h for h in rows[0]].index("备注")] for r in rows[1:]} >= {"'=1+1", "'@SUM(A1)"}
    listed = client.get("/api/admin/exports", headers=a.manager).json
    assert [j["id"] for j in listed["items"]] == [job["id"]] and listed["items"][0]["downloads"] == 1
    actions = db.session.scalars(select(AuditLog.action).where(AuditLog.action.like("export.%"))
                                 .order_by(AuditLog.id)).all()
    assert actions == ["export.start", "export.ready", "export.download"]
    ready = db.session.scalars(select(AuditLog).where(AuditLog.action == "export.ready")).one()
    assert ready.changes["rows"] == 6 and ready.changes["filters"]["store_ids"] == [a.store.id]


def test_only_its_owner_sees_or_downloads_an_export(client, stores):
    admin, other_admin = stores["admin"], admin_headers(client)
    job = client.post("/api/admin/exports", headers=admin, json={"kind": "stock_ledger"}).json
    for headers in (other_admin, stores["analyst"], stores["a"].manager):
        assert_error(client.get(f"/api/admin/exports/{job['id']}", headers=headers), 404, "not_found")
        assert_error(client.get(f"/api/admin/exports/{job['id']}/download", headers=headers), 404, "not_found")
    assert client.get("/api/admin/exports", headers=other_admin).json["items"] == []
    assert client.get(f"/api/admin/exports/{job['id']}/download", headers=admin).status_code == 200


def test_an_expired_export_is_gone(app, client, stores):
    admin = stores["admin"]
    job = client.post("/api/admin/exports", headers=admin, json={"kind": "orders", "format": "csv"}).json
    assert db.session.scalar(select(func.count()).select_from(ExportChunk)) == 1
    db.session.execute(update(ExportJob).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert app.extensions["celery"].tasks["tihuo.exports.sweep"].apply().result == {"expired": 1, "restarted": 0}
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(ExportChunk)) == 0
    body = client.get(f"/api/admin/exports/{job['id']}", headers=admin).json
    assert body["status"] == "expired" and body["expired_at"]
    assert_error(client.get(f"/api/admin/exports/{job['id']}/download", headers=admin), 410, "export_expired")
    assert db.session.scalars(select(AuditLog.action).where(AuditLog.action == "export.expire")).all() == [
        "export.expire"]


def test_a_job_whose_role_lost_the_ability_cannot_download_it(client, stores):
    from models.staff.accounts import update_staff
    from models.staff.tables import Staff

    member = make_staff("analyst")
    headers = bearer(staff_token(client, member))
    job = client.post("/api/admin/exports", headers=headers, json={"kind": "payments"}).json
    assert client.get(f"/api/admin/exports/{job['id']}", headers=headers).json["status"] == "ready"
    update_staff(None, db.session.get(Staff, member.id), {"role": "clerk", "store_ids": [stores["a"].store.id]})
    db.session.commit()
    headers = bearer(staff_token(client, member))
    assert_error(client.get(f"/api/admin/exports/{job['id']}/download", headers=headers), 403, "forbidden")


def test_bad_export_bodies_are_400(client, ctx):
    admin = admin_headers(client)
    for body in ({}, {"kind": "nope"}, {"kind": "orders", "format": "pdf"},
                 {"kind": "orders", "filters": {"from": "2026-12-05", "to": "2026-12-01"}},
                 {"kind": "orders", "filters": {"store_id": "1"}}, {"kind": "orders", "extra": 1},
                 {"kind": "reconciliation_differences", "filters": {"store_id": 1}}):
        assert_error(client.post("/api/admin/exports", headers=admin, json=body), 400, "invalid_request")
    assert_error(client.get("/api/admin/exports/999999", headers=admin), 404, "not_found")
