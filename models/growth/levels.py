"""Member levels: net completed spend over a rolling 12 months (refunds subtract) decides a
shopper's level. Upgrades happen at once (when an order completes); downgrades only at the
monthly review, so a refund never drops a member mid-month. A level's points multiplier
applies to what completed orders earn; its member price (percent off) to what it orders.

The spend is read on the shopper's own orders (ix_orders_user_id_id), so it costs their
history, not the shop's; the review walks the members table a batch at a time.
"""
from __future__ import annotations

import calendar
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.errors import AppError, InvalidRequest
from app.extensions import db
from models import audit
from models.base import utcnow
from models.growth.tables import Coupon, CouponTemplate, Member, MemberLevel
from models.orders.tables import Order
from models.payments.tables import Refund

WINDOW = timedelta(days=365)
CHINA = ZoneInfo("Asia/Shanghai")


def create_level(staff, *, name: str, min_spend_fen: int, points_percent: int = 100,
                 priority_pickup: bool = False, discount_percent: int = 0,
                 birthday_template_id: int | None = None) -> MemberLevel:
    if birthday_template_id is not None:
        template = db.session.get(CouponTemplate, birthday_template_id)
        if template is None or "birthday" not in (template.channels or []):
            raise InvalidRequest("A birthday coupon is a template open to the birthday channel.",
                                 details={"birthday_template_id": birthday_template_id})
    level = MemberLevel(name=name, min_spend_fen=min_spend_fen, points_percent=points_percent,
                        priority_pickup=priority_pickup, discount_percent=discount_percent,
                        birthday_template_id=birthday_template_id)
    try:
        with db.session.begin_nested():
            db.session.add(level)
    except IntegrityError:
        raise InvalidRequest("A level with that spend exists already.",
                             details={"min_spend_fen": min_spend_fen}) from None
    audit.record("member_level.create", level, actor=staff,
                 changes={"name": name, "min_spend_fen": min_spend_fen, "points_percent": points_percent,
                          "priority_pickup": priority_pickup, "discount_percent": discount_percent,
                          "birthday_template_id": birthday_template_id})
    _ANY_DISCOUNT["until"] = 0.0  # this process sees the new level's price at once
    return level


def levels() -> list[MemberLevel]:
    return list(db.session.scalars(select(MemberLevel).order_by(MemberLevel.min_spend_fen)))


def spend_12m(user_id: int, now: datetime | None = None) -> int:
    """What the shopper paid for orders completed in the last 12 months, less what was
    refunded of them."""
    since = (now or utcnow()) - WINDOW
    orders = select(Order.id, Order.payable_fen).where(Order.user_id == user_id, Order.completed_at >= since)
    paid = db.session.scalar(select(func.coalesce(func.sum(orders.subquery().c.payable_fen), 0)))
    refunded = db.session.scalar(select(func.coalesce(func.sum(Refund.amount_fen), 0)).where(
        Refund.order_id.in_(select(orders.subquery().c.id)), Refund.status == "success"))
    return max(0, int(paid) - int(refunded))


def level_for(spend_fen: int, all_levels: list[MemberLevel]) -> MemberLevel | None:
    reached = [lv for lv in all_levels if lv.min_spend_fen <= spend_fen]
    return reached[-1] if reached else None


def _member(user_id: int) -> Member:
    member = db.session.scalars(select(Member).where(Member.user_id == user_id).with_for_update()).first()
    if member is None:
        try:
            with db.session.begin_nested():
                member = Member(user_id=user_id, spend_12m_fen=0, updated_at=utcnow())
                db.session.add(member)
        except IntegrityError:
            member = db.session.scalars(select(Member).where(Member.user_id == user_id).with_for_update()).one()
    return member


def on_completed(user_id: int, now: datetime | None = None) -> MemberLevel | None:
    """An order of the shopper completed: their spend again, and a higher level at once."""
    now = now or utcnow()
    all_levels = levels()
    if not all_levels:
        return None
    member = _member(user_id)
    member.spend_12m_fen = spend_12m(user_id, now)
    member.updated_at = now
    reached = level_for(member.spend_12m_fen, all_levels)
    current = next((lv for lv in all_levels if lv.id == member.level_id), None)
    if reached is not None and (current is None or reached.min_spend_fen > current.min_spend_fen):
        member.level_id = reached.id
    return next((lv for lv in all_levels if lv.id == member.level_id), None)


def review(now: datetime | None = None, batch: int = 500) -> dict:
    """The monthly review: every member's level set from their spend now (up or down)."""
    now = now or utcnow()
    all_levels = levels()
    changed = seen = 0
    after = 0
    while True:
        ids = list(db.session.scalars(select(Member.user_id).where(Member.user_id > after)
                                      .order_by(Member.user_id).limit(batch)))
        if not ids:
            break
        for user_id in ids:
            member = _member(user_id)
            member.spend_12m_fen = spend_12m(user_id, now)
            level = level_for(member.spend_12m_fen, all_levels)
            new_id = level.id if level else None
            changed += new_id != member.level_id
            member.level_id, member.reviewed_at, member.updated_at = new_id, now, now
            seen += 1
        after = ids[-1]
    return {"members": seen, "changed": changed}


# Whether any level gives a member price, known to this process for DISCOUNT_CHECK_S: a
# shop whose levels give none (most) adds no read to an order. Another process sees a new
# level's price within that time.
DISCOUNT_CHECK_S = 60.0
_ANY_DISCOUNT = {"until": 0.0, "any": False}


def discount_percent(user_id: int) -> int:
    """The member price of the shopper's level, in percent off (0: none)."""
    now = time.monotonic()
    if now >= _ANY_DISCOUNT["until"]:
        _ANY_DISCOUNT["any"] = bool(db.session.scalar(select(func.max(MemberLevel.discount_percent))))
        _ANY_DISCOUNT["until"] = now + DISCOUNT_CHECK_S
    if not _ANY_DISCOUNT["any"]:
        return 0
    percent = db.session.scalar(select(MemberLevel.discount_percent).join(Member, Member.level_id == MemberLevel.id)
                                .where(Member.user_id == user_id))
    return percent or 0


def points_percent(user_id: int) -> int:
    """The points multiplier of the shopper's level (100 without one)."""
    percent = db.session.scalar(select(MemberLevel.points_percent).join(Member, Member.level_id == MemberLevel.id)
                                .where(Member.user_id == user_id))
    return percent or 100


def mine(user_id: int) -> dict:
    member = db.session.get(Member, user_id)
    all_levels = levels()
    current = next((lv for lv in all_levels if member and lv.id == member.level_id), None)
    spend = member.spend_12m_fen if member else 0
    upcoming = next((lv for lv in all_levels if lv.min_spend_fen > (current.min_spend_fen if current else -1)), None)
    return {"level": current, "spend_12m_fen": spend, "next_level": upcoming,
            "to_next_fen": max(0, upcoming.min_spend_fen - spend) if upcoming else None}


# -- birthdays ------------------------------------------------------------------------------

class BirthdaySet(AppError):
    status, code, message = 409, "birthday_set", "Your birthday is set already; ask the store to change it."


def set_birthday(user_id: int, month: int, day: int) -> Member:
    """The shopper's birthday (month and day, no year), once: a second, different one is
    refused, so a birthday coupon cannot be had every day."""
    try:
        date(2000, month, day)  # a leap year: 29 February is a birthday
    except ValueError:
        raise InvalidRequest("That is not a date.", details={"month": month, "day": day}) from None
    member = _member(user_id)
    md = month * 100 + day
    if member.birth_md is not None and member.birth_md != md:
        raise BirthdaySet()
    member.birth_md = md
    return member


def birthday_coupons(now: datetime | None = None, batch: int = 500) -> int:
    """The daily job: each member whose birthday is today (China time; 29 February's on
    the 28th in other years) and whose level gives a birthday coupon gets it, once a year
    (the coupon's claim key). Finds them by the birth_md index. Returns coupons given."""
    from models.growth import coupons

    today = (now or utcnow()).astimezone(CHINA).date()
    days = [today.month * 100 + today.day]
    if (today.month, today.day) == (2, 28) and not calendar.isleap(today.year):
        days.append(229)
    key = f"birthday:{today.year}"
    given, after = 0, 0
    while True:
        rows = db.session.execute(
            select(Member.user_id, MemberLevel.birthday_template_id).join(MemberLevel, MemberLevel.id == Member.level_id)
            .where(Member.birth_md.in_(days), Member.user_id > after, MemberLevel.birthday_template_id.is_not(None))
            .order_by(Member.user_id).limit(batch)).all()
        if not rows:
            return given
        done = set(db.session.scalars(select(Coupon.user_id).where(
            Coupon.user_id.in_([r.user_id for r in rows]), Coupon.claim_key == key)))
        for user_id, template_id in rows:
            if user_id in done:
                continue
            try:
                with db.session.begin_nested():
                    coupons.claim(user_id, template_id, channel="birthday", now=now, key=key)
                given += 1
            except AppError:  # the template closed or sold out: passed over
                continue
        after = rows[-1].user_id
