"""Invitations: attribution at the invitee's first login only (not a self-invite, not a
second inviter); an invitee qualifies when their first collected order has gone 7 days
without a refund; 10 invitees, one refunded within the 7 days → the tiers of 3 and 5 are
rewarded once each, the tier of 10 not; sweeping again grants nothing."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import func, select

from app.extensions import db
from models.base import utcnow
from models.growth import coupons, invitations
from models.growth.tables import Coupon, PointLot, Referral, TierGrant
from models.orders.status import SYSTEM, transition
from models.orders.tables import Order
from models.outbox.tables import OutboxMessage
from tests.app.test_errors import assert_error
from tests.factories import admin_headers, bearer, wx_login_code
from tests.models.pickup.support import counter, ready_order, shown, verify  # noqa: F401


def login(client, sandbox, who: str, invite_code: str | None = None) -> tuple[int, dict]:
    body = {"code": wx_login_code(sandbox, who), **({"invite_code": invite_code} if invite_code else {})}
    resp = client.post("/api/auth/login", json=body)
    assert resp.status_code == 200, resp.json
    return resp.json["user"]["id"], bearer(resp.json["token"])


def campaign(client, tiers, min_order_fen=0) -> dict:
    template = coupons.create_template(None, {"name": "邀请5人券", "kind": "fixed", "amount_fen": 1000,
                                              "valid_days": 30, "channels": ["invitation"]})
    db.session.commit()
    now = utcnow()
    body = {"name": "邀请有礼", "starts_at": (now - timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(days=30)).isoformat(), "min_order_fen": min_order_fen,
            "tiers": [t if t[1] != "coupon" else (t[0], {"kind": "coupon", "template_id": template.id})
                      for t in tiers]}
    body["tiers"] = [{"invitees": n, "reward": reward} for n, reward in body["tiers"]]
    resp = client.post("/api/admin/invitation-campaigns", headers=admin_headers(client), json=body)
    assert resp.status_code == 201, resp.json
    return resp.json


def test_ten_invitees_one_refunded_reach_the_tiers_of_three_and_five_once(client, sandbox, counter):
    c = counter
    campaign(client, [(3, {"kind": "points", "points": 300}), (5, "coupon"), (10, {"kind": "points", "points": 5000})])
    inviter_id, inviter = login(client, sandbox, "inviter")
    mine = client.get("/api/me/invitation", headers=inviter).json
    code = mine["code"]
    assert mine["scene"] == f"inv={code}" and len(mine["scene"]) <= 32
    assert (mine["qualified"], mine["granted"], len(mine["campaign"]["tiers"])) == (0, [], 3)

    # Not counted: the inviter's own code, an existing shopper's later login, a second inviter.
    login(client, sandbox, "inviter", code)
    login(client, sandbox, "old-friend")
    login(client, sandbox, "old-friend", code)
    invitees = [login(client, sandbox, f"friend-{i}", f"inv={code.lower()}") for i in range(10)]
    other_code = client.get("/api/me/invitation", headers=invitees[0][1]).json["code"]
    login(client, sandbox, "friend-0", other_code)
    assert db.session.scalar(select(func.count()).select_from(Referral)) == 10
    assert client.get("/api/me/invitation", headers=inviter).json["waiting"] == 10

    # Each invitee's first order is collected; the last is refunded within the 7 days.
    orders = []
    for _, headers in invitees:
        order_no = ready_order(client, c, (c.skus[0], 1), headers=headers)
        assert verify(client, c.clerk, code=shown(client, replace(c, shopper=headers), order_no)["code"]).status_code == 200
        orders.append(order_no)
    # (These orders were paid without WeChat Pay — tests.factories.mark_paid — so the refund is
    # started the way the refund path starts a full one: the order's own transition.)
    last = db.session.scalars(select(Order).where(Order.order_no == orders[-1])).one()
    transition(last, "start_refund", SYSTEM, reason="顾客退货")
    db.session.commit()

    assert invitations.sweep()["tiers_granted"] == 0  # first orders found; 7 days not up
    db.session.commit()
    assert invitations.sweep(utcnow() + timedelta(days=6))["tiers_granted"] == 0
    db.session.commit()
    done = invitations.sweep(utcnow() + timedelta(days=8))
    db.session.commit()
    assert done == {"first_orders": 0, "settled": 10, "tiers_granted": 2}
    for later in (9, 20):  # again, and later: nothing more
        assert invitations.sweep(utcnow() + timedelta(days=later))["tiers_granted"] == 0
        db.session.commit()
    grants = {g.invitees: g.reward for g in db.session.scalars(select(TierGrant).where(TierGrant.inviter_id == inviter_id))}
    assert set(grants) == {3, 5} and "coupon_id" in grants[5] and "lot_id" in grants[3]
    assert [lot.amount for lot in db.session.scalars(select(PointLot).where(PointLot.user_id == inviter_id))] == [300]
    assert db.session.scalar(select(func.count()).select_from(Coupon).where(Coupon.user_id == inviter_id)) == 1
    refused = db.session.scalars(select(Referral).where(Referral.status == "disqualified")).all()
    assert [(r.invitee_id, r.reason) for r in refused] == [(invitees[-1][0], "refunded")]
    mine = client.get("/api/me/invitation", headers=inviter).json
    assert (mine["qualified"], mine["waiting"], mine["granted"]) == (9, 0, [3, 5])
    # The inviter is told of each tier given, once.
    told = [r.payload for r in db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "subscribe_message"))
            if r.payload.get("event") == "invitation_reward"]
    assert sorted((t["user_id"], t["invitees"], t["reward"]["kind"]) for t in told) == [
        (inviter_id, 3, "points"), (inviter_id, 5, "coupon")]


def test_campaigns_refuse_tiers_that_cannot_be_rewarded(client, ctx):
    now = utcnow()
    closed = coupons.create_template(None, {"name": "仅限领取", "kind": "fixed", "amount_fen": 500, "valid_days": 7})
    db.session.commit()
    body = {"name": "x", "starts_at": now.isoformat(), "ends_at": (now + timedelta(days=1)).isoformat(),
            "tiers": [{"invitees": 3, "reward": {"kind": "coupon", "template_id": closed.id}}]}
    assert_error(client.post("/api/admin/invitation-campaigns", headers=admin_headers(client), json=body),
                 400, "invalid_request")
    body["tiers"] = [{"invitees": 3, "reward": {"kind": "points", "points": 100}},
                     {"invitees": 3, "reward": {"kind": "points", "points": 200}}]
    assert_error(client.post("/api/admin/invitation-campaigns", headers=admin_headers(client), json=body),
                 400, "invalid_request")


def test_codes_are_read_from_a_share_path_or_a_scene():
    assert invitations.code_in("inv=ab3k9mzq") == "AB3K9MZQ"
    assert invitations.code_in("AB3K9MZQ") == "AB3K9MZQ"
    assert invitations.code_in("inv=0000") is None  # 0 is not in the alphabet
    assert invitations.code_in("") is None and invitations.code_in(None) is None


def test_an_inviter_gets_a_mini_program_code_carrying_their_code(client, sandbox, ctx):
    _, inviter = login(client, sandbox, "poster-maker")
    resp = client.post("/api/me/invitation/poster", headers=inviter)
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    assert resp.data.startswith(b"\x89PNG")
    code = client.get("/api/me/invitation", headers=inviter).json["code"]
    import requests

    drawn = requests.get(f"{sandbox.base_url}/_/wxacodes", timeout=5).json()["wxacodes"]
    # What WeChat was asked to draw: the invitation page, with the code as the whole scene.
    assert any(w.get("scene") == f"inv={code}" and w.get("page") == "pages/index/index" for w in drawn), drawn[-1:]
