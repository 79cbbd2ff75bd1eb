"""What each kind asks MariaDB (EXPLAIN of every SELECT its pages and its count send):
the history tables are walked on their time index, never read whole. MariaDB only (the
plans are MariaDB's); the embedded default runs the same reads for their results."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app.extensions import db
from models.analytics import calendar
from models.exports import kinds
from models.exports.kinds import KINDS, Filters
from tests.conftest import backend_is_mysql
from tests.explain import explain_statements
from tests.handlers.test_admin_exports import stores  # noqa: F401 (fixture)

pytestmark = pytest.mark.skipif(not backend_is_mysql(), reason="MariaDB's plans")

# A history table → the index its rows are found by (its time index, or a key of the page's rows).
HISTORY = {"orders": {"ix_orders_created_at", "PRIMARY"}, "order_items": {"ix_order_items_order_id"},
           "payments": {"ix_payments_paid_at"}, "refunds": {"ix_refunds_created_at"},
           "pickup_verifications": {"ix_pickup_verifications_verified_at"},
           "stock_movements": {"ix_stock_movements_at"},
           "reconciliation_reports": {"ix_reconciliation_reports_bill_date"},
           "cards": {"uq_cards_batch_id_seq"}}
# Where the time index drives, the page's join partners come by primary key.
JOINED = {"orders": {"PRIMARY", "ix_orders_created_at"}}




@pytest.mark.parametrize("name", [k for k in KINDS if k != "report_daily"])
def test_each_kind_walks_an_index(stores, monkeypatch, name):
    monkeypatch.setattr(kinds, "PAGE", 2)  # several pages: the keyset's "after" form too
    for table in HISTORY:
        db.session.connection().exec_driver_sql(f"ANALYZE TABLE {table}").all()
    today = calendar.today()
    scoped = Filters(today - timedelta(days=6), today, (stores["a"].store.id,), None, "en")
    every = Filters(today - timedelta(days=6), today, None, None, "en")
    kind = KINDS[name]
    for f in ((every, scoped) if kind.per_store else (every,)):
        plans = explain_statements(lambda f=f: (list(kind.pages(f)), kind.count(f, None), kind.count(f, 10)))
        assert plans
        for statement, plan in plans:
            for step in plan:
                table = step["table"]
                if table in HISTORY:
                    assert step["type"] != "ALL", (name, statement, plan)
                    assert step["key"] in HISTORY[table] | JOINED.get(table, set()), (name, statement, plan)
