"""The queue of pickups about to expire: ready orders whose deadline is near, soonest
first, only of the member's stores, paged by (deadline, id)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from app.extensions import db
from models.base import utcnow
from models.orders.tables import Order
from tests.app.test_errors import assert_error
from tests.factories import bearer, make_staff, make_store, staff_token
from tests.models.payments.test_payments import paid_order, shop  # noqa: F401
from tests.models.pickup.test_expiry import clerk_of, ready


def due_in(app, order_no, hours):
    with app.app_context():
        db.session.execute(update(Order).where(Order.order_no == order_no)
                           .values(pickup_deadline=utcnow() + timedelta(hours=hours)))
        db.session.commit()


def listed(client, headers, **query):
    resp = client.get("/api/staff/pickups/expiring", headers=headers, query_string=query)
    assert resp.status_code == 200, resp.json
    return resp.json


def test_soonest_first_within_the_window_and_paged(app, client, sandbox, shop):
    late, soon, sooner, same = (ready(app, client, sandbox, shop, qty=1) for _ in range(4))
    due_in(app, late, 30)
    due_in(app, soon, 5)
    due_in(app, sooner, 2)
    due_in(app, same, 5)  # same deadline as `soon`: the id breaks the tie
    not_ready = paid_order(app, client, sandbox, shop)
    clerk = clerk_of(app, client, shop)
    everything = [o["order_no"] for o in listed(client, clerk)["items"]]
    assert everything == [sooner, soon, same]
    assert not_ready not in everything
    assert [o["order_no"] for o in listed(client, clerk, within_hours=48)["items"]] == [sooner, soon, same, late]
    first = listed(client, clerk, limit=2)
    assert [o["order_no"] for o in first["items"]] == [sooner, soon] and first["next_cursor"]
    rest = listed(client, clerk, limit=2, cursor=first["next_cursor"])
    assert [o["order_no"] for o in rest["items"]] == [same] and rest["next_cursor"] is None


def test_only_my_stores(app, client, sandbox, shop):
    due_in(app, ready(app, client, sandbox, shop, qty=1), 3)
    with app.app_context():
        other = make_store(name="别家店")
        stranger = bearer(staff_token(client, make_staff("clerk", [other])))
        other_id = other.id
    assert listed(client, stranger)["items"] == []
    assert_error(client.get("/api/staff/pickups/expiring", headers=stranger,
                            query_string={"store_id": shop[0]}), 403, "forbidden")
    assert listed(client, stranger, store_id=other_id)["items"] == []
    assert_error(client.get("/api/staff/pickups/expiring", headers=stranger,
                            query_string={"within_hours": 0}), 400, "invalid_request")
