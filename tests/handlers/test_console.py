"""The console in the browser: its session cookie (httpOnly, SameSite=Strict, CSRF on
writes) and its built files at /console/ (issue 18)."""
from __future__ import annotations

import pytest

from tests.factories import bearer, make_staff, make_store, staff_token, PASSWORD

SESSION = "/api/console/session"


def sign_in(client, member, password=PASSWORD):
    return client.post(SESSION, json={"username": member.username, "password": password})


def set_cookie_header(resp) -> str:
    found = [h for h in resp.headers.getlist("Set-Cookie") if h.startswith("tihuo_console=")]
    assert len(found) == 1, resp.headers.getlist("Set-Cookie")
    return found[0]


def test_signing_in_sets_a_cookie_no_script_can_read(client, ctx):
    admin = make_staff("admin")
    resp = sign_in(client, admin)
    assert resp.status_code == 200
    cookie = set_cookie_header(resp)
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "samesite", "path", "max-age"} <= attributes
    assert "SameSite=Strict" in cookie and "Path=/" in cookie
    assert "secure" not in attributes  # plain HTTP here (PUBLIC_BASE_URL is http://)
    token = cookie.split(";")[0].split("=", 1)[1]
    body = resp.get_data(as_text=True)
    assert token not in body  # the token is in the cookie only
    assert resp.json["staff"]["role"] == "admin" and "refunds.create" in resp.json["staff"]["abilities"]
    assert len(resp.json["csrf_token"]) == 64 and resp.headers["Cache-Control"] == "no-store"


def test_the_cookie_is_secure_behind_https(app, client, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://shop.example.com")
    assert "Secure" in set_cookie_header(sign_in(client, make_staff("admin")))


def test_abilities_follow_the_role(client, ctx):
    clerk = make_staff("clerk", [make_store()])
    abilities = sign_in(client, clerk).json["staff"]["abilities"]
    assert "pickups.verify" in abilities and "refunds.create" not in abilities and "staff.write" not in abilities


def test_reads_go_by_the_cookie_and_writes_need_the_csrf_token(client, ctx):
    admin = make_staff("admin")
    csrf = sign_in(client, admin).json["csrf_token"]
    assert client.get("/api/staff/me").json["id"] == admin.id  # the cookie alone
    store = {"name": "静安店", "address": "上海市静安区1号", "lat": 31.22, "lng": 121.44}
    refused = client.post("/api/admin/stores", json=store)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "csrf_failed"
    wrong = client.post("/api/admin/stores", json=store, headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403 and wrong.json["error"]["code"] == "csrf_failed"
    made = client.post("/api/admin/stores", json=store, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201, made.json
    # A reloaded page asks who is signed in and gets the same CSRF token back.
    again = client.get(SESSION)
    assert again.status_code == 200 and again.json["csrf_token"] == csrf and again.json["expires_at"]


def test_a_bearer_token_needs_no_csrf_token(client, ctx):
    admin = make_staff("admin")
    resp = client.post("/api/admin/stores", headers=bearer(staff_token(client, admin)),
                       json={"name": "徐汇店", "address": "上海市徐汇区1号", "lat": 31.19, "lng": 121.43})
    assert resp.status_code == 201


def test_signing_out_ends_the_session_and_clears_the_cookie(client, ctx):
    admin = make_staff("admin")
    csrf = sign_in(client, admin).json["csrf_token"]
    assert client.delete(SESSION).status_code == 403  # a write like any other: CSRF first
    resp = client.delete(SESSION, headers={"X-CSRF-Token": csrf})
    assert resp.status_code == 204
    cleared = set_cookie_header(resp)
    assert "Expires=Thu, 01 Jan 1970" in cleared or "Max-Age=0" in cleared
    assert client.get(SESSION).status_code == 401
    assert client.get("/api/staff/me").status_code == 401


def test_the_api_logout_ends_a_cookie_session_too(client, ctx):
    csrf = sign_in(client, make_staff("admin")).json["csrf_token"]
    assert client.post("/api/staff/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert client.get(SESSION).status_code == 401


def test_a_role_change_ends_the_console_session(client, ctx):
    store = make_store()
    clerk = make_staff("clerk", [store])
    admin_headers = bearer(staff_token(client, make_staff("admin")))
    console = client.application.test_client()
    assert sign_in(console, clerk).status_code == 200
    assert console.get(SESSION).status_code == 200
    changed = client.patch(f"/api/admin/staff/{clerk.id}", json={"role": "manager"}, headers=admin_headers)
    assert changed.status_code == 200
    assert console.get(SESSION).status_code == 401


def test_wrong_passwords_are_refused_and_limited(app, client, ctx):
    member = make_staff("admin")
    codes = [sign_in(client, member, "wrong-password").status_code
             for _ in range(app.config["STAFF_LOGIN_MAX_ATTEMPTS"] + 1)]
    assert codes[:-1] == [401] * app.config["STAFF_LOGIN_MAX_ATTEMPTS"] and codes[-1] == 429
    assert not client.get_cookie("tihuo_console")


# --- the built files ----------------------------------------------------------------------

@pytest.fixture
def dist(app, tmp_path, monkeypatch):
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text('<!doctype html><div id="app"></div>'
                                         '<script type="module" src="/console/assets/index-abc123.js"></script>')
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log('tihuo')")
    (tmp_path / "favicon.svg").write_text("<svg/>")
    monkeypatch.setitem(app.config, "CONSOLE_DIST", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("path", ["/console/", "/console/counter", "/console/orders/TH123"])
def test_every_page_route_answers_the_app_with_a_strict_policy(client, dist, path):
    resp = client.get(path)
    assert resp.status_code == 200 and b'<div id="app">' in resp.data
    assert resp.headers["Cache-Control"] == "no-cache"
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_hashed_assets_are_cached_for_a_year(client, dist):
    resp = client.get("/console/assets/index-abc123.js")
    assert resp.status_code == 200 and resp.data == b"console.log('tihuo')"
    assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert client.get("/console/assets/missing-000.js").status_code == 404
    assert client.get("/console/favicon.svg").data == b"<svg/>"


def test_nothing_outside_the_build_is_served(client, dist):
    for path in ("/console/../app/config.py", "/console/%2e%2e/%2e%2e/app/config.py", "/console/assets/../../x"):
        resp = client.get(path)
        assert b"SECRET" not in resp.data and b"import" not in resp.data


def test_the_root_redirects_and_a_missing_build_says_how_to_build(app, client, tmp_path, monkeypatch):
    assert client.get("/console").status_code == 308
    monkeypatch.setitem(app.config, "CONSOLE_DIST", str(tmp_path / "none"))
    resp = client.get("/console/")
    assert resp.status_code == 404 and resp.json["error"]["code"] == "console_not_built"
