"""Segments and campaigns: a saved audience over the nightly customer scores, and a reward
(a coupon or points) sent to its members with a holdout group that receives nothing.

Starting a campaign fixes its members (the segment as scored last night) and splits them:
a member is held out when a keyed hash of (campaign, shopper) falls under the holdout
percentage — stable, and not guessable from the ids. The job rewards `per_run` members a
run (the throttle), each once (`done`, under the member row's lock). The report counts,
for treated and held-out members, who paid for an order within 14 days of the start, and
the uplift with a 95 % interval (two proportions, normal approximation).
"""
from __future__ import annotations

import hashlib
import hmac
import math
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, insert, select

from app.errors import AppError, NotFound
from app.extensions import db
from models import audit, outbox
from models.analytics.tables import Customer
from models.base import utcnow
from models.growth import coupons, points
from models.growth.status import CAMPAIGNS
from models.growth.tables import Campaign, CampaignMember, CampaignStatus, CouponTemplate, Segment
from models.notifications.tables import SubscribeGrant
from models.orders.tables import Order

CONVERSION_DAYS = 14
RULE_KEYS = {"store_id", "segments", "pickup_styles", "r_min", "f_min", "m_min", "reachable_only"}


class SegmentInvalid(AppError):
    status, code, message = 400, "invalid_request", "The segment is not valid."


class CampaignInvalid(AppError):
    status, code, message = 400, "invalid_request", "The campaign is not valid."


def _members_query(rules: dict):
    where = [Customer.store_id == (rules.get("store_id") or 0)]
    if rules.get("segments"):
        where.append(Customer.segment.in_(rules["segments"]))
    if rules.get("pickup_styles"):
        where.append(Customer.pickup_style.in_(rules["pickup_styles"]))
    for key, column in (("r_min", Customer.r), ("f_min", Customer.f), ("m_min", Customer.m)):
        if rules.get(key):
            where.append(column >= rules[key])
    if rules.get("reachable_only"):
        where.append(Customer.reachable.is_(True))
    return select(Customer.user_id).where(*where)


def create_segment(staff, name: str, rules: dict) -> Segment:
    unknown = set(rules) - RULE_KEYS
    if unknown:
        raise SegmentInvalid(details={"rules": f"unknown: {', '.join(sorted(unknown))}"})
    segment = Segment(name=name, rules=rules)
    db.session.add(segment)
    db.session.flush()
    audit.record("segment.create", segment, actor=staff, changes={"name": name, "rules": rules})
    return segment


def preview(segment_id: int) -> dict:
    """How many members the segment has now, and how many a message campaign could reach:
    those with a subscribe grant left for the campaign message's template (a WeChat grant
    allows one send). Shoppers have no other channel here: the official account binds
    staff, not shoppers."""
    from models.notifications import templates

    segment = db.session.get(Segment, segment_id)
    if segment is None:
        raise NotFound("No such segment.", details={"segment_id": segment_id})
    members = _members_query(segment.rules).subquery()
    total = db.session.scalar(select(func.count()).select_from(members))
    template = templates.templates().get("campaign_message")
    reachable = 0 if template is None else db.session.scalar(
        select(func.count(func.distinct(SubscribeGrant.user_id))).where(
            SubscribeGrant.user_id.in_(select(members.c.user_id)), SubscribeGrant.template_id == template.template_id,
            SubscribeGrant.remaining > 0))
    return {"segment_id": segment.id, "members": int(total), "reachable_by_message": int(reachable),
            "scored_at": db.session.scalar(select(func.max(Customer.computed_at)))}


def held_out(campaign_id: int, user_id: int, percent: int) -> bool:
    key = str(current_app.config.get("SECRET_KEY") or "").encode()
    digest = hmac.new(key, f"campaign:{campaign_id}:{user_id}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "big") % 100 < percent


def start(staff, *, name: str, segment_id: int, reward: dict, holdout_percent: int = 10,
          per_run: int = 500) -> Campaign:
    segment = db.session.get(Segment, segment_id)
    if segment is None:
        raise NotFound("No such segment.", details={"segment_id": segment_id})
    if reward.get("kind") == "coupon":
        template = db.session.get(CouponTemplate, reward.get("template_id") or 0)
        if template is None or "campaign" not in (template.channels or []):
            raise CampaignInvalid(details={"reward": "a coupon template open to the campaign channel"})
    elif reward.get("kind") == "message":
        note = reward.get("note")
        if not (isinstance(note, str) and 1 <= len(note.strip()) <= 20):
            raise CampaignInvalid(details={"reward": "{kind: message, note: 1–20 characters}"})
        reward = {"kind": "message", "note": note.strip()}
    elif not (reward.get("kind") == "points" and isinstance(reward.get("points"), int) and reward["points"] > 0):
        raise CampaignInvalid(details={
            "reward": "{kind: coupon, template_id}, {kind: points, points ≥ 1} or {kind: message, note}"})
    campaign = Campaign(name=name, segment_id=segment.id, reward=reward, holdout_percent=holdout_percent,
                        per_run=per_run, status=CAMPAIGNS.initial_status(CampaignStatus.sending), started_at=utcnow())
    db.session.add(campaign)
    db.session.flush()
    user_ids = list(db.session.scalars(_members_query(segment.rules)))
    rows = [{"campaign_id": campaign.id, "user_id": uid, "holdout": held_out(campaign.id, uid, holdout_percent),
             "done": False} for uid in user_ids]
    for row in rows:
        row["done"] = row["holdout"]  # the holdout receives nothing: done from the start
    for chunk in range(0, len(rows), 1000):
        db.session.execute(insert(CampaignMember), rows[chunk:chunk + 1000])
    campaign.members, campaign.holdout = len(rows), sum(r["holdout"] for r in rows)
    audit.record("campaign.start", campaign, actor=staff,
                 changes={"segment_id": segment.id, "reward": reward, "members": campaign.members,
                          "holdout": campaign.holdout})
    return campaign


def send_due(now: datetime | None = None) -> dict:
    """The job: for each sending campaign, reward up to `per_run` members not yet done."""
    now = now or utcnow()
    sent = 0
    for campaign in db.session.scalars(select(Campaign).where(Campaign.status == CampaignStatus.sending.value)):
        members = db.session.scalars(select(CampaignMember).where(
            CampaignMember.campaign_id == campaign.id, CampaignMember.done.is_(False))
            .order_by(CampaignMember.user_id).limit(campaign.per_run).with_for_update(skip_locked=True)).all()
        for member in members:
            member.result = _reward(campaign, member.user_id, now)
            member.done, member.at = True, now
            sent += 1
        if len(members) < campaign.per_run:
            left = db.session.scalar(select(func.count()).select_from(CampaignMember).where(
                CampaignMember.campaign_id == campaign.id, CampaignMember.done.is_(False)))
            if not left:
                CAMPAIGNS.move(campaign, "finish", at=now)
    return {"rewarded": sent}


def _reward(campaign: Campaign, user_id: int, now: datetime) -> str:
    reward = campaign.reward
    if reward["kind"] == "message":  # sent where the shopper left a grant for it, skipped where not
        outbox.enqueue("subscribe_message", {"event": "campaign_message", "user_id": user_id, "campaign": campaign.name,
                                             "note": reward["note"]},
                       dedupe_key=f"campaign_message:{campaign.id}:{user_id}")
        return "message"
    if reward["kind"] == "points":
        lot = points.earn(user_id, reward["points"], source="campaign", ref=f"{campaign.id}:{user_id}", now=now)
        return f"points:{lot.id}"
    try:
        with db.session.begin_nested():
            coupon = coupons.claim(user_id, reward["template_id"], channel="campaign", now=now)
        return f"coupon:{coupon.id}"
    except AppError as exc:
        return f"failed:{exc.code}"


def report(campaign_id: int) -> dict:
    """Conversion within CONVERSION_DAYS of the start, treated vs holdout, and the uplift."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound("No such campaign.", details={"campaign_id": campaign_id})
    until = campaign.started_at + timedelta(days=CONVERSION_DAYS)
    groups = {}
    for holdout in (False, True):
        ids = list(db.session.scalars(select(CampaignMember.user_id).where(
            CampaignMember.campaign_id == campaign.id, CampaignMember.holdout.is_(holdout))))
        converted = 0
        for chunk in range(0, len(ids), 1000):  # each shopper's own orders (ix_orders_user_id_id)
            converted += db.session.scalar(select(func.count(func.distinct(Order.user_id))).where(
                Order.user_id.in_(ids[chunk:chunk + 1000]), Order.paid_at.is_not(None),
                Order.paid_at >= campaign.started_at, Order.paid_at < until))
        groups["holdout" if holdout else "treated"] = {"members": len(ids), "converted": converted,
                                                       "rate": converted / len(ids) if ids else None}
    t, h = groups["treated"], groups["holdout"]
    uplift = low = high = None
    if t["members"] and h["members"]:
        uplift = t["rate"] - h["rate"]
        se = math.sqrt(t["rate"] * (1 - t["rate"]) / t["members"] + h["rate"] * (1 - h["rate"]) / h["members"])
        low, high = uplift - 1.96 * se, uplift + 1.96 * se
    rewarded = db.session.scalar(select(func.count()).select_from(CampaignMember).where(
        CampaignMember.campaign_id == campaign.id, CampaignMember.holdout.is_(False), CampaignMember.done.is_(True)))
    return {"campaign": campaign, "window_days": CONVERSION_DAYS, "treated": t, "holdout": h, "rewarded": rewarded,
            "uplift": uplift, "uplift_low": low, "uplift_high": high, "complete": utcnow() >= until}


# -- the console ------------------------------------------------------------------------------

def segments_page(*, cursor: int | None, limit: int) -> list[Segment]:
    from models.base import keyset_page

    return keyset_page(select(Segment), Segment.id, cursor=cursor, limit=limit, newest_first=True)


def campaigns_page(*, cursor: int | None, limit: int) -> list[Campaign]:
    """Newest first, as started: members and holdout are counted once at the start."""
    from models.base import keyset_page

    return keyset_page(select(Campaign), Campaign.id, cursor=cursor, limit=limit, newest_first=True)
