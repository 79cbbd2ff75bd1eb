"""The transition tables of coupons, referrals and campaigns (models.state_machine does the moving)."""
from __future__ import annotations

from models.growth.tables import Campaign, CampaignStatus, Coupon, CouponStatus, Referral, ReferralStatus
from models.state_machine import Machine, Move

S = CouponStatus

COUPONS = Machine(Coupon, {
    "lock": Move((S.available,), S.locked, "locked_at"),    # an order placed with it
    "release": Move((S.locked,), S.available),              # that order cancelled or expired unpaid
    "use": Move((S.locked,), S.used, "used_at"),            # that order paid
    "give_back": Move((S.used,), S.available),              # that order refunded in full, the coupon still valid
    "expire": Move((S.available,), S.expired, "expired_at"),
}, states=CouponStatus, initial=(S.available,))

R = ReferralStatus

REFERRALS = Machine(Referral, {
    "qualify": Move((R.attributed,), R.qualified, "qualified_at"),
    "disqualify": Move((R.attributed,), R.disqualified, "disqualified_at"),
}, states=ReferralStatus, initial=(R.attributed,))

CAMPAIGNS = Machine(Campaign, {
    "finish": Move((CampaignStatus.sending,), CampaignStatus.sent, "sent_at"),
}, states=CampaignStatus, initial=(CampaignStatus.sending,))
