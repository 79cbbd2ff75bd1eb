"""Rollups equal the raw tables: after every kind of order move and a refund, built days
hold what an independent count of the orders' own timestamps says; a refund that lands
on an already built day reaches it when the window is rebuilt; a tampered row is caught."""
from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.errors import InvalidRequest
from app.extensions import db
from models.analytics import calendar, reports, rollup
from models.analytics.figures import FIELDS
from models.analytics.tables import RollupDay, StoreDay
from models.orders import lifecycle
from models.orders.status import SYSTEM, Actor, transition
from models.orders.tables import Order, OrderEvent
from models.orders.unpaid import cancel
from models.payments.tables import Payment, Refund
from models.pickup.tables import PickupVerification
from models.stores import Store
from tests.factories import bearer, make_staff, staff_token
from tests.models.payments.test_payments import paid_order, place, shop  # noqa: F401
from tests.models.payments.test_refunds import refund, succeed

_STAMPS = ("created_at", "pay_deadline", "paid_at", "ready_at", "pickup_deadline", "picked_up_at",
           "shipped_at", "delivered_at", "completed_at", "cancelled_at")


def days_ago(order_nos: list[str], days: int) -> None:
    """Move orders' whole history `days` back: their stamps, events, payment and refunds
    (what the orders would hold had they been placed then)."""
    back = timedelta(days=days)
    orders = list(db.session.scalars(select(Order).where(Order.order_no.in_(order_nos))))
    ids = [o.id for o in orders]
    for order in orders:
        for name in _STAMPS:
            if getattr(order, name) is not None:
                setattr(order, name, getattr(order, name) - back)
    for row in db.session.scalars(select(OrderEvent).where(OrderEvent.order_id.in_(ids))):
        row.at -= back
    for row in db.session.scalars(select(Payment).where(Payment.order_id.in_(ids))):
        row.paid_at = row.paid_at - back if row.paid_at else None
    for row in db.session.scalars(select(Refund).where(Refund.order_id.in_(ids))):
        row.created_at -= back
        row.succeeded_at = row.succeeded_at - back if row.succeeded_at else None
    db.session.commit()


def brute_force() -> dict:
    """{(day, store_id): figures} from the orders' own timestamps and the refunds, one row
    at a time in Python: nothing shared with the SQL under test but the tables."""
    out: dict = defaultdict(lambda: dict.fromkeys(FIELDS, 0))
    day = calendar.today

    def count(stamp, store_id, name, fen=None, fen_name=None):
        if stamp is None:
            return
        figures = out[(day(stamp), store_id)]
        figures[name] += 1
        if fen_name:
            figures[fen_name] += fen

    first_paid: dict[int, int] = {}
    for o in db.session.scalars(select(Order).where(Order.paid_at.is_not(None)).order_by(Order.id)):
        first_paid.setdefault(o.user_id, o.id)
    buyers: dict = {}
    for o in db.session.scalars(select(Order)):
        if o.paid_at is not None:
            key = (day(o.paid_at), o.store_id, o.user_id)
            buyers[key] = buyers.get(key, False) or first_paid[o.user_id] == o.id
        count(o.created_at, o.store_id, "placed", o.payable_fen, "placed_fen")
        count(o.paid_at, o.store_id, "paid", o.payable_fen, "paid_fen")
        count(o.cancelled_at, o.store_id, "cancelled")
        for stamp, name in ((o.ready_at, "ready"), (o.picked_up_at, "picked_up"), (o.shipped_at, "shipped"),
                            (o.delivered_at, "delivered"), (o.completed_at, "completed")):
            count(stamp, o.store_id, name)
        by = {e.to_status: e for e in o.events}
        if "cancelled" in by:
            who = {"user": "cancelled_by_shopper", "staff": "cancelled_by_staff", "system": "cancelled_by_system"}
            count(by["cancelled"].at, o.store_id, who[by["cancelled"].actor_type])
        if "pickup_expired" in by:
            count(by["pickup_expired"].at, o.store_id, "pickup_expired")
    for v in db.session.scalars(select(PickupVerification)):
        count(v.verified_at, v.store_id, "pickup_visits")
        if v.partial:
            count(v.verified_at, v.store_id, "partial_visits")
    for (d, store_id, _), new in buyers.items():
        out[(d, store_id)]["new_buyers" if new else "returning_buyers"] += 1
    for r in db.session.scalars(select(Refund).where(Refund.status == "success")):
        store_id = db.session.get(Order, r.order_id).store_id
        count(r.succeeded_at, store_id, "refunds", r.amount_fen, "refunded_fen")
    return {key: value for key, value in out.items() if any(value.values())}


def stored() -> dict:
    return {(row.day, row.store_id): row.figures() for row in db.session.scalars(select(StoreDay))}


@pytest.fixture
def history(app, client, sandbox, shop):
    """Orders of every kind, spread over the three days before today."""
    store_id = shop[0]
    with app.app_context():
        manager = bearer(staff_token(client, make_staff("manager", [db.session.get(Store, store_id)])))
    made = {}
    made["unpaid"] = place(client, shop)
    made["shopper_cancelled"] = place(client, shop)
    client.post(f"/api/orders/{made['shopper_cancelled']}/cancel", headers=shop[2], json={})
    made["system_cancelled"] = place(client, shop)
    made["picked_up"] = paid_order(app, client, sandbox, shop, qty=2)
    made["refunded_part"] = paid_order(app, client, sandbox, shop, qty=2)
    made["ready"] = paid_order(app, client, sandbox, shop)
    with app.app_context():
        rows = {name: db.session.scalars(select(Order).where(Order.order_no == no)).one() for name, no in made.items()}
        cancel(rows["system_cancelled"], SYSTEM, "pay deadline")
        for name in ("picked_up", "ready"):
            lifecycle.mark_ready(rows[name], Actor("staff", 1))
        transition(rows["picked_up"], "pick_up", SYSTEM)
        transition(rows["picked_up"], "complete", SYSTEM)
        db.session.commit()
    succeed(app, sandbox, made["refunded_part"], refund(client, manager, made["refunded_part"], 5000, "r1"))
    with app.app_context():
        days_ago([made["unpaid"], made["shopper_cancelled"], made["system_cancelled"]], 3)
        days_ago([made["picked_up"], made["refunded_part"]], 2)
        days_ago([made["ready"]], 1)
    return made, manager


def test_built_days_equal_an_independent_count_of_the_raw_tables(app, history):
    with app.app_context():
        today = calendar.today()
        done = rollup.build(today - timedelta(days=5), today - timedelta(days=1))
        db.session.commit()
        expected = brute_force()
        assert done["days"] == 5 and done["rows"] == len(expected) == 3
        assert stored() == expected
        assert rollup.differences(today - timedelta(days=5), today - timedelta(days=1)) == []
        # Each kind was counted somewhere (the comparison above is not of empty sets).
        total = {name: sum(f[name] for f in expected.values()) for name in FIELDS}
        assert total["placed"] == 6 and total["paid"] == 3 and total["cancelled"] == 2
        assert total["cancelled_by_shopper"] == 1 and total["cancelled_by_system"] == 1
        assert (total["ready"], total["picked_up"], total["completed"]) == (2, 1, 1)
        assert (total["refunds"], total["refunded_fen"]) == (1, 5000)
        assert total["paid_fen"] == 4 * 12800 + 12800
        # One shopper paid three orders over two days: new on the first, returning on the next.
        assert (total["new_buyers"], total["returning_buyers"]) == (1, 1)
        # Building again changes nothing.
        rollup.build(today - timedelta(days=5), today - timedelta(days=1))
        db.session.commit()
        assert stored() == expected


def test_the_report_reads_rollups_for_past_days_and_today_live(app, client, sandbox, shop, history):
    made, manager = history
    with app.app_context():
        today = calendar.today()
        rollup.build(today - timedelta(days=3), today - timedelta(days=1))
        db.session.commit()
    live_paid = paid_order(app, client, sandbox, shop)  # today: in no rollup
    resp = client.get("/api/admin/reports/daily", headers=manager,
                      query_string={"from": str(today - timedelta(days=3)), "to": str(today)})
    assert resp.status_code == 200, resp.json
    body = resp.json
    by_day = {row["day"]: row for row in body["by_day"]}
    assert list(by_day) == [str(today - timedelta(days=n)) for n in (3, 2, 1, 0)]
    assert by_day[str(today)]["paid"] == 1 and by_day[str(today)]["paid_fen"] == 12800
    assert by_day[str(today - timedelta(days=2))]["refunded_fen"] == 5000
    assert body["totals"]["paid"] == 4 and body["totals"]["net_fen"] == 5 * 12800 + 12800 - 5000
    assert body["totals"]["average_order_fen"] == body["totals"]["paid_fen"] // 4
    assert [row["store_id"] for row in body["by_store"]] == [shop[0]]
    assert body["previous"]["from"] == str(today - timedelta(days=7))
    assert body["previous"]["totals"]["placed"] == 0
    assert live_paid


def test_a_refund_on_a_built_day_reaches_it_when_the_window_is_rebuilt(app, client, sandbox, shop, history):
    made, manager = history
    with app.app_context():
        rollup.build_trailing(7)
        db.session.commit()
    # A refund of the picked-up order that succeeded yesterday, but is only seen now
    # (WeChat Pay's answer came late): yesterday is already built.
    succeed(app, sandbox, made["picked_up"], refund(client, manager, made["picked_up"], 1234, "late"))
    with app.app_context():
        r = db.session.scalars(select(Refund).where(Refund.amount_fen == 1234)).one()
        r.succeeded_at -= timedelta(days=1)
        db.session.commit()
        today = calendar.today()
        window = (today - timedelta(days=7), today - timedelta(days=1))
        found = rollup.differences(*window)
        assert {(d["figure"], d["stored"], d["actual"]) for d in found if not d["figure"].startswith("sku.")} \
            == {("refunds", 0, 1), ("refunded_fen", 0, 1234)}
        (sku,) = [d for d in found if d["figure"].startswith("sku.")]  # the SKU's share of it
        assert sku["actual"]["refunded_fen"] - sku["stored"]["refunded_fen"] == 1234
        rollup.build_trailing(7)
        db.session.commit()
        assert rollup.differences(*window) == []
        assert stored() == brute_force()


def test_the_check_command_catches_a_tampered_rollup(app, history):
    with app.app_context():
        today = calendar.today()
        rollup.build(today - timedelta(days=3), today - timedelta(days=1))
        db.session.commit()
    args = ["analytics", "check", "--from", str(today - timedelta(days=3)), "--to", str(today - timedelta(days=1))]
    clean = app.test_cli_runner().invoke(args=args)
    assert clean.exit_code == 0, clean.output
    assert "match the raw tables" in clean.output
    with app.app_context():
        db.session.execute(update(StoreDay).where(StoreDay.day == today - timedelta(days=2))
                           .values(paid_fen=StoreDay.paid_fen + 1))
        db.session.commit()
    tampered = app.test_cli_runner().invoke(args=args)
    assert tampered.exit_code == 1
    assert f"DIFFERS {today - timedelta(days=2)}" in tampered.output and "paid_fen" in tampered.output


def test_the_rollup_command_builds_a_range(app, history):
    with app.app_context():
        today = calendar.today()
    result = app.test_cli_runner().invoke(args=["analytics", "rollup", "--from", str(today - timedelta(days=3)),
                                                "--to", str(today - timedelta(days=1))])
    assert result.exit_code == 0, result.output
    assert "3 day(s), 3 store row(s)" in result.output
    with app.app_context():
        assert len(list(db.session.scalars(select(RollupDay)))) == 3
        assert stored() == brute_force()


def test_only_ended_days_are_built_and_ranges_are_bounded(app, ctx):
    today = calendar.today()
    for first, last in ((today, today), (today - timedelta(days=1), today - timedelta(days=2)),
                        (today - timedelta(days=400), today - timedelta(days=1))):
        with pytest.raises(InvalidRequest):
            rollup.build(first, last)
    with pytest.raises(InvalidRequest):
        reports.daily(None, today - timedelta(days=366), today)


def test_every_figure_has_a_column():
    columns = {c.name for c in StoreDay.__table__.columns} - {"day", "store_id"}
    assert columns == set(FIELDS)


def test_pickup_visits_and_partial_ones_are_counted(client, ctx):
    from tests.models.pickup.support import make_counter, ready_order, shown, verify

    c = make_counter(client)
    code = shown(client, c, ready_order(client, c, (c.skus[0], 3)))["code"]
    assert verify(client, c.clerk, code=code, items=[{"sku_id": c.skus[0].id, "qty": 1}]).status_code == 200
    assert verify(client, c.clerk, code=code).status_code == 200
    today = calendar.today()
    figures = reports.daily([c.store.id], today, today)["totals"]
    assert (figures["pickup_visits"], figures["partial_visits"], figures["picked_up"]) == (2, 1, 1)
    assert brute_force()[(today, c.store.id)]["pickup_visits"] == 2
