"""Customer scores: RFM quintiles, segments, pickup styles from the verification ledger,
who can still be reached, repeat purchase per first-order month; per store and overall."""
from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from app.extensions import db
from models.analytics import customers, reports
from models.analytics.tables import Customer
from tests.factories import make_card_batch, make_shopper, make_staff, bearer, staff_token
from tests.models.analytics.test_rollups import days_ago
from tests.models.notifications.test_subscribe import grant
from tests.models.pickup.support import counter, ready_order, shown, verify  # noqa: F401


def test_quintiles_and_segments():
    values = sorted([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    assert [customers._quintile(values, v) for v in (1, 3, 5, 7, 10)] == [1, 2, 3, 4, 5]
    assert customers._quintile([2, 2, 2], 2) == 3  # ties share their middle rank's score
    assert [customers._quintile([1, 1, 1, 1, 3], v) for v in (1, 3)] == [2, 5]
    assert customers.segment(120, 400, 5, 5) == "dormant"
    assert customers.segment(3, 10, 5, 5) == "new"
    assert customers.segment(3, 200, 4, 4) == "champions"
    assert customers.segment(40, 200, 3, 4) == "loyal"
    assert customers.segment(60, 200, 2, 3) == "at_risk"
    assert customers.segment(20, 200, 3, 2) == "regular"


def test_scores_styles_reach_and_cohorts(client, sandbox, counter):
    c = counter
    a, b = c.skus
    stocker, stocker_headers = make_shopper("o-stocker")
    dormant, dormant_headers = make_shopper("o-dormant")
    # The stocker: three orders, each collected over two visits.
    for _ in range(3):
        order_no = ready_order(client, c, (a, 2), headers=stocker_headers)
        code = shown(client, replace(c, shopper=stocker_headers), order_no)["code"]
        assert verify(client, c.clerk, code=code, items=[{"sku_id": a.id, "qty": 1}]).status_code == 200
        assert verify(client, c.clerk, code=code).status_code == 200
    # ...and still has stock held: a ready order of 3, one collected (2 left), and a card of
    # 5 units × 2 from which one unit was redeemed (4 units × 2 = 8 left; the redeemed 2 wait
    # in an order of their own).
    open_no = ready_order(client, c, (a, 3), headers=stocker_headers)
    code = shown(client, replace(c, shopper=stocker_headers), open_no)["code"]
    assert verify(client, c.clerk, code=code, items=[{"sku_id": a.id, "qty": 1}]).status_code == 200
    (serial, password), = make_card_batch(a, count=1, units=5, qty_per_unit=2)[1].items()
    resp = client.post("/api/cards/redeem", headers=stocker_headers, json={
        "serial": serial, "password": password, "fulfillment": "pickup", "store_id": c.store.id})
    assert resp.status_code == 201, resp.json
    # The counter's own shopper collects at once.
    order_no = ready_order(client, c, (b, 1))
    assert verify(client, c.clerk, code=shown(client, c, order_no)["code"]).status_code == 200
    # The dormant one paid 120 days ago, and can still be sent a message.
    old = ready_order(client, c, (a, 1), headers=dormant_headers)
    grant(client, sandbox, "o-dormant", dormant_headers)
    days_ago([old], 120)

    done = customers.build(365)
    db.session.commit()
    assert done == {"customers": 3, "rows": 6, "window_days": 365}
    rows = {(r.store_id, r.user_id): r for r in db.session.scalars(select(Customer))}
    mine = rows[(0, stocker.id)]
    assert (mine.orders, mine.pickup_orders, mine.visits, mine.pickup_style) == (5, 4, 7, "stocks_up")
    assert mine.segment == "new" and mine.f == 5 and mine.monetary_fen == (3 * 2 + 3) * 12800
    assert (mine.units_held, mine.card_units_held) == (2 + 2, 8)
    assert (rows[(0, c.user.id)].units_held, rows[(0, c.user.id)].card_units_held) == (0, 0)
    assert rows[(0, c.user.id)].pickup_style == "at_once"
    gone = rows[(0, dormant.id)]
    assert (gone.segment, gone.reachable, gone.pickup_style) == ("dormant", True, "none")
    assert (rows[(c.store.id, stocker.id)].orders, rows[(c.store.id, stocker.id)].card_units_held) == (5, 8)  # the store too

    manager = bearer(staff_token(client, make_staff("manager", [c.store])))
    resp = client.get("/api/admin/reports/customers", headers=manager)
    assert resp.status_code == 200, resp.json
    (scope,) = resp.json["scopes"]
    assert scope["store_id"] == c.store.id
    segments = {s["segment"]: s for s in scope["segments"]}
    assert (segments["dormant"]["customers"], segments["dormant"]["reachable"]) == (1, 1)
    assert segments["new"]["customers"] == 2
    styles = {s["style"]: s["customers"] for s in scope["pickup_styles"]}
    assert styles == {"stocks_up": 1, "at_once": 1, "none": 1}
    stockers = next(s for s in scope["pickup_styles"] if s["style"] == "stocks_up")
    assert (stockers["units_held"], stockers["card_units_held"]) == (4, 8)
    assert (segments["new"]["units_held"], segments["new"]["card_units_held"]) == (4, 8)
    months = {co["month"]: co for co in scope["cohorts"]}
    assert sum(co["customers"] for co in months.values()) == 3
    assert sum(co["repeat"] for co in months.values()) == 1  # the stocker
    everything = reports.customers(None)["scopes"]
    assert [s["store_id"] for s in everything] == [0]
    assert everything[0]["computed_at"] is not None

    # Built again, nothing doubles.
    customers.build(365)
    db.session.commit()
    assert len(list(db.session.scalars(select(Customer)))) == 6
