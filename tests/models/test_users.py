"""Shopper login through WeChat code2session, phone binding, session tokens."""
from __future__ import annotations

import base64

import pytest
import requests
from sqlalchemy import select

from app.extensions import db, rds
from models.users import User
from tests.factories import bearer, make_staff, shopper_token, staff_token, wx_login_code
from tests.app.test_errors import assert_error


def fail_next(sandbox, path, **how):
    requests.post(f"{sandbox.base_url}/_/fail-next", json={"path": path, **how}, timeout=5).raise_for_status()


def test_new_then_returning_user(client, sandbox, app):
    first = client.post("/api/auth/login", json={"code": wx_login_code(sandbox, "alice")})
    assert first.status_code == 200
    assert first.json["user"]["is_new"] is True
    assert first.json["user"]["has_phone"] is False
    assert first.json["expires_at"].endswith("Z") or "+00:00" in first.json["expires_at"]
    again = client.post("/api/auth/login", json={"code": wx_login_code(sandbox, "alice")})
    assert again.json["user"] == {**first.json["user"], "is_new": False}
    assert again.json["token"] != first.json["token"]
    other = client.post("/api/auth/login", json={"code": wx_login_code(sandbox, "bob")})
    assert other.json["user"]["id"] != first.json["user"]["id"]
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(User)) == 2


def test_session_key_is_stored_encrypted_and_never_returned(client, sandbox, app):
    resp = client.post("/api/auth/login", json={"code": wx_login_code(sandbox, "alice")})
    assert "session_key" not in resp.get_data(as_text=True)
    with app.app_context():
        from app.crypto import cipher

        user = db.session.get(User, resp.json["user"]["id"])
        session_key = cipher().decrypt(user.session_key_enc, aad=user._aad("session_key"))
        assert len(base64.b64decode(session_key)) == 16  # what WeChat issued, readable by us only
        assert session_key not in user.session_key_enc
        other_row = User(openid="someone-else")
        with pytest.raises(ValueError):  # a ciphertext copied onto another row does not decrypt
            cipher().decrypt(user.session_key_enc, aad=other_row._aad("session_key"))


def test_used_and_unknown_codes_are_refused(client, sandbox):
    code = wx_login_code(sandbox)
    assert client.post("/api/auth/login", json={"code": code}).status_code == 200
    assert_error(client.post("/api/auth/login", json={"code": code}), 400, "wechat_code_invalid")
    assert_error(client.post("/api/auth/login", json={"code": "made-up"}), 400, "wechat_code_invalid")


def test_wechat_rate_limit_is_429(client, sandbox):
    code = wx_login_code(sandbox)
    fail_next(sandbox, "/sns/jscode2session", errcode=45011)
    err = assert_error(client.post("/api/auth/login", json={"code": code}), 429, "rate_limited")
    assert err["details"]["retry_after_s"] > 0


def test_wechat_busy_is_503(client, sandbox):
    code = wx_login_code(sandbox)
    fail_next(sandbox, "/sns/jscode2session", errcode=-1)
    assert_error(client.post("/api/auth/login", json={"code": code}), 503, "wechat_unavailable")


def test_wechat_server_error_is_503(client, sandbox):
    code = wx_login_code(sandbox)
    fail_next(sandbox, "/sns/jscode2session", http_status=502)
    assert_error(client.post("/api/auth/login", json={"code": code}), 503, "wechat_unavailable")


def test_wechat_unreachable_is_503(settings, sandbox):
    from app import create_app

    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    app = create_app(settings.model_copy(update={"WECHAT_API_BASE": f"http://127.0.0.1:{closed_port}"}))
    resp = app.test_client().post("/api/auth/login", json={"code": wx_login_code(sandbox)})
    assert_error(resp, 503, "wechat_unavailable")


def test_no_user_row_when_wechat_fails(client, sandbox, app):
    fail_next(sandbox, "/sns/jscode2session", errcode=-1)
    client.post("/api/auth/login", json={"code": wx_login_code(sandbox)})
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(User)) == 0


# --- phone ---------------------------------------------------------------------------

def phone_code(sandbox, phone, country="86"):
    return requests.post(f"{sandbox.base_url}/_/phone-codes",
                         json={"phone": phone, "country_code": country}, timeout=5).json()["code"]


def test_bind_phone(client, sandbox, app):
    token = shopper_token(client, sandbox)
    resp = client.post("/api/auth/phone", json={"code": phone_code(sandbox, "13812345678")},
                       headers=bearer(token))
    assert resp.status_code == 200
    assert resp.json == {"phone_masked": "138****5678"}
    with app.app_context():
        user = db.session.scalars(select(User)).one()
        assert "13812345678" not in (user.phone_enc + user.phone_hash)
        assert user.phone == "13812345678"
        from models.users import find_by_phone
        assert [u.id for u in find_by_phone("13812345678")] == [user.id]
    again = client.post("/api/auth/login", json={"code": wx_login_code(sandbox)})
    assert again.json["user"]["has_phone"] is True


def test_bind_foreign_phone_keeps_country_code(client, sandbox, app):
    token = shopper_token(client, sandbox)
    resp = client.post("/api/auth/phone", json={"code": phone_code(sandbox, "61234567", "852")},
                       headers=bearer(token))
    assert resp.status_code == 200
    with app.app_context():
        assert db.session.scalars(select(User)).one().phone == "+85261234567"


def test_bind_phone_bad_code(client, sandbox):
    token = shopper_token(client, sandbox)
    assert_error(client.post("/api/auth/phone", json={"code": "nope"}, headers=bearer(token)),
                 400, "wechat_code_invalid")


def test_bind_phone_needs_login(client, sandbox):
    assert_error(client.post("/api/auth/phone", json={"code": phone_code(sandbox, "13800000000")}),
                 401, "unauthorized")


# --- tokens --------------------------------------------------------------------------

def test_forged_token(client):
    assert_error(client.post("/api/auth/phone", json={"code": "x"}, headers=bearer("forged" * 7)),
                 401, "unauthorized")


def test_expired_token(client, sandbox, app):
    token = shopper_token(client, sandbox)
    with app.app_context():
        for key in rds().scan_iter("session:*"):
            rds().delete(key)  # what the TTL does when it runs out
    assert_error(client.post("/api/auth/phone", json={"code": "x"}, headers=bearer(token)),
                 401, "unauthorized")


def test_session_token_has_a_ttl(client, sandbox, app):
    shopper_token(client, sandbox)
    with app.app_context():
        keys = list(rds().scan_iter("session:*"))
        assert len(keys) == 1
        assert 0 < rds().ttl(keys[0]) <= app.config["SESSION_TTL_S"]


def test_logout_revokes(client, sandbox):
    token = shopper_token(client, sandbox)
    assert client.post("/api/auth/logout", headers=bearer(token)).status_code == 204
    assert_error(client.post("/api/auth/logout", headers=bearer(token)), 401, "unauthorized")


def test_staff_token_on_shopper_route(client, ctx):
    token = staff_token(client, make_staff("admin"))
    err = assert_error(client.post("/api/auth/phone", json={"code": "x"}, headers=bearer(token)),
                       401, "unauthorized")
    assert "shopper" in err["message"]


def test_shopper_token_on_staff_route(client, sandbox):
    token = shopper_token(client, sandbox)
    err = assert_error(client.get("/api/staff/me", headers=bearer(token)), 401, "unauthorized")
    assert "staff" in err["message"]


def test_token_index_is_pruned_and_revoke_all_works(client, sandbox, app):
    from app.sessions import issue_token, resolve_token, revoke_all

    with app.app_context():
        stale, _ = issue_token("user", 42, 1)
        rds().delete(next(iter(rds().zrange("sessions:user:42", 0, -1))))  # as if it expired
        rds().zadd("sessions:user:42", {"session:gone": 1})  # an entry whose expiry has passed
        fresh = [issue_token("user", 42, 600)[0] for _ in range(3)]
        members = rds().zrange("sessions:user:42", 0, -1)
        assert "session:gone" not in members and len(members) <= 4
        assert all(resolve_token(t) == ("user", 42, "") for t in fresh)
        revoke_all("user", 42)
        assert all(resolve_token(t) is None for t in fresh + [stale])
        assert not rds().exists("sessions:user:42")
