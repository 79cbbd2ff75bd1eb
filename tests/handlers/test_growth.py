"""Points and coupons over HTTP: a shopper claims and lists, the limits answer with their
codes (in the shopper's language), staff create templates and give points once per key."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.extensions import db
from models.audit import AuditLog
from models.base import utcnow
from models.growth import invitations
from models.growth.status import REFERRALS
from models.growth.tables import InvitationCampaign, Referral
from tests.app.test_errors import assert_error
from tests.factories import admin_headers, bearer, make_shopper, make_staff, staff_token

TEMPLATE = {"name": "满100减20", "kind": "threshold", "amount_fen": 2000, "min_spend_fen": 10000,
            "valid_days": 30, "total_limit": 2, "per_user_limit": 1}


def test_a_shopper_claims_a_coupon_and_sees_it(client, ctx):
    admin = admin_headers(client)
    resp = client.post("/api/admin/coupon-templates", headers=admin, json=TEMPLATE)
    assert resp.status_code == 201, resp.json
    template_id = resp.json["id"]
    assert resp.json["issued"] == 0 and resp.json["active"] is True
    _, alice = make_shopper()
    _, bob = make_shopper()
    _, carol = make_shopper()
    offered = client.get("/api/coupons/claimable", headers=alice).json
    assert [(o["template"]["id"], o["can_claim"]) for o in offered] == [(template_id, True)]
    first = client.post(f"/api/coupons/{template_id}/claim", headers=alice)
    assert first.status_code == 201 and first.json["status"] == "available"
    assert_error(client.post(f"/api/coupons/{template_id}/claim", headers=alice), 409, "coupon_limit_reached")
    assert client.post(f"/api/coupons/{template_id}/claim", headers=bob).status_code == 201
    sold_out = client.post(f"/api/coupons/{template_id}/claim", headers={**carol, "Accept-Language": "zh-CN"})
    assert assert_error(sold_out, 409, "coupon_sold_out")["message"] == "这张券已被领完。"
    assert client.get("/api/coupons/claimable", headers=carol).json == []  # sold out: no longer offered
    mine = client.get("/api/me/coupons?status=available", headers=alice).json
    assert [c["id"] for c in mine["items"]] == [first.json["id"]] and mine["next_cursor"] is None
    assert_error(client.post("/api/coupons/999999/claim", headers=alice), 404, "not_found")
    # Closed by staff: not offered, not claimable.
    closed = client.post(f"/api/admin/coupon-templates/{template_id}/active", headers=admin, json={"active": False})
    assert closed.status_code == 200 and closed.json["active"] is False
    assert_error(client.post(f"/api/coupons/{template_id}/claim", headers=carol), 404, "not_found")


def test_templates_refuse_what_makes_no_sense(client, ctx):
    admin = admin_headers(client)
    bad = client.post("/api/admin/coupon-templates", headers=admin,
                      json={**TEMPLATE, "min_spend_fen": 1000})  # 满10减20
    assert "min_spend_fen" in assert_error(bad, 400, "invalid_request")["details"]
    assert client.post("/api/admin/coupon-templates", headers=admin,
                       json={**TEMPLATE, "kind": "gift"}).status_code in (400, 422)
    clerk = bearer(staff_token(client, make_staff("clerk")))
    assert_error(client.post("/api/admin/coupon-templates", headers=clerk, json=TEMPLATE), 403, "forbidden")


def test_points_given_once_per_key_and_shown_to_the_shopper(client, ctx):
    admin = admin_headers(client)
    user, alice = make_shopper()
    grant = {"user_id": user.id, "points": 500, "note": "开业回馈"}
    first = client.post("/api/admin/points/grants", headers={**admin, "Idempotency-Key": "g-1"}, json=grant)
    again = client.post("/api/admin/points/grants", headers={**admin, "Idempotency-Key": "g-1"}, json=grant)
    assert first.status_code == again.status_code == 201 and first.json["lot_id"] == again.json["lot_id"]
    assert_error(client.post("/api/admin/points/grants", headers={**admin, "Idempotency-Key": "g-1"},
                             json={**grant, "points": 900}), 422, "idempotency_key_reused")
    assert client.post("/api/admin/points/grants", headers=admin, json=grant).status_code in (400, 422)
    mine = client.get("/api/me/points", headers=alice).json
    assert (mine["balance"], mine["spendable"], mine["debt"]) == (500, 500, 0)
    assert mine["expiring"][0]["points"] == 500
    history = client.get("/api/me/points/history", headers=alice).json["items"]
    assert [(e["delta"], e["balance_after"], e["reason"]) for e in history] == [(500, 500, "earn")]
    db.session.rollback()


# --- the console's growth page: lists, ending a campaign early, the points rules -------------------

def _invitation_campaign(client, admin, name, starts_at, tiers):
    body = {"name": name, "starts_at": starts_at.isoformat(), "ends_at": (starts_at + timedelta(days=2)).isoformat(),
            "min_order_fen": 1990, "tiers": tiers}
    resp = client.post("/api/admin/invitation-campaigns", headers=admin, json=body)
    assert resp.status_code == 201, resp.json
    return resp.json


def test_invitation_campaigns_listed_newest_first_with_their_counts(client, sandbox, ctx):
    from tests.models.growth.test_invitations import login

    admin = admin_headers(client)
    now = utcnow()
    first = _invitation_campaign(client, admin, "春季邀请", now - timedelta(hours=2),
                                 [{"invitees": 3, "reward": {"kind": "points", "points": 300}}])
    _, inviter = login(client, sandbox, "inviter")
    code = client.get("/api/me/invitation", headers=inviter).json["code"]
    for i in range(2):
        login(client, sandbox, f"spring-{i}", code)
    invitations.sweep(now=now + timedelta(days=40))  # no order long after the end: disqualified
    db.session.commit()
    second = _invitation_campaign(client, admin, "夏季邀请", now - timedelta(hours=1),
                                  [{"invitees": 1, "reward": {"kind": "points", "points": 100}},
                                   {"invitees": 2, "reward": {"kind": "points", "points": 250}}])
    for i in range(2):
        login(client, sandbox, f"summer-{i}", code)
    referral = db.session.scalars(select(Referral).where(Referral.campaign_id == second["id"])
                                  .order_by(Referral.id)).first()
    REFERRALS.move(referral, "qualify", at=now)
    campaign = db.session.get(InvitationCampaign, second["id"])
    assert invitations.grant_tiers(campaign, referral.inviter_id, now) == 1
    db.session.commit()

    analyst = bearer(staff_token(client, make_staff("analyst")))
    listed = client.get("/api/admin/invitation-campaigns", headers=analyst, query_string={"limit": 1}).json
    assert [c["id"] for c in listed["items"]] == [second["id"]] and listed["next_cursor"]
    shown = listed["items"][0]
    assert shown["referrals"] == {"attributed": 1, "qualified": 1, "disqualified": 0}
    assert (shown["tiers_granted"], shown["active"], shown["min_order_fen"]) == (1, True, 1990)
    assert [t["invitees"] for t in shown["tiers"]] == [1, 2]
    rest = client.get("/api/admin/invitation-campaigns", headers=analyst,
                      query_string={"cursor": listed["next_cursor"]}).json
    assert [c["id"] for c in rest["items"]] == [first["id"]] and rest["next_cursor"] is None
    assert rest["items"][0]["referrals"] == {"attributed": 0, "qualified": 0, "disqualified": 2}
    assert rest["items"][0]["tiers_granted"] == 0

    # Ended early: no longer the running campaign (the older one is again); audited; analysts may not.
    assert_error(client.post(f"/api/admin/invitation-campaigns/{second['id']}/active", headers=analyst,
                             json={"active": False}), 403, "forbidden")
    ended = client.post(f"/api/admin/invitation-campaigns/{second['id']}/active", headers=admin, json={"active": False})
    assert ended.status_code == 200 and ended.json["active"] is False
    assert ended.json["referrals"]["qualified"] == 1  # what was earned stays
    assert client.get("/api/me/invitation", headers=inviter).json["campaign"]["id"] == first["id"]
    logged = db.session.scalars(select(AuditLog).where(AuditLog.action == "invitation_campaign.update")).all()
    assert [(a.target_id, a.changes) for a in logged] == [(str(second["id"]), {"active": [True, False]})]
    again = client.post(f"/api/admin/invitation-campaigns/{second['id']}/active", headers=admin, json={"active": False})
    assert again.status_code == 200 and db.session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.action == "invitation_campaign.update")) == 1  # nothing changed, nothing logged
    assert_error(client.post("/api/admin/invitation-campaigns/999999/active", headers=admin, json={"active": False}),
                 404, "not_found")


def test_segments_and_campaigns_listed_newest_first(client, ctx):
    admin = admin_headers(client)
    made = [client.post("/api/admin/segments", headers=admin, json={"name": name, "rules": rules}).json
            for name, rules in (("沉睡顾客", {"segments": ["dormant"]}), ("囤货型", {"pickup_styles": ["stocks_up"],
                                                                            "r_min": 3}))]
    started = [client.post("/api/admin/campaigns", headers=admin, json={
        "name": name, "segment_id": made[0]["id"], "reward": {"kind": "points", "points": 200}}).json
        for name in ("唤醒一", "唤醒二")]
    analyst = bearer(staff_token(client, make_staff("analyst")))
    segments = client.get("/api/admin/segments", headers=analyst).json
    assert [(s["id"], s["name"]) for s in segments["items"]] == [(made[1]["id"], "囤货型"), (made[0]["id"], "沉睡顾客")]
    assert segments["items"][0]["rules"] == {"pickup_styles": ["stocks_up"], "r_min": 3}
    page1 = client.get("/api/admin/campaigns", headers=analyst, query_string={"limit": 1}).json
    page2 = client.get("/api/admin/campaigns", headers=analyst, query_string={"cursor": page1["next_cursor"]}).json
    assert [(c["id"], c["name"]) for c in page1["items"] + page2["items"]] == [
        (started[1]["id"], "唤醒二"), (started[0]["id"], "唤醒一")]
    assert page2["next_cursor"] is None
    assert page1["items"][0]["reward"] == {"kind": "points", "points": 200}
    assert (page1["items"][0]["holdout_percent"], page1["items"][0]["status"]) == (10, "sending")
    clerk = bearer(staff_token(client, make_staff("clerk")))
    assert_error(client.get("/api/admin/campaigns", headers=clerk), 403, "forbidden")


def test_the_points_rules_are_the_configuration(client, app, ctx):
    analyst = bearer(staff_token(client, make_staff("analyst")))
    rules = client.get("/api/admin/points/rules", headers=analyst).json
    cfg = app.config
    assert rules == {"points_per_yuan": cfg["POINTS_PER_YUAN"], "unit": cfg["POINTS_UNIT"],
                     "max_share_percent": cfg["POINTS_MAX_SHARE_PERCENT"], "earn_per_yuan": cfg["POINTS_EARN_PER_YUAN"],
                     "hold_days": cfg["POINTS_HOLD_DAYS"], "valid_months": 12}
    assert_error(client.get("/api/admin/points/rules", headers=bearer(staff_token(client, make_staff("clerk")))),
                 403, "forbidden")
