"""Invitations (邀请有礼): an inviter's code brings a new shopper; the invitee qualifies
once their first collected or delivered order (at least the campaign's minimum) has gone
7 days without a refund; each tier of qualified invitees is rewarded once.

Attribution happens at the invitee's first login only (a code on a later login, the
inviter's own code, or a second inviter change nothing: one referral per invitee, by a
unique key). Nothing is granted at registration, so fake accounts earn nothing. The sweep
(hourly) finds each open referral's first order through the invitee's own orders, then
settles referrals whose 7 days are up; tiers are granted under a unique (campaign,
inviter, tier) key, so a repeated or concurrent sweep grants nothing twice.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.errors import AppError
from app.extensions import db
from models import audit, outbox
from models.base import utcnow
from models.growth import coupons, points
from models.growth.status import REFERRALS
from models.growth.tables import CouponTemplate, InvitationCampaign, InviteCode, Referral, ReferralStatus, TierGrant
from models.orders.tables import Order
from models.payments.tables import Refund
from models.state_machine import SYSTEM
from models.users import User

QUALIFY_AFTER = timedelta(days=7)
# A referral whose invitee has not collected an order this long after the campaign ends is closed.
GRACE_AFTER_END = timedelta(days=30)
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud or typed
SCENE_PREFIX = "inv="
_REFUNDS_THAT_COUNT = ("pending", "processing", "success", "abnormal")


class CampaignInvalid(AppError):
    status, code, message = 400, "invalid_request", "The invitation campaign is not valid."


def code_for(user_id: int) -> str:
    """The shopper's invitation code, made on first ask."""
    found = db.session.get(InviteCode, user_id)
    if found is not None:
        return found.code
    for _ in range(5):
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
        try:
            with db.session.begin_nested():
                db.session.add(InviteCode(user_id=user_id, code=code))
            return code
        except IntegrityError:  # the code was taken, or this shopper's code was made meanwhile
            found = db.session.get(InviteCode, user_id)
            if found is not None:
                return found.code
    raise RuntimeError("could not make a unique invitation code")


def scene_for(code: str) -> str:
    """The mini-program code's scene (getwxacodeunlimit takes ≤ 32 visible characters)."""
    return SCENE_PREFIX + code


def code_in(value: str | None) -> str | None:
    """An invitation code from a share path's `inv` or a scene `inv=CODE`."""
    if not value:
        return None
    value = value.strip().upper().removeprefix(SCENE_PREFIX.upper())
    return value if 4 <= len(value) <= 16 and all(c in CODE_ALPHABET for c in value) else None


def current_campaign(now: datetime | None = None) -> InvitationCampaign | None:
    now = now or utcnow()
    return db.session.scalars(select(InvitationCampaign).where(
        InvitationCampaign.active.is_(True), InvitationCampaign.starts_at <= now, InvitationCampaign.ends_at > now)
        .order_by(InvitationCampaign.starts_at.desc(), InvitationCampaign.id.desc())).first()


def attribute(invitee: User, is_new: bool, invite_code: str | None, now: datetime | None = None) -> Referral | None:
    """At login: a new shopper who came through an inviter's code is that inviter's
    referral in the running campaign. Anything else is ignored (a login never fails on a
    code)."""
    code = code_in(invite_code)
    if not is_new or code is None:
        return None
    now = now or utcnow()
    inviter = db.session.scalars(select(InviteCode).where(InviteCode.code == code)).first()
    campaign = current_campaign(now)
    if inviter is None or inviter.user_id == invitee.id or campaign is None:
        return None
    referral = Referral(campaign_id=campaign.id, inviter_id=inviter.user_id, invitee_id=invitee.id,
                        status=ReferralStatus.attributed.value, attributed_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(referral)
        return referral
    except IntegrityError:
        return None


def create_campaign(staff, fields: dict) -> InvitationCampaign:
    tiers = sorted(fields.get("tiers") or [], key=lambda t: t.get("invitees", 0))
    problems = {}
    if fields["ends_at"] <= fields["starts_at"]:
        problems["ends_at"] = "after starts_at"
    counts = [t.get("invitees") for t in tiers]
    if not tiers or any(not isinstance(n, int) or n < 1 for n in counts) or len(set(counts)) != len(counts):
        problems["tiers"] = "one or more tiers, each a different number of invitees ≥ 1"
    for tier in tiers:
        reward = tier.get("reward") or {}
        if reward.get("kind") == "coupon":
            template = db.session.get(coupons.CouponTemplate, reward.get("template_id") or 0)
            if template is None or "invitation" not in (template.channels or []):
                problems["tiers"] = f"tier {tier.get('invitees')}: a coupon template open to the invitation channel"
        elif reward.get("kind") == "points":
            if not isinstance(reward.get("points"), int) or reward["points"] < 1:
                problems["tiers"] = f"tier {tier.get('invitees')}: points ≥ 1"
        else:
            problems["tiers"] = f"tier {tier.get('invitees')}: reward kind coupon or points"
    if problems:
        raise CampaignInvalid(details=problems)
    campaign = InvitationCampaign(name=fields["name"], starts_at=fields["starts_at"], ends_at=fields["ends_at"],
                                  min_order_fen=fields.get("min_order_fen", 0), tiers=tiers, active=True)
    db.session.add(campaign)
    db.session.flush()
    audit.record("invitation_campaign.create", campaign, actor=staff,
                 changes={"name": campaign.name, "tiers": tiers, "min_order_fen": campaign.min_order_fen})
    return campaign


# -- the sweep --------------------------------------------------------------------------------

def _first_collected(invitee_id: int, since: datetime) -> Order | None:
    """The invitee's first order that reached them (picked up or delivered), placed after
    they were attributed: read on the shopper's own orders (ix_orders_user_id_id)."""
    return db.session.scalars(select(Order).where(
        Order.user_id == invitee_id, Order.created_at >= since,
        (Order.picked_up_at.is_not(None)) | (Order.delivered_at.is_not(None))).order_by(Order.id).limit(1)).first()


def _refunded(order: Order) -> bool:
    return order.status in ("refunding", "refunded") or db.session.scalar(
        select(func.count()).select_from(Refund).where(Refund.order_id == order.id,
                                                       Refund.status.in_(_REFUNDS_THAT_COUNT))) > 0


def _phone_seen_before(invitee_id: int) -> bool:
    user = db.session.get(User, invitee_id)
    if user is None or not user.phone_hash:
        return False
    return db.session.scalar(select(func.count()).select_from(User).where(
        User.phone_hash == user.phone_hash, User.id != user.id, User.created_at <= user.created_at)) > 0


def sweep(now: datetime | None = None, batch: int = 200) -> dict:
    """Find first orders, settle referrals whose 7 days are up, grant tiers. Idempotent."""
    now = now or utcnow()
    found = settled = granted = 0
    campaigns = {c.id: c for c in db.session.scalars(select(InvitationCampaign))}
    waiting = db.session.scalars(select(Referral).where(
        Referral.status == ReferralStatus.attributed.value, Referral.first_order_id.is_(None))
        .order_by(Referral.id).limit(batch)).all()
    for referral in waiting:
        campaign = campaigns[referral.campaign_id]
        order = _first_collected(referral.invitee_id, referral.attributed_at)
        if order is None:
            if now > campaign.ends_at + GRACE_AFTER_END:
                REFERRALS.move(referral, "disqualify", SYSTEM, at=now, reason="no_order")
            continue
        if order.payable_fen < campaign.min_order_fen:
            REFERRALS.move(referral, "disqualify", SYSTEM, at=now, reason="below_minimum", first_order_id=order.id)
            continue
        referral.first_order_id = order.id
        referral.qualifies_at = (order.picked_up_at or order.delivered_at) + QUALIFY_AFTER
        found += 1
    db.session.flush()
    due = db.session.scalars(select(Referral).where(
        Referral.status == ReferralStatus.attributed.value, Referral.qualifies_at <= now)
        .order_by(Referral.qualifies_at).limit(batch)).all()
    inviters: set[tuple[int, int]] = set()
    for referral in due:
        order = db.session.get(Order, referral.first_order_id)
        reason = "refunded" if _refunded(order) else "phone_seen" if _phone_seen_before(referral.invitee_id) else None
        if reason:
            REFERRALS.move(referral, "disqualify", SYSTEM, at=now, reason=reason)
        elif REFERRALS.move(referral, "qualify", SYSTEM, at=now).applied:
            inviters.add((referral.campaign_id, referral.inviter_id))
        settled += 1
    for campaign_id, inviter_id in sorted(inviters):
        granted += grant_tiers(campaigns[campaign_id], inviter_id, now)
    return {"first_orders": found, "settled": settled, "tiers_granted": granted}


def qualified_count(campaign_id: int, inviter_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Referral).where(
        Referral.campaign_id == campaign_id, Referral.inviter_id == inviter_id,
        Referral.status == ReferralStatus.qualified.value))


def grant_tiers(campaign: InvitationCampaign, inviter_id: int, now: datetime) -> int:
    """Every tier the inviter's qualified invitees reach and not yet granted: once each."""
    reached = qualified_count(campaign.id, inviter_id)
    granted = 0
    for tier in sorted(campaign.tiers, key=lambda t: t["invitees"]):
        if reached < tier["invitees"]:
            break
        grant = TierGrant(campaign_id=campaign.id, inviter_id=inviter_id, invitees=tier["invitees"],
                          reward=dict(tier["reward"]), granted_at=now)
        try:
            with db.session.begin_nested():
                db.session.add(grant)
        except IntegrityError:
            continue  # granted before
        grant.reward = {**tier["reward"], **_reward(tier["reward"], campaign.id, inviter_id, tier["invitees"], now)}
        granted += 1
        if "failed" not in grant.reward:  # the inviter hears of each tier given, once (the grant's key)
            template = (db.session.get(CouponTemplate, tier["reward"].get("template_id"))
                        if tier["reward"].get("kind") == "coupon" else None)
            outbox.enqueue("subscribe_message", {
                "event": "invitation_reward", "user_id": inviter_id, "invitees": tier["invitees"],
                "reward": {**tier["reward"], "name": template.name if template else None}},
                dedupe_key=f"invitation_reward:{campaign.id}:{inviter_id}:{tier['invitees']}")
    return granted


def _reward(reward: dict, campaign_id: int, inviter_id: int, invitees: int, now: datetime) -> dict:
    """Give the tier's reward; what came of it is kept on the grant (a sold-out coupon is
    recorded, not retried: the tier was reached and that is final)."""
    if reward["kind"] == "points":
        lot = points.earn(inviter_id, reward["points"], source="invitation",
                          ref=f"{campaign_id}:{inviter_id}:{invitees}", now=now)
        return {"lot_id": lot.id}
    try:
        with db.session.begin_nested():  # a refused claim leaves the grant itself standing
            coupon = coupons.claim(inviter_id, reward["template_id"], channel="invitation", now=now)
        return {"coupon_id": coupon.id}
    except AppError as exc:  # sold out, limit reached, template closed
        return {"failed": exc.code}


def progress(user_id: int, now: datetime | None = None) -> dict:
    """What the shopper sees: their code, the running campaign, invitees so far, tiers granted."""
    now = now or utcnow()
    code = code_for(user_id)
    campaign = current_campaign(now)
    out = {"code": code, "scene": scene_for(code), "campaign": campaign, "qualified": 0, "waiting": 0,
           "granted": []}
    if campaign is not None:
        counts = dict(db.session.execute(select(Referral.status, func.count()).where(
            Referral.campaign_id == campaign.id, Referral.inviter_id == user_id).group_by(Referral.status)).all())
        out["qualified"] = int(counts.get(ReferralStatus.qualified.value, 0))
        out["waiting"] = int(counts.get(ReferralStatus.attributed.value, 0))
        out["granted"] = [g.invitees for g in db.session.scalars(select(TierGrant).where(
            TierGrant.campaign_id == campaign.id, TierGrant.inviter_id == user_id).order_by(TierGrant.invitees))]
    return out


def poster_code(user_id: int) -> bytes:
    """The inviter's mini-program code (getwxacodeunlimit, PNG): the poster they share. Its
    scene is their invitation code, nothing else (no id of theirs)."""
    from flask import current_app

    from app import wechat

    scene = scene_for(code_for(user_id))
    return wechat.call("getwxacodeunlimit", wechat.miniprogram().get_wxa_code_unlimited, scene,
                       page=current_app.config["INVITE_WXACODE_PAGE"])


# -- the console ------------------------------------------------------------------------------

def campaigns_page(*, cursor: int | None, limit: int) -> list[dict]:
    """Campaigns newest first, each with its referrals by status and the tiers granted so far."""
    from models.base import keyset_page

    return with_counts(keyset_page(select(InvitationCampaign), InvitationCampaign.id, cursor=cursor, limit=limit,
                                   newest_first=True))


def with_counts(rows: list[InvitationCampaign]) -> list[dict]:
    """Two grouped counts for the whole list, each a range of an index that starts with
    campaign_id (ix_referrals_campaign_id_inviter_id_status, the grants' unique key)."""
    ids = [c.id for c in rows]
    by_status: dict[tuple[int, str], int] = {}
    grants: dict[int, int] = {}
    if ids:
        by_status = {(cid, status): int(n) for cid, status, n in db.session.execute(
            select(Referral.campaign_id, Referral.status, func.count()).where(Referral.campaign_id.in_(ids))
            .group_by(Referral.campaign_id, Referral.status))}
        grants = {cid: int(n) for cid, n in db.session.execute(
            select(TierGrant.campaign_id, func.count()).where(TierGrant.campaign_id.in_(ids))
            .group_by(TierGrant.campaign_id))}
    return [{"id": c.id, "name": c.name, "starts_at": c.starts_at, "ends_at": c.ends_at,
             "min_order_fen": c.min_order_fen, "tiers": c.tiers, "active": c.active, "created_at": c.created_at,
             "referrals": {s.value: by_status.get((c.id, s.value), 0) for s in ReferralStatus},
             "tiers_granted": grants.get(c.id, 0)} for c in rows]


def set_active(staff, campaign_id: int, active: bool) -> dict:
    """End a campaign early (or open it again within its window). Only new attributions
    stop: referrals already made still qualify and their tiers are still granted, as the
    inviters were promised."""
    from app.errors import NotFound

    campaign = db.session.get(InvitationCampaign, campaign_id)
    if campaign is None:
        raise NotFound("No such invitation campaign.", details={"campaign_id": campaign_id})
    if campaign.active != active:
        audit.record("invitation_campaign.update", campaign, actor=staff, changes={"active": [campaign.active, active]})
        campaign.active = active
        db.session.flush()
    return with_counts([campaign])[0]
