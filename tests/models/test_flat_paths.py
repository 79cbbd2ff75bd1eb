"""What must stay flat as the history grows reads an index, not the history (MariaDB's
plans; scripts/bench_reports.py measures the same paths at 10^4 and 10^6 orders):
the orders sweep's auto-completion, a day's payments for reconciliation, the outbox list
by status. Each statement those paths run is captured and EXPLAINed."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select

from app.extensions import db
from models.analytics import calendar
from models.orders import deadlines
from models.outbox import review
from models.payments import reconcile
from scripts import gen_history
from tests.conftest import backend_is_mysql

pytestmark = pytest.mark.skipif(not backend_is_mysql(), reason="MariaDB's query plans")


@pytest.fixture
def history(app, ctx):
    gen_history.generate(orders=400, days=10, stores=3, skus=20, seed=3, batch=200)
    db.session.commit()
    with db.engine.connect() as conn:  # statistics as a real table would have them
        conn.exec_driver_sql("ANALYZE TABLE orders, payments, outbox")


def plans(run, matching: str) -> list[dict]:
    """EXPLAIN of each statement `run` sends whose text contains `matching`."""
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if matching in statement and statement.lstrip().upper().startswith("SELECT"):
            seen.append(cursor.mogrify(statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert seen, f"no statement with {matching!r}"
    with db.engine.connect() as conn:
        return [row for sql in seen for row in conn.exec_driver_sql("EXPLAIN " + sql).mappings()]


def test_the_outbox_list_by_status_reads_its_page_from_an_index(history):
    for status in ("failed", "sent"):
        [plan] = plans(lambda s=status: review.rows(status=s, kind=None, cursor=None, limit=21), "FROM outbox")
        assert plan["key"] == "ix_outbox_status_id", plan
        assert "filesort" not in (plan["Extra"] or ""), plan


def test_a_stores_list_by_a_rare_status_reads_its_page_from_an_index(history):
    """The worst case the bench measures (staff_rare): a status the store almost never has.
    The list walks (store_id, status, id): what it reads is its page, not the store's history."""
    from models.orders import search
    from models.staff.tables import Staff
    from models.stores import Store

    store = db.session.scalars(select(Store).order_by(Store.id.desc())).first()
    admin = db.session.scalars(select(Staff).where(Staff.username == "admin")).one()
    plan_rows = plans(lambda: search.staff_orders(admin, store_id=store.id, status="cancelled", limit=21),
                      "FROM orders")
    walked = [p for p in plan_rows if p["table"] == "orders"]
    assert walked and walked[0]["key"] == "ix_orders_store_id_status_id", walked
    assert walked[0]["type"] in ("ref", "range"), walked


def test_the_sweep_reads_only_orders_past_their_window(history):
    found = plans(deadlines.sweep, "FROM orders")
    keys = {row["key"] for row in found}
    assert {"ix_orders_status_delivered_at", "ix_orders_status_shipped_at", "ix_orders_status_picked_up_at"} <= keys, found
    assert all(row["type"] in ("range", "ref") for row in found), found


def test_a_days_reconciliation_reads_that_days_payments_by_index(history):
    day = calendar.today() - timedelta(days=1)
    assert reconcile.paid_on(day)  # the generated history paid something yesterday
    # Either time index serves a day's range (the exports' `paid_at` one, or `(status, paid_at)`):
    # MariaDB picks by its statistics; what matters is a range read of the day, not a scan.
    for read, indexes in ((reconcile.paid_on, {"ix_payments_status_paid_at", "ix_payments_paid_at"}),
                          (reconcile.refunded_on, {"ix_refunds_status_succeeded_at"})):
        [plan] = plans(lambda read=read: read(day), "FROM ")
        assert plan["key"] in indexes and plan["type"] == "range", plan


def test_a_days_figures_start_from_that_days_events_whatever_the_store_filter(history):
    """of_day (reports, 「今日」, the rollups): the day's events, then each one's order by key —
    never the stores' orders first (MariaDB's choice with a store filter, without the hint)."""
    from models.analytics.figures import of_day
    from models.stores import Store

    stores = list(db.session.scalars(select(Store.id)))
    for store_ids in (None, stores[-1:], stores):
        found = plans(lambda ids=store_ids: of_day(calendar.today(), ids), "FROM order_events")
        # The day's moves, then the day's buyers (whose earlier orders come by the shopper's
        # own index): each starts from the day's events, each order by its key.
        assert [row["table"] for row in found] == ["order_events", "orders", "order_events", "orders", "orders_1"], found
        assert found[0]["key"] == found[2]["key"] == "ix_order_events_at", found
        assert all(row["type"] == "eq_ref" and row["key"] == "PRIMARY" for row in (found[1], found[3])), found
        assert found[4]["key"] == "ix_orders_user_id_id", found
