"""Visit streaks and priority pickup: a check-in or a pickup marks a China-calendar day,
once; seven days in a row grant priority pickup (and a missed day starts again); an order
paid while the shopper has priority — from a streak or a level — carries it, read in the
payment's own locking read, and clerks can list such orders first."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from app.extensions import db
from models.growth import streaks
from models.growth.tables import MemberLevel, Member, PointLot, Streak
from models.orders.tables import Order
from models.payments.apply import apply_transaction
from tests.models.pickup.support import counter, place, ready_order, shown, verify  # noqa: F401

# 09:00 China time on 1 Dec 2026, as UTC
MORNING = datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc)


def test_seven_days_in_a_row_grant_priority_and_a_missed_day_starts_again(app, counter):
    user_id = counter.user.id
    app.config.update(STREAK_POINTS=50)
    for day in range(6):
        at = MORNING + timedelta(days=day)
        streaks.visit(user_id, at)
        streaks.visit(user_id, at + timedelta(hours=10))  # 19:00 the same day: counts once
        db.session.commit()
    row = db.session.get(Streak, user_id)
    assert (row.length, row.rewards, row.priority_until) == (6, 0, None)
    # 23:30 China time is still the 7th day (15:30 UTC): the benefit, once.
    seventh = MORNING + timedelta(days=6, hours=14, minutes=30)
    streaks.visit(user_id, seventh)
    streaks.visit(user_id, seventh + timedelta(minutes=10))
    db.session.commit()
    db.session.expire_all()
    row = db.session.get(Streak, user_id)
    assert (row.length, row.best, row.rewards) == (7, 7, 1)
    assert row.priority_until == seventh + timedelta(days=7)
    lots = db.session.scalars(select(PointLot).where(PointLot.user_id == user_id, PointLot.source == "streak")).all()
    assert [lot.amount for lot in lots] == [50]
    assert streaks.has_priority(user_id, seventh + timedelta(days=6)) is True
    assert streaks.has_priority(user_id, seventh + timedelta(days=8)) is False
    # A day missed: the run starts again at 1, the best stays.
    streaks.visit(user_id, MORNING + timedelta(days=9))
    db.session.commit()
    db.session.expire_all()
    row = db.session.get(Streak, user_id)
    assert (row.length, row.best, row.rewards) == (1, 7, 1)


def test_check_in_over_http_and_a_pickup_is_a_visit(client, counter):
    c = counter
    first = client.post("/api/me/checkin", headers=c.shopper)
    assert first.status_code == 200, first.json
    assert (first.json["length"], first.json["checked_in_today"], first.json["streak_days"]) == (1, True, 7)
    again = client.post("/api/me/checkin", headers=c.shopper).json
    assert (again["length"], again["to_next_reward"], again["priority_pickup"]) == (1, 6, False)
    # Yesterday's visit (moved back by hand) and today's pickup make two days in a row.
    db.session.get(Streak, c.user.id).last_day -= timedelta(days=1)
    db.session.commit()
    order_no = ready_order(client, c, (c.skus[0], 1))
    assert verify(client, c.clerk, code=shown(client, c, order_no)["code"]).status_code == 200
    assert client.get("/api/me/streak", headers=c.shopper).json["length"] == 2


def pay(app, order_no: str, n: int) -> str:
    order = db.session.scalars(select(Order).where(Order.order_no == order_no)).one()
    tx = {"trade_state": "SUCCESS", "out_trade_no": order_no, "transaction_id": f"4200000000{n:04d}",
          "mchid": app.config["WECHATPAY_MCHID"], "appid": app.config["WECHAT_APPID"],
          "amount": {"total": order.payable_fen, "currency": "CNY"}, "success_time": "2026-12-07T10:00:00+08:00"}
    outcome = apply_transaction(tx, source="query")
    db.session.commit()
    return outcome


def test_orders_paid_with_priority_carry_it_and_clerks_list_them_first(app, client, counter):
    c = counter
    plain = place(client, c, (c.skus[0], 1))
    assert pay(app, plain, 1) == "applied"
    # The streak's benefit: paid in the one-batch path.
    db.session.add(Streak(user_id=c.user.id, last_day=MORNING.date(), length=7, best=7, rewards=1,
                          priority_until=datetime.now(timezone.utc) + timedelta(days=3), updated_at=MORNING))
    db.session.commit()
    by_streak = place(client, c, (c.skus[0], 1))
    assert pay(app, by_streak, 2) == "applied"
    # The streak's benefit over, a level with priority pickup instead.
    db.session.get(Streak, c.user.id).priority_until = None
    level = MemberLevel(name="金卡", min_spend_fen=0, points_percent=100, priority_pickup=True)
    db.session.add(level)
    db.session.flush()
    db.session.add(Member(user_id=c.user.id, level_id=level.id, spend_12m_fen=0))
    db.session.commit()
    by_level = place(client, c, (c.skus[0], 1))
    assert pay(app, by_level, 3) == "applied"
    db.session.expire_all()
    flags = dict(db.session.execute(select(Order.order_no, Order.priority)).all())
    assert flags == {plain: False, by_streak: True, by_level: True}

    listed = client.get("/api/staff/orders", headers=c.clerk,
                        query_string={"store_id": c.store.id, "status": "paid", "priority": "true"}).json
    assert [o["order_no"] for o in listed["items"]] == [by_level, by_streak]
    assert all(o["priority"] for o in listed["items"])
    rest = client.get("/api/staff/orders", headers=c.clerk,
                      query_string={"store_id": c.store.id, "status": "paid", "priority": "false"}).json
    assert [(o["order_no"], o["priority"]) for o in rest["items"]] == [(plain, False)]
    assert client.get("/api/me/streak", headers=c.shopper).json["priority_pickup"] is True
