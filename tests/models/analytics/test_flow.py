"""Time in each step and the funnel: digests equal to a brute-force bucketing of the
orders' own timestamps, percentiles within the documented ±4.9 % of the exact values, a
slow store flagged against the others and alerted once, the funnel's fates."""
from __future__ import annotations

import math
import random
from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from models.analytics import bottlenecks, calendar, digest, reports, rollup
from models.analytics.flow import durations_of_day, funnel_of_day
from models.analytics.tables import FunnelDay, StepDay
from models.orders.tables import Order
from models.outbox.tables import OutboxMessage
from models.official.alert_render import duration_text, render
from tests.factories import make_product, make_shopper, make_store, mark_paid, mark_ready, stock
from tests.models.analytics.test_rollups import days_ago, history  # noqa: F401
from tests.models.orders.test_placement import order_body
from tests.models.payments.test_payments import shop  # noqa: F401


def exact(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def test_percentiles_are_within_the_documented_bound():
    rng = random.Random(7)
    for n in (1, 2, 19, 500, 5000):
        values = [rng.lognormvariate(8, 1.5) + 2 for _ in range(n)]
        d: dict[int, int] = {}
        for v in values:
            digest.add(d, v)
        for q in (0.5, 0.9, 0.99):
            assert abs(digest.percentile(d, q) - exact(values, q)) <= 0.049 * exact(values, q) + 0.5
    # Digests add up: two halves merged are the whole.
    a, b, whole = {}, {}, {}
    for i, v in enumerate(values):
        digest.add(a if i % 2 else b, v)
        digest.add(whole, v)
    assert digest.merge(digest.merge({}, a), digest.to_json(b)) == whole
    assert digest.percentile({}, 0.5) is None


def brute_force_steps() -> dict:
    """{(day, store_id, step): digest} from the orders' own stamps, in Python."""
    out: dict = {}
    for o in db.session.scalars(select(Order)):
        for step, start, end in (("pay", o.created_at, o.paid_at), ("ready", o.paid_at, o.ready_at),
                                 ("pickup", o.ready_at, o.picked_up_at), ("ship", o.paid_at, o.shipped_at),
                                 ("deliver", o.shipped_at, o.delivered_at)):
            if start is not None and end is not None:
                digest.add(out.setdefault((calendar.today(end), o.store_id, step), {}), (end - start).total_seconds())
    return out


def test_built_steps_and_funnels_equal_the_raw_tables(app, history):
    made, _ = history
    with app.app_context():
        today = calendar.today()
        rollup.build(today - timedelta(days=5), today - timedelta(days=1))
        db.session.commit()
        stored = {(r.day, r.store_id, r.step): {int(k): v for k, v in r.digest.items()}
                  for r in db.session.scalars(select(StepDay))}
        assert stored == brute_force_steps() and stored
        assert {s for _, _, s in stored} == {"pay", "ready", "pickup"}
        funnels = {r.day: r.funnel() for r in db.session.scalars(select(FunnelDay))}
        # Three days ago: unpaid, cancelled by the shopper, cancelled by the system.
        assert funnels[today - timedelta(days=3)] == {
            "placed": 3, "paid": 0, "prepared": 0, "collected": 0, "kept": 0,
            "lost_unpaid": 2, "lost_expired": 0, "lost_refunded": 0}
        # Two days ago: one picked up, one partly refunded (still kept to collect).
        assert funnels[today - timedelta(days=2)] == {
            "placed": 2, "paid": 2, "prepared": 1, "collected": 1, "kept": 1,
            "lost_unpaid": 0, "lost_expired": 0, "lost_refunded": 0}
        assert rollup.differences(today - timedelta(days=5), today - timedelta(days=1)) == []
        # A tampered digest is caught.
        row = db.session.scalars(select(StepDay)).first()
        row.digest = {"0": 99}
        db.session.commit()
        assert {d["figure"] for d in rollup.differences(today - timedelta(days=5), today - timedelta(days=1))} \
            == {f"step.{row.step}"}


def test_the_flow_report_live_equals_built(app, client, history):
    made, manager = history
    with app.app_context():
        today = calendar.today()
        first = today - timedelta(days=5)
        live = reports.flow(None, first, today)
        rollup.build(first, today - timedelta(days=1))
        db.session.commit()
        built = reports.flow(None, first, today)
    assert live["steps"] == built["steps"] and live["funnel"] == built["funnel"]
    assert built["funnel"]["totals"]["placed"] == 6
    resp = client.get("/api/admin/reports/flow", headers=manager,
                      query_string={"from": str(first), "to": str(today)})
    assert resp.status_code == 200, resp.json
    pickup = next(s for s in resp.json["steps"] if s["step"] == "pickup")
    assert pickup["samples"] == 1 and pickup["p90_s"] is not None
    assert resp.json["funnel"]["totals"] == built["funnel"]["totals"]


def test_a_slow_store_is_flagged_and_alerted_once(app, client, ctx):
    sku = make_product("米", skus=[("5kg", 5000)]).skus[0]
    stores = [make_store(name=f"店{i}") for i in range(3)]
    _, shopper = make_shopper()
    for store in stores:
        stock(store, sku, 100)
        for _ in range(bottlenecks.MIN_SAMPLES):
            resp = client.post("/api/orders", headers=shopper, json=order_body(store, (sku, 1)))
            assert resp.status_code == 201, resp.json
            mark_paid(resp.json["order_no"])
            mark_ready(resp.json["order_no"])
    slow = stores[2]
    # The slow store's orders were paid five hours before they were made ready.
    for order in db.session.scalars(select(Order).where(Order.store_id == slow.id)):
        order.paid_at = order.ready_at - timedelta(hours=5)
    db.session.commit()
    today = calendar.today()
    ready = next(s for s in bottlenecks.steps(today, today, None, today) if s["step"] == "ready")
    flags = {r["store_id"]: r["bottleneck"] for r in ready["by_store"]}
    assert flags == {stores[0].id: None, stores[1].id: None, slow.id: "vs_stores"}
    slow_row = next(r for r in ready["by_store"] if r["store_id"] == slow.id)
    assert abs(slow_row["p90_s"] - 5 * 3600) <= 0.05 * 5 * 3600

    days_ago([o.order_no for o in db.session.scalars(select(Order))], 1)
    assert bottlenecks.alert_yesterday() == 1
    assert bottlenecks.alert_yesterday() == 0  # the hourly job again: nothing new
    db.session.commit()
    alerts = [m.payload for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "staff_alert"))
              if m.payload.get("event") == "bottleneck"]
    assert len(alerts) == 1 and alerts[0]["store_id"] == slow.id and alerts[0]["step"] == "ready"
    shown = render(alerts[0])
    assert shown.values["title"] == "备货环节变慢"
    assert shown.values["reason"] == f"备货慢：9成订单{duration_text(alerts[0]['p90_s'])}内（其他门店不到1分钟）"
    assert duration_text(17460) == "4小时51分" and duration_text(2 * 86400 + 3600) == "2天1小时"


def test_a_day_with_nothing_has_no_rows(app, ctx):
    today = calendar.today()
    assert durations_of_day(today) == {} and funnel_of_day(today) == {}
