"""Points: oldest-expiring first, expiry under time travel, a spend racing a spend never
overdraws, a cancelled spend comes back once, a refund claws back once (with a debt later
earnings pay), and every entry carries the balance after it."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app.extensions import db
from models.base import utcnow
from models.growth import points
from models.growth.tables import PointAccount, PointEntry, PointLot
from models.users import User
from tests.models.orders.test_concurrency import run_threads


@pytest.fixture
def shopper(ctx):
    user = User(openid=f"o-points-{utcnow().timestamp()}")
    db.session.add(user)
    db.session.commit()
    return user.id


def balance(user_id) -> tuple[int, int]:
    db.session.expire_all()
    account = db.session.get(PointAccount, user_id)
    return account.balance, account.debt


def entries_agree(user_id) -> None:
    """The entries replay to the account: each balance_after is the running sum."""
    rows = db.session.execute(select(PointEntry.delta, PointEntry.balance_after).where(
        PointEntry.user_id == user_id).order_by(PointEntry.id)).all()
    running = 0
    for delta, after in rows:
        running += delta
        assert running == after, rows
    lots = db.session.scalar(select(func.coalesce(func.sum(PointLot.remaining), 0)).where(PointLot.user_id == user_id))
    assert running == balance(user_id)[0] == lots


def test_expiry_is_the_end_of_the_twelfth_month_china_time():
    earned = datetime(2026, 12, 7, 3, 0, tzinfo=timezone.utc)
    assert points.expiry_for(earned) == datetime(2027, 12, 31, 16, 0, tzinfo=timezone.utc)
    # 23:30 UTC on 30 November is already December in Shanghai.
    assert points.expiry_for(datetime(2026, 11, 30, 23, 30, tzinfo=timezone.utc)) == \
        datetime(2027, 12, 31, 16, 0, tzinfo=timezone.utc)


def test_spending_takes_the_oldest_expiring_first_and_expiry_takes_the_rest(shopper):
    now = utcnow()
    old = points.earn(shopper, 300, source="order", ref="A", now=now - timedelta(days=200))
    new = points.earn(shopper, 500, source="order", ref="B", now=now)
    later = points.earn(shopper, 400, source="order", ref="C", now=now, available_from=now + timedelta(days=7))
    db.session.commit()
    assert points.spendable(shopper, now) == 800  # C waits for its order's after-sale window
    taken = points.spend(shopper, 400, ref="order:1", now=now)
    db.session.commit()
    assert taken == [(old.id, 300), (new.id, 100)]
    assert points.spend(shopper, 400, ref="order:1", now=now) == taken  # the same spend again: nothing more
    with pytest.raises(points.PointsInsufficient):
        points.spend(shopper, 401, ref="order:2", now=now)
    db.session.rollback()
    # A year on, B has expired (the job, once), C too; nothing is left.
    assert points.expire_due(now + timedelta(days=400)) == 400 + 400
    assert points.expire_due(now + timedelta(days=400)) == 0
    db.session.commit()
    assert balance(shopper) == (0, 0)
    assert later.id
    entries_agree(shopper)


def test_a_cancelled_spend_comes_back_once(shopper):
    points.earn(shopper, 1000, source="admin", ref="gift")
    points.spend(shopper, 600, ref="order:9")
    db.session.commit()
    assert points.return_spend(shopper, ref="order:9") == 600
    assert points.return_spend(shopper, ref="order:9") == 0
    db.session.commit()
    assert balance(shopper) == (1000, 0)
    entries_agree(shopper)


def test_a_refund_claws_back_once_and_what_was_spent_becomes_a_debt(shopper):
    points.earn(shopper, 500, source="order", ref="X")
    points.spend(shopper, 200, ref="order:7")
    db.session.commit()
    assert points.claw_back(source="order", ref="X") == 300 + 200
    assert points.claw_back(source="order", ref="X") == 0  # the refund notify again
    db.session.commit()
    assert balance(shopper) == (0, 200)
    # The next earning pays the debt first.
    lot = points.earn(shopper, 350, source="order", ref="Y")
    db.session.commit()
    assert (lot.remaining, balance(shopper)) == (150, (150, 0))
    entries_agree(shopper)


def test_spends_racing_never_overdraw(app, shopper):
    points.earn(shopper, 1000, source="admin", ref="start")
    db.session.commit()

    def spend(i):
        with app.app_context():
            try:
                points.spend(shopper, 300, ref=f"order:{i}")
                db.session.commit()
                return "ok"
            except points.PointsInsufficient:
                return "short"
            finally:
                db.session.remove()

    outcomes = Counter(run_threads(8, spend))
    assert outcomes == {"ok": 3, "short": 5}
    assert balance(shopper) == (100, 0)
    entries_agree(shopper)


def test_checkout_value_rounds_down_to_units_and_caps_at_half():
    assert points.checkout_value(1000, 10000) == (1000, 1000)   # 1000 points: ¥10
    assert points.checkout_value(1050, 10000) == (1000, 1000)   # whole hundreds
    assert points.checkout_value(9000, 5000) == (2500, 2500)    # at most half of ¥50
    assert points.checkout_value(500, 150) == (0, 0)            # half of ¥1.50 is under 100 points
