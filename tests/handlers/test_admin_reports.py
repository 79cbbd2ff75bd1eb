"""The reports API: who may read which stores' figures, and bad ranges answered 400."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app.extensions import db
from models.analytics import calendar
from models.stores import Store
from tests.app.test_errors import assert_error
from tests.factories import admin_headers, bearer, make_staff, make_store, staff_token
from tests.models.payments.test_payments import paid_order, shop  # noqa: F401


def report(client, headers, **query):
    return client.get("/api/admin/reports/daily", headers=headers, query_string=query)


def test_a_manager_sees_only_their_stores(app, client, sandbox, shop):
    paid_order(app, client, sandbox, shop)
    with app.app_context():
        other = make_store(name="别家店")
        mine = db.session.get(Store, shop[0])
        manager = bearer(staff_token(client, make_staff("manager", [other])))
        own_manager = bearer(staff_token(client, make_staff("manager", [mine])))
        analyst = bearer(staff_token(client, make_staff("analyst")))
        clerk = bearer(staff_token(client, make_staff("clerk", [mine])))
        admin = admin_headers(client)
        other_id = other.id
    theirs = report(client, manager).json
    assert theirs["totals"]["paid"] == 0 and theirs["by_store"] == []
    assert_error(report(client, manager, store_id=shop[0]), 403, "forbidden")
    assert report(client, manager, store_id=other_id).json["totals"]["paid"] == 0
    for who in (own_manager, analyst, admin):
        body = report(client, who).json
        assert body["totals"]["paid"] == 1 and body["totals"]["paid_fen"] == 12800
        assert [s["store_id"] for s in body["by_store"]] == [shop[0]]
    assert_error(report(client, clerk), 403, "forbidden")


def test_defaults_to_the_last_30_days(app, client, ctx):
    body = report(client, admin_headers(client)).json
    today = calendar.today()
    assert body["to"] == str(today) and body["from"] == str(today - timedelta(days=29))
    assert len(body["by_day"]) == 30 and body["previous"]["to"] == str(today - timedelta(days=30))


@pytest.mark.parametrize("query", [{"from": "2026-12-05", "to": "2026-12-01"},
                                   {"from": "2024-01-01", "to": "2026-01-01"},
                                   {"from": "2026-13-01"}, {"store_id": 0}])
def test_bad_ranges_are_400(client, ctx, query):
    assert_error(report(client, admin_headers(client), **query), 400, "invalid_request")
