"""Binding a staff member to the official account: the admin makes a one-time QR code,
the staff member scans it in WeChat (the sandbox pushes SCAN/subscribe with its scene),
and that WeChat account is bound — once, before it expires, and only the newest code."""
from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from sqlalchemy import select, update

from app.extensions import db
from models.audit import AuditLog
from models.base import utcnow
from models.official import binding
from models.official.tables import BindingToken, OfficialBinding
from tests.factories import admin_headers, bearer, make_staff, make_store, staff_token
from tests.models.official.support import oa_openid, reply_text, sandbox_get, sandbox_post, say
from tests.app.test_errors import assert_error


@pytest.fixture
def clerk(ctx):
    return make_staff("clerk", [make_store(name="静安寺店")], username="xiaoli")


def new_qr(client, headers, staff) -> dict:
    resp = client.post(f"/api/admin/staff/{staff.id}/official-binding", headers=headers)
    assert resp.status_code == 201, resp.json
    return resp.json


def scan(sandbox, ticket: str, user: str, expect: int = 200) -> dict:
    return sandbox_post(sandbox, "/_/official/scan", {"ticket": ticket, "user": user}, expect)


def bound_openid(staff) -> str | None:
    db.session.rollback()
    row = db.session.get(OfficialBinding, staff.id)
    db.session.rollback()
    return row.openid if row else None


def test_admin_gets_a_one_time_qr_code_with_a_secret_scene(client, sandbox, clerk):
    qr = new_qr(client, admin_headers(client), clerk)
    assert qr["staff_id"] == clerk.id and qr["ticket"] and qr["url"].startswith("http://weixin.qq.com/q/")
    assert qr["expire_seconds"] == 600
    assert qr["qr_image_url"].startswith(sandbox.base_url + "/cgi-bin/showqrcode?ticket=")
    image = requests.get(qr["qr_image_url"], timeout=5)
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    [code] = sandbox_get(sandbox, "/_/official/qrcodes")["qrcodes"]
    assert code["ticket"] == qr["ticket"] and code["action_name"] == "QR_STR_SCENE"
    scene = code["scene"]
    assert binding.is_binding_scene(scene) and len(scene) <= 64
    # Only the token's hash is stored.
    token = db.session.scalars(select(BindingToken)).one()
    assert scene.split(":", 1)[1] not in token.token_hash and token.status == "pending"
    audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "staff.official_binding_qr")).one()
    assert audit.target_id == str(clerk.id) and audit.actor_type == "staff"


def test_only_admins_make_binding_codes(client, clerk):
    manager = make_staff("manager", clerk.stores)
    resp = client.post(f"/api/admin/staff/{clerk.id}/official-binding",
                       headers=bearer(staff_token(client, manager)))
    assert_error(resp, 403, "forbidden")
    resp = client.post("/api/admin/staff/999999/official-binding", headers=admin_headers(client))
    assert_error(resp, 404, "not_found")
    assert client.post(f"/api/admin/staff/{clerk.id}/official-binding").status_code == 401


def test_wechat_down_when_making_the_code_is_503_and_nothing_stored(client, sandbox, clerk):
    sandbox_post(sandbox, "/_/fail-next", {"path": "/cgi-bin/qrcode/create", "http_status": 502})
    resp = client.post(f"/api/admin/staff/{clerk.id}/official-binding", headers=admin_headers(client))
    assert_error(resp, 503, "wechat_unavailable")
    assert db.session.scalars(select(BindingToken)).all() == []


def test_binding_flow_end_to_end(live, client, sandbox, clerk):
    headers = admin_headers(client)
    qr = new_qr(client, headers, clerk)
    first = scan(sandbox, qr["ticket"], "xiaoli-wechat")  # not yet a follower: subscribe
    assert first["event"] == "subscribe"
    assert reply_text(first).startswith("绑定成功：xiaoli")
    assert bound_openid(clerk) == oa_openid("xiaoli-wechat")
    status = client.get(f"/api/admin/staff/{clerk.id}/official-binding", headers=headers).json
    assert status["bound"] is True and status["bound_at"]
    # Now a follower, the same person scanning again pushes SCAN: still bound, no error.
    again = scan(sandbox, qr["ticket"], "xiaoli-wechat")
    assert again["event"] == "SCAN" and reply_text(again).startswith("绑定成功")
    # Bound: 今日 answers.
    assert reply_text(say(sandbox, "xiaoli-wechat", "今日")).startswith("今日")
    actions = set(db.session.scalars(select(AuditLog.action)))
    assert {"staff.official_binding_qr", "staff.official_bound"} <= actions


def test_a_used_code_does_not_bind_anyone_else(live, client, sandbox, clerk):
    qr = new_qr(client, admin_headers(client), clerk)
    reply_text(scan(sandbox, qr["ticket"], "xiaoli-wechat"))
    stolen = scan(sandbox, qr["ticket"], "someone-else")
    assert reply_text(stolen) == binding.INVALID
    assert bound_openid(clerk) == oa_openid("xiaoli-wechat")
    assert say(sandbox, "someone-else", "今日")["body"] == "success"  # not staff


def test_an_expired_code_is_refused(live, client, sandbox, clerk):
    qr = new_qr(client, admin_headers(client), clerk)
    db.session.execute(update(BindingToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert reply_text(scan(sandbox, qr["ticket"], "xiaoli-wechat")) == binding.INVALID
    assert bound_openid(clerk) is None
    # And in WeChat the code itself dies with its expire_seconds: nothing is pushed.
    sandbox.state.advance(601)
    scan(sandbox, qr["ticket"], "xiaoli-wechat", expect=410)


def test_a_newer_code_replaces_the_older_one(live, client, sandbox, clerk):
    headers = admin_headers(client)
    older, newer = new_qr(client, headers, clerk), new_qr(client, headers, clerk)
    assert reply_text(scan(sandbox, older["ticket"], "xiaoli-wechat")) == binding.INVALID
    assert reply_text(scan(sandbox, newer["ticket"], "xiaoli-wechat")).startswith("绑定成功")


def test_a_forged_scene_binds_nobody(live, sandbox, clerk):
    result = sandbox_post(sandbox, "/_/official/push", {
        "user": "intruder", "event": "SCAN", "event_key": "bind:guessed-token-000000000000000"})
    assert reply_text(result) == binding.INVALID
    assert bound_openid(clerk) is None


def test_rebinding_moves_the_wechat_account(live, client, sandbox, clerk):
    headers = admin_headers(client)
    other = make_staff("clerk", clerk.stores, username="xiaowang")
    reply_text(scan(sandbox, new_qr(client, headers, clerk)["ticket"], "shared-phone"))
    reply_text(scan(sandbox, new_qr(client, headers, other)["ticket"], "shared-phone"))
    assert bound_openid(clerk) is None and bound_openid(other) == oa_openid("shared-phone")


def test_unfollowing_or_the_admin_unbinds(live, client, sandbox, clerk):
    headers = admin_headers(client)
    reply_text(scan(sandbox, new_qr(client, headers, clerk)["ticket"], "xiaoli-wechat"))
    sandbox_post(sandbox, "/_/official/push", {"user": "xiaoli-wechat", "event": "unsubscribe"})
    assert bound_openid(clerk) is None

    reply_text(scan(sandbox, new_qr(client, headers, clerk)["ticket"], "xiaoli-wechat"))
    assert bound_openid(clerk) is not None
    assert client.delete(f"/api/admin/staff/{clerk.id}/official-binding", headers=headers).status_code == 204
    assert bound_openid(clerk) is None
    assert_error(client.delete(f"/api/admin/staff/{clerk.id}/official-binding", headers=headers),
                 404, "not_found")
    assert client.get(f"/api/admin/staff/{clerk.id}/official-binding", headers=headers).json["bound"] is False
