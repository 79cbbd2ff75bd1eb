"""The figures /metrics reads at scrape time (models/monitoring.py): each follows what the
domain did, and each is an index read on MariaDB."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.tasks import pending
from models import monitoring
from models.base import utcnow
from models.orders.tables import Order
from models.outbox.delivery import Result
from models.outbox.dispatch import claim_next, record
from models.outbox.tables import OutboxMessage
from tests.conftest import backend_is_mysql
from tests.explain import analyze, explain_statements
from tests.factories import mark_ready
from tests.models.notifications.test_subscribe import enqueue
from tests.models.payments import test_payments
from tests.models.payments.test_payments import paid_order, sb
from tests.models.payments.test_reconcile import TODAY, reconcile

shop = test_payments.shop  # a fixture: a store, a SKU in stock, a shopper


def figures(app, now=None) -> dict:
    with app.app_context():
        return {(g.name, tuple(sorted((g.labels or {}).items()))): g.value for g in monitoring.gauges(now)}


def value(found: dict, name: str, **labels) -> float:
    return found[(name, tuple(sorted(labels.items())))]


def test_nothing_to_report_reads_zero(app):
    found = figures(app)
    assert {name for name, _ in found} == {
        "tihuo_outbox_messages", "tihuo_outbox_oldest_waiting_seconds", "tihuo_pickups_expiring_soon",
        "tihuo_pickups_overdue", "tihuo_reconciliation_differences",
        "tihuo_reconciliation_last_run_timestamp_seconds"}
    assert all(v == 0 for v in found.values())


def test_outbox_backlog_age_and_failures(app):
    first = enqueue(app, {"event": "order_paid", "order_id": 1})
    enqueue(app, {"event": "order_paid", "order_id": 2})
    with app.app_context():
        created = db.session.get(OutboxMessage, first).created_at
    found = figures(app, created + timedelta(hours=1))
    assert value(found, "tihuo_outbox_messages", status="pending") == 2
    assert value(found, "tihuo_outbox_oldest_waiting_seconds") == 3600
    with app.app_context():  # one claimed by a worker and given up on: failed, kept for staff
        claim = claim_next(utcnow() + timedelta(seconds=1))
        record(claim, None, Result("failed", "test: never sendable"), utcnow())
        db.session.commit()
    pending(app).clear()
    found = figures(app, created + timedelta(hours=1))
    assert value(found, "tihuo_outbox_messages", status="pending") == 1
    assert value(found, "tihuo_outbox_messages", status="failed") == 1
    assert value(found, "tihuo_outbox_oldest_waiting_seconds") <= 3600


def test_pickups_near_and_past_their_deadline(app, client, sandbox, shop):
    order_no = paid_order(app, client, sandbox, shop)
    with app.app_context():
        mark_ready(order_no)
        deadline = db.session.scalars(select(Order.pickup_deadline).where(Order.order_no == order_no)).one()
    far, near, past = (figures(app, deadline - timedelta(hours=10)), figures(app, deadline - timedelta(hours=1)),
                       figures(app, deadline + timedelta(seconds=1)))
    assert (value(far, "tihuo_pickups_expiring_soon"), value(far, "tihuo_pickups_overdue")) == (0, 0)
    assert (value(near, "tihuo_pickups_expiring_soon"), value(near, "tihuo_pickups_overdue")) == (1, 0)
    assert (value(past, "tihuo_pickups_expiring_soon"), value(past, "tihuo_pickups_overdue")) == (0, 1)


def test_reconciliation_differences_of_the_latest_report(app, client, sandbox, shop):
    paid_order(app, client, sandbox, shop)
    assert reconcile(app).exit_code == 0
    agreed = figures(app)
    assert value(agreed, "tihuo_reconciliation_differences") == 0
    assert value(agreed, "tihuo_reconciliation_last_run_timestamp_seconds") > 0
    sb(sandbox, "POST", "/_/pay/bill-rows", json={"bill_date": TODAY(), "kind": "payment", "fields": {
        "交易时间": f"{TODAY()} 10:00:00", "公众账号ID": "wx1234567890abcdef", "商户号": "1900000109",
        "微信订单号": "4200009999202611220000000002", "商户订单号": "TH_NOT_OURS_2",
        "交易类型": "JSAPI", "交易状态": "SUCCESS", "应结订单金额": "99.00", "订单金额": "99.00"}})
    assert reconcile(app).exit_code == 1
    assert value(figures(app), "tihuo_reconciliation_differences") == 1


@pytest.mark.skipif(not backend_is_mysql(), reason="query plans are MariaDB's")
def test_each_figure_is_an_index_read(app, client, sandbox, shop):
    order_no = paid_order(app, client, sandbox, shop)
    for n in range(3):
        enqueue(app, {"event": "order_paid", "order_id": n})
    with app.app_context():
        mark_ready(order_no)
        analyze("outbox", "orders", "reconciliation_reports")
        # Only the figures' statements: the live server's threads may be at work meanwhile.
        ours = ("SELECT count(*) AS count_1", "SELECT outbox.created_at", "SELECT reconciliation_reports.bill_date")
        plans = [(statement, plan) for statement, plan in explain_statements(lambda: monitoring.gauges())
                 if statement.startswith(ours)]
        assert len(plans) == 8
        for statement, plan in plans:
            for row in plan:
                if row.get("table") is None:  # "No matching min/max row", "Select tables optimized away"
                    continue
                assert row["type"] != "ALL" and row["key"], (statement, plan)
                assert "filesort" not in (row.get("Extra") or ""), (statement, plan)
