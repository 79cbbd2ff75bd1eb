"""Visit streaks and priority pickup.

A visit is a China-calendar day on which the shopper checked in (签到, in the
mini-program) or collected a pickup at a store; several on one day count once. Days in a
row make a streak; every STREAK_DAYS-th day of one grants its benefit — priority pickup
for STREAK_PRIORITY_DAYS and, if set, STREAK_POINTS points (a lot keyed by the day, so a
repeated visit earns nothing twice). A missed day starts the run again at 1.

Priority pickup comes from a streak still running its benefit or from a member level
that has it. It is fixed on an order when the order is paid, read in the payment's own
locking read (`priority_expr`), so paying costs no extra round trip; clerks see such
orders first.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import exists, or_, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from models.base import utcnow
from models.growth.tables import Member, MemberLevel, Streak

CHINA = ZoneInfo("Asia/Shanghai")


def day_of(at: datetime) -> date:
    return at.astimezone(CHINA).date()


def _locked(user_id: int) -> Streak | None:
    return db.session.scalars(select(Streak).where(Streak.user_id == user_id).with_for_update()
                              .execution_options(populate_existing=True)).first()


def visit(user_id: int, at: datetime | None = None) -> Streak:
    """Mark the shopper's visit today; the benefit when the run reaches a multiple of
    STREAK_DAYS. Under the streak row's lock: two visits at once count once. The caller
    commits."""
    at = at or utcnow()
    today = day_of(at)
    streak = _locked(user_id)
    if streak is None:  # a first visit inserts; a second at once waits on the key, then counts on that row
        try:
            with db.session.begin_nested():
                db.session.add(Streak(user_id=user_id, last_day=today, length=1, best=1, rewards=0, updated_at=at))
            return _maybe_reward(db.session.get(Streak, user_id), at)
        except IntegrityError:
            streak = _locked(user_id)
    if streak.last_day >= today:
        return streak
    streak.length = streak.length + 1 if streak.last_day == today - timedelta(days=1) else 1
    streak.best = max(streak.best, streak.length)
    streak.last_day, streak.updated_at = today, at
    return _maybe_reward(streak, at)


def _maybe_reward(streak: Streak, at: datetime) -> Streak:
    from models.growth import points

    cfg = current_app.config
    if streak.length % cfg["STREAK_DAYS"]:
        return streak
    streak.rewards += 1
    if cfg["STREAK_PRIORITY_DAYS"]:
        until = at + timedelta(days=cfg["STREAK_PRIORITY_DAYS"])
        streak.priority_until = max(streak.priority_until or until, until)
    if cfg["STREAK_POINTS"]:
        points.earn(streak.user_id, cfg["STREAK_POINTS"], source="streak",
                    ref=f"{streak.user_id}:{streak.last_day.isoformat()}", now=at)
    return streak


def priority_expr(user_id_column, now_param):
    """SQL: has this shopper priority pickup now (a level with it, or a streak's benefit
    running)? For a select list; both reads are by primary key."""
    by_level = exists(select(Member.user_id).join(MemberLevel, MemberLevel.id == Member.level_id).where(
        Member.user_id == user_id_column, MemberLevel.priority_pickup.is_(True)))
    by_streak = exists(select(Streak.user_id).where(Streak.user_id == user_id_column,
                                                    Streak.priority_until > now_param))
    return or_(by_level, by_streak)


def has_priority(user_id: int, now: datetime | None = None) -> bool:
    return bool(db.session.scalar(select(priority_expr(user_id, now or utcnow()))))


def mine(user_id: int, now: datetime | None = None) -> dict:
    now = now or utcnow()
    streak = db.session.get(Streak, user_id)
    days = current_app.config["STREAK_DAYS"]
    running = streak is not None and streak.last_day >= day_of(now) - timedelta(days=1)
    length = streak.length if running else 0
    return {"length": length, "best": streak.best if streak else 0, "streak_days": days,
            "to_next_reward": days - length % days, "checked_in_today": bool(streak and streak.last_day == day_of(now)),
            "priority_until": streak.priority_until if streak and streak.priority_until and streak.priority_until > now
            else None, "priority_pickup": has_priority(user_id, now)}
