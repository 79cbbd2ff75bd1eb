"""Reports read the replica when ANALYTICS_DATABASE_URL is set: a second app whose
replica is an empty copy of the schema reports nothing for a paid order the main
database holds, while everything outside a report — and every write — uses the main one."""
from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from app import create_app
from app.db import replica_reads
from app.extensions import db
from models.analytics import calendar, figures, reports
from models.orders.tables import Order
from tests.conftest import backend_is_mysql
from tests.models.payments.test_payments import paid_order, shop  # noqa: F401


@pytest.fixture
def replica_url(tmp_path):
    if not backend_is_mysql():
        yield f"sqlite:///{tmp_path / 'replica.db'}"
        return
    url = sa.make_url(os.environ["TEST_DATABASE_URL"])
    url = url.set(database=f"{url.database}_replica")
    server = sa.create_engine(url.set(database=""))
    with server.begin() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{url.database}`"))
        conn.execute(sa.text(f"CREATE DATABASE `{url.database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    yield url.render_as_string(hide_password=False)
    with server.begin() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{url.database}`"))
    server.dispose()


def test_reports_read_the_replica_and_nothing_else_does(app, client, sandbox, shop, settings, replica_url):
    order_no = paid_order(app, client, sandbox, shop)
    second = create_app(settings.model_copy(update={"ANALYTICS_DATABASE_URL": replica_url}))
    with second.app_context():
        db.metadata.create_all(db.engines["analytics"])  # the replica: the schema, no rows yet
        today = calendar.today()
        assert reports.daily(None, today, today)["totals"]["paid"] == 0  # read from the replica
        assert figures.of_day(today)[shop[0]]["paid"] == 1               # outside a report: the main one
        with replica_reads():
            # A locking read and a write inside a report's block still go to the main database.
            order = db.session.scalars(select(Order).where(Order.order_no == order_no).with_for_update()).one()
            order.remark = "seen"
            db.session.commit()
            assert db.session.scalars(select(Order.remark).where(Order.order_no == order_no)).first() is None
        assert db.session.scalars(select(Order.remark).where(Order.order_no == order_no)).one() == "seen"
        for engine in db.engines.values():
            engine.dispose()


def test_without_a_replica_reports_read_the_main_database(app, client, sandbox, shop):
    paid_order(app, client, sandbox, shop)
    with app.app_context():
        assert "analytics" not in db.engines
        today = calendar.today()
        assert reports.daily(None, today, today)["totals"]["paid"] == 1
