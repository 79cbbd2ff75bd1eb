"""Segments and campaigns: members fixed at the start, a stable holdout that receives
nothing, the throttle, each member rewarded once, and a report whose totals are the raw
tables' (paid orders within 14 days, treated vs holdout)."""
from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from models.analytics.tables import Customer
from models.base import utcnow
from models.growth import campaigns
from models.growth.tables import Campaign, CampaignMember, PointLot
from models.notifications.tables import SubscribeGrant
from models.orders.tables import Order
from tests.app.test_errors import assert_error
from tests.factories import admin_headers, make_shopper, mark_paid
from tests.models.pickup.support import counter, place  # noqa: F401


def scored(users: list, segment: str) -> None:
    """The nightly scores for these shoppers (models/analytics/customers.py writes these rows)."""
    now = utcnow()
    for user in users:
        db.session.add(Customer(store_id=0, user_id=user.id, orders=1, monetary_fen=1000, last_paid_at=now,
                                first_order_at=now, r=1, f=1, m=1, segment=segment, pickup_style="none",
                                pickup_orders=0, visits=0, units_held=0, card_units_held=0, reachable=False,
                                computed_at=now))
    db.session.commit()


def test_a_campaign_rewards_the_treated_once_and_the_holdout_nothing(client, counter):
    c = counter
    admin = admin_headers(client)
    dormant = [make_shopper() for _ in range(40)]
    scored([u for u, _ in dormant], "dormant")
    scored([make_shopper()[0] for _ in range(5)], "loyal")
    # Reachable by a message campaign: a grant left for its template (not for another one).
    db.session.add_all([SubscribeGrant(user_id=u.id, template_id="TPL_CAMPAIGN", remaining=1) for u, _ in dormant[:6]])
    db.session.add_all([SubscribeGrant(user_id=u.id, template_id="TPL_ORDER_PAID", remaining=2) for u, _ in dormant[6:9]])
    db.session.commit()

    segment = client.post("/api/admin/segments", headers=admin,
                          json={"name": "沉睡顾客", "rules": {"segments": ["dormant"]}})
    assert segment.status_code == 201, segment.json
    preview = client.get(f"/api/admin/segments/{segment.json['id']}/preview", headers=admin).json
    assert (preview["members"], preview["reachable_by_message"]) == (40, 6)
    assert_error(client.post("/api/admin/campaigns", headers=admin, json={
        "name": "x", "segment_id": segment.json["id"], "reward": {"kind": "points", "points": 0}}),
        400, "invalid_request")
    started = client.post("/api/admin/campaigns", headers=admin, json={
        "name": "唤醒", "segment_id": segment.json["id"], "reward": {"kind": "points", "points": 200},
        "holdout_percent": 25, "per_run": 7})
    assert started.status_code == 201, started.json
    campaign_id, holdout = started.json["id"], started.json["holdout"]
    assert started.json["members"] == 40 and 0 < holdout < 40

    runs = 0
    while db.session.get(Campaign, campaign_id).status == "sending":
        done = campaigns.send_due()
        db.session.commit()
        db.session.expire_all()
        assert done["rewarded"] <= 7  # the throttle
        runs += 1
    assert runs == -(-(40 - holdout) // 7) or runs == -(-(40 - holdout) // 7) + 1
    assert campaigns.send_due()["rewarded"] == 0  # sent: nothing more
    held = set(db.session.scalars(select(CampaignMember.user_id).where(
        CampaignMember.campaign_id == campaign_id, CampaignMember.holdout.is_(True))))
    lots = dict(db.session.execute(select(PointLot.user_id, func.count()).where(PointLot.source == "campaign")
                                   .group_by(PointLot.user_id)).all())
    assert not held & set(lots) and len(held) == holdout          # the holdout got nothing
    assert set(lots) == {u.id for u, _ in dormant} - held and set(lots.values()) == {1}  # the rest once each

    # Some members buy: one treated, one held out, and one shopper outside the campaign.
    buyers = [next(h for u, h in dormant if u.id not in held), next(h for u, h in dormant if u.id in held),
              make_shopper()[1]]
    for headers in buyers:
        mark_paid(place(client, c, (c.skus[0], 1), headers=headers))
    report = client.get(f"/api/admin/campaigns/{campaign_id}/report", headers=admin).json
    members = select(CampaignMember.user_id).where(CampaignMember.campaign_id == campaign_id)
    for group, is_holdout in (("treated", False), ("holdout", True)):
        raw = db.session.scalar(select(func.count(func.distinct(Order.user_id))).where(
            Order.user_id.in_(members.where(CampaignMember.holdout.is_(is_holdout))), Order.paid_at.is_not(None)))
        assert report[group]["converted"] == raw == 1
    assert report["treated"]["members"] + report["holdout"]["members"] == 40
    assert report["rewarded"] == 40 - holdout
    assert report["uplift_low"] <= report["uplift"] <= report["uplift_high"]


def test_the_holdout_is_stable_and_about_its_share(app, ctx):
    picks = [campaigns.held_out(7, uid, 10) for uid in range(1, 5001)]
    assert picks == [campaigns.held_out(7, uid, 10) for uid in range(1, 5001)]
    assert 400 <= sum(picks) <= 600


def test_a_message_campaign_queues_one_message_per_treated_member(client, counter):
    """A campaign whose reward is a message: each treated member gets one subscribe message
    queued (sent where they left a grant for it), the holdout none; a note too long is refused."""
    from models.outbox.tables import OutboxMessage

    admin = admin_headers(client)
    members = [make_shopper()[0] for _ in range(20)]
    scored(members, "at_risk")
    segment = client.post("/api/admin/segments", headers=admin,
                          json={"name": "流失预警", "rules": {"segments": ["at_risk"]}}).json
    assert_error(client.post("/api/admin/campaigns", headers=admin, json={
        "name": "x", "segment_id": segment["id"], "reward": {"kind": "message", "note": "字" * 21}}),
        400, "invalid_request")
    started = client.post("/api/admin/campaigns", headers=admin, json={
        "name": "回店有礼", "segment_id": segment["id"], "reward": {"kind": "message", "note": "本周到店取货送小礼"},
        "holdout_percent": 20})
    assert started.status_code == 201, started.json
    for _ in range(2):
        campaigns.send_due()
        db.session.commit()
    held = {m.user_id for m in db.session.scalars(select(CampaignMember).where(
        CampaignMember.campaign_id == started.json["id"], CampaignMember.holdout.is_(True)))}
    told = [r.payload for r in db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "subscribe_message"))
            if r.payload.get("event") == "campaign_message"]
    assert sorted(t["user_id"] for t in told) == sorted(u.id for u in members if u.id not in held)
    assert {(t["campaign"], t["note"]) for t in told} == {("回店有礼", "本周到店取货送小礼")}
    assert len(held) == started.json["holdout"]
