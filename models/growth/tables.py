"""Coupons and points. Coupons: a template (what it takes off, where, for how long, how
many) and the coupons claimed from it, one row each. Points: an account per shopper, a
lot per earning (what is left of it, from when it can be spent, when it expires) and an
append-only entry for every change with the balance after it."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from models.base import MYSQL_TABLE, UTCDateTime, utcnow


class CouponKind(str, enum.Enum):
    fixed = "fixed"          # amount_fen off
    percent = "percent"      # percent_off % off the eligible lines, at most cap_fen
    threshold = "threshold"  # 满减: amount_fen off once the eligible lines reach min_spend_fen
    voucher = "voucher"      # 提货券: one unit of sku_id free


class CouponScope(str, enum.Enum):
    all = "all"
    category = "category"    # scope_ids: category names
    sku = "sku"              # scope_ids: SKU ids
    store = "store"          # scope_ids: store ids (the order's store)


class CouponStatus(str, enum.Enum):
    available = "available"
    locked = "locked"        # held by an order placed and not yet paid
    used = "used"            # its order was paid
    expired = "expired"


class CouponTemplate(db.Model):
    __tablename__ = "coupon_templates"
    __table_args__ = (
        CheckConstraint("total_limit IS NULL OR issued <= total_limit", name="issued_within_total"),
        CheckConstraint("per_user_limit >= 1", name="per_user_positive"),
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    amount_fen: Mapped[int] = mapped_column(default=0)
    percent_off: Mapped[int] = mapped_column(default=0)
    cap_fen: Mapped[int | None]
    min_spend_fen: Mapped[int] = mapped_column(default=0)
    sku_id: Mapped[int | None] = mapped_column(ForeignKey("skus.id"))
    scope: Mapped[str] = mapped_column(String(16), default=CouponScope.all.value)
    scope_ids: Mapped[list] = mapped_column(JSON, default=list)
    # Validity: fixed dates, or `valid_days` from claiming (within valid_until if both).
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_days: Mapped[int | None]
    total_limit: Mapped[int | None]
    per_user_limit: Mapped[int] = mapped_column(default=1)
    # Coupons handed out so far: raised only by a guarded update (`issued < total_limit`).
    issued: Mapped[int] = mapped_column(default=0)
    channels: Mapped[list] = mapped_column(JSON, default=list)
    stack_with_points: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What a coupon of the points_exchange channel costs in points (0: not exchangeable).
    points_cost: Mapped[int] = mapped_column(default=0, server_default="0")


class Coupon(db.Model):
    __tablename__ = "coupons"
    __table_args__ = (
        # A shopper's n-th coupon of a template, n ≤ per_user_limit: two claims at once that
        # both counted n-1 cannot both insert n.
        UniqueConstraint("template_id", "user_id", "user_seq"),
        # An exchange for points under one Idempotency-Key gives one coupon, however often sent.
        UniqueConstraint("user_id", "claim_key"),
        Index("ix_coupons_user_id_status", "user_id", "status"),
        Index("ix_coupons_status_valid_until", "status", "valid_until"),
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("coupon_templates.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    user_seq: Mapped[int]
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=CouponStatus.available.value)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_key: Mapped[str | None] = mapped_column(String(64))


class PointAccount(db.Model):
    """The row every change of a shopper's points locks first (so spends, earnings and
    claw-backs of one shopper queue, and lots are then locked in one order)."""

    __tablename__ = "point_accounts"
    __table_args__ = (CheckConstraint("balance >= 0 AND debt >= 0", name="nonnegative"), MYSQL_TABLE)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, autoincrement=False)
    balance: Mapped[int] = mapped_column(default=0)  # Σ remaining of lots not expired
    debt: Mapped[int] = mapped_column(default=0)     # points clawed back after they were spent
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PointLot(db.Model):
    __tablename__ = "point_lots"
    __table_args__ = (
        UniqueConstraint("source", "ref"),  # one earning per source event: earning twice is a no-op
        CheckConstraint("remaining >= 0 AND remaining <= amount", name="remaining_range"),
        Index("ix_point_lots_user_id_expires_at", "user_id", "expires_at"),
        Index("ix_point_lots_expires_at", "expires_at"),
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    source: Mapped[str] = mapped_column(String(24))   # order | invitation | streak | campaign | admin
    ref: Mapped[str] = mapped_column(String(64))      # e.g. the order number
    amount: Mapped[int]
    remaining: Mapped[int]
    available_from: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    clawed_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PointEntry(db.Model):
    """Append-only: every change of a shopper's points, with the balance after it."""

    __tablename__ = "point_entries"
    __table_args__ = (
        Index("ix_point_entries_user_id_id", "user_id", "id"),
        Index("ix_point_entries_reason_ref", "reason", "ref"),
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("point_lots.id"))
    delta: Mapped[int]
    balance_after: Mapped[int]
    debt_after: Mapped[int] = mapped_column(default=0)
    reason: Mapped[str] = mapped_column(String(24))  # earn | spend | return | clawback | expire | debt
    ref: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InvitationCampaign(db.Model):
    """邀请有礼: within [starts_at, ends_at), each inviter's qualified invitees reach tiers
    ({"invitees": 3, "reward": {"kind": "coupon", "template_id": 7}} or
    {"kind": "points", "points": 500}), each tier rewarded once."""

    __tablename__ = "invitation_campaigns"
    __table_args__ = (MYSQL_TABLE,)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    min_order_fen: Mapped[int] = mapped_column(default=0)
    tiers: Mapped[list] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InviteCode(db.Model):
    """A shopper's own invitation code: random (ids are not shown), in the share path and
    the mini-program code's scene."""

    __tablename__ = "invite_codes"
    __table_args__ = (MYSQL_TABLE,)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReferralStatus(str, enum.Enum):
    attributed = "attributed"        # came through an inviter's code at their first login
    qualified = "qualified"          # first order collected or delivered, ≥ the minimum, not refunded in 7 days
    disqualified = "disqualified"    # that order was refunded, or the phone was seen before


class Referral(db.Model):
    __tablename__ = "referrals"
    __table_args__ = (
        Index("ix_referrals_campaign_id_inviter_id_status", "campaign_id", "inviter_id", "status"),
        Index("ix_referrals_status_qualifies_at", "status", "qualifies_at"),
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("invitation_campaigns.id"))
    inviter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    invitee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)  # one referral per invitee
    status: Mapped[str] = mapped_column(String(16), default=ReferralStatus.attributed.value)
    attributed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    qualifies_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # collected/delivered + 7 days
    qualified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disqualified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(String(32))


class TierGrant(db.Model):
    """A tier reached by an inviter, rewarded: the unique key makes it once."""

    __tablename__ = "invitation_tier_grants"
    __table_args__ = (UniqueConstraint("campaign_id", "inviter_id", "invitees"), MYSQL_TABLE)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("invitation_campaigns.id"))
    inviter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    invitees: Mapped[int]
    reward: Mapped[dict] = mapped_column(JSON)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Segment(db.Model):
    """A saved audience over the nightly customer scores (analytics_customers): a store
    (or every store), RFM segments, pickup styles, minimum R/F/M scores, reachable only."""

    __tablename__ = "growth_segments"
    __table_args__ = (MYSQL_TABLE,)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    rules: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CampaignStatus(str, enum.Enum):
    sending = "sending"  # members chosen; rewards going out a batch at a time
    sent = "sent"        # every treated member handled


class Campaign(db.Model):
    """A reward (a coupon or points) for a segment's members as they were when it started,
    with a holdout group that receives nothing, so its report can tell what it changed."""

    __tablename__ = "growth_campaigns"
    __table_args__ = (MYSQL_TABLE,)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    segment_id: Mapped[int] = mapped_column(ForeignKey("growth_segments.id"))
    reward: Mapped[dict] = mapped_column(JSON)   # {kind: coupon, template_id} | {kind: points, points}
    holdout_percent: Mapped[int] = mapped_column(default=10)
    per_run: Mapped[int] = mapped_column(default=500)  # the throttle: members rewarded per job run
    status: Mapped[str] = mapped_column(String(16), default=CampaignStatus.sending.value)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    members: Mapped[int] = mapped_column(default=0)
    holdout: Mapped[int] = mapped_column(default=0)


class CampaignMember(db.Model):
    __tablename__ = "growth_campaign_members"
    __table_args__ = (Index("ix_growth_campaign_members_campaign_id_done", "campaign_id", "done", "user_id"),
                      MYSQL_TABLE)

    campaign_id: Mapped[int] = mapped_column(ForeignKey("growth_campaigns.id"), primary_key=True,
                                             autoincrement=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, autoincrement=False)
    holdout: Mapped[bool]
    done: Mapped[bool] = mapped_column(default=False)  # rewarded (or refused, with `result`), or held out
    result: Mapped[str | None] = mapped_column(String(32))  # coupon:<id> | points:<lot> | failed:<code>
    at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MemberLevel(db.Model):
    """A member level: reached by net completed spend over the last 12 months, with its
    benefits (a points multiplier in percent, priority pickup, a discount kept for checkout)."""

    __tablename__ = "member_levels"
    __table_args__ = (UniqueConstraint("min_spend_fen"), MYSQL_TABLE)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32))
    min_spend_fen: Mapped[int]
    points_percent: Mapped[int] = mapped_column(default=100)  # 150: one and a half points per yuan
    priority_pickup: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Member price: this many percent off every order (after a coupon, before points).
    discount_percent: Mapped[int] = mapped_column(default=0, server_default="0")
    # A coupon of this template (its channels include "birthday") on the member's birthday.
    birthday_template_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_templates.id"))


class Member(db.Model):
    """A shopper's level and the spend it was judged on: raised at once when an order
    completes, lowered only by the monthly review."""

    __tablename__ = "members"
    __table_args__ = (Index("ix_members_birth_md", "birth_md"), MYSQL_TABLE)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, autoincrement=False)
    level_id: Mapped[int | None] = mapped_column(ForeignKey("member_levels.id"))
    spend_12m_fen: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The birthday as month×100 + day (1231): all the birthday coupon needs, no year kept.
    birth_md: Mapped[int | None]


class Streak(db.Model):
    """A shopper's run of consecutive visit days (China calendar): a check-in in the
    mini-program or a pickup at a store marks the day. Every STREAK_DAYS-th day in a row
    earns the streak's benefit: priority pickup until `priority_until` (and points, if set)."""

    __tablename__ = "member_streaks"
    __table_args__ = (MYSQL_TABLE,)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, autoincrement=False)
    last_day: Mapped[date]
    length: Mapped[int] = mapped_column(default=1)
    best: Mapped[int] = mapped_column(default=1)
    rewards: Mapped[int] = mapped_column(default=0)  # how many times the run reached STREAK_DAYS
    priority_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
