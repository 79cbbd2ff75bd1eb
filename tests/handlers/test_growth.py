"""Points and coupons over HTTP: a shopper claims and lists, the limits answer with their
codes (in the shopper's language), staff create templates and give points once per key."""
from __future__ import annotations

from app.extensions import db
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
