"""Staff login, rate limits, roles and store binding, the staff CLI."""
from __future__ import annotations

from collections import Counter

import re

import pytest
import redis
from sqlalchemy import event, select

from app.extensions import db
from models.audit import AuditLog
from models.staff.tables import Staff
from tests.factories import PASSWORD, bearer, make_staff, make_store, staff_token
from tests.app.test_errors import assert_error
from tests.models.orders.test_concurrency import run_threads


def login(client, username, password=PASSWORD, ip="10.0.0.1"):
    return client.post("/api/staff/login", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": ip})


def test_login_and_me(client, ctx):
    store = make_store()
    clerk = make_staff("clerk", [store], username="Wang.Li")
    resp = login(client, "wang.li")
    assert resp.status_code == 200
    assert resp.json["staff"] == {"id": clerk.id, "username": "wang.li", "display_name": "",
                                  "role": "clerk", "store_ids": [store.id]}
    assert "password" not in resp.get_data(as_text=True)
    me = client.get("/api/staff/me", headers=bearer(resp.json["token"]))
    assert me.json["id"] == clerk.id


def test_password_is_hashed_with_argon2(ctx):
    member = make_staff("clerk")
    assert member.password_hash.startswith("$argon2id$")
    assert PASSWORD not in member.password_hash


def test_wrong_password_and_unknown_user_look_the_same(client, ctx):
    make_staff("clerk", username="known")
    a = assert_error(login(client, "known", "wrong-password!"), 401, "unauthorized")
    b = assert_error(login(client, "unknown", "wrong-password!"), 401, "unauthorized")
    assert a == b


def test_inactive_staff_cannot_log_in(client, ctx):
    member = make_staff("clerk")
    member.active = False
    db.session.commit()
    assert_error(login(client, member.username), 401, "unauthorized")


def test_login_attempts_are_rate_limited(client, app, ctx):
    make_staff("clerk", username="target")
    limit = app.config["STAFF_LOGIN_MAX_ATTEMPTS"]
    for _ in range(limit):
        assert login(client, "target", "wrong-password!").status_code == 401
    err = assert_error(login(client, "target"), 429, "rate_limited")  # even the right password
    assert err["details"]["retry_after_s"] > 0
    # Another address is limited too: the counter is per account as well as per address.
    assert_error(login(client, "target", ip="10.9.9.9"), 429, "rate_limited")


def test_one_address_guessing_many_accounts_is_limited(client, app):
    limit = app.config["STAFF_LOGIN_MAX_ATTEMPTS"] * 4
    for i in range(limit):
        login(client, f"user{i}", "wrong-password!", ip="10.6.6.6")
    assert_error(login(client, "someone", ip="10.6.6.6"), 429, "rate_limited")
    assert login(client, "someone", ip="10.7.7.7").status_code == 401


def test_concurrent_wrong_passwords_stop_at_the_account_limit(client, app, ctx):
    # Thirty at once, each from its own address: the account's limit is taken before the
    # password is checked, so no more than the limit get that far.
    make_staff("clerk", username="target")
    limit = app.config["STAFF_LOGIN_MAX_ATTEMPTS"]
    db.session.commit()  # this thread's read ends (on SQLite it holds the write lock)
    codes = run_threads(30, lambda i: login(app.test_client(), "target", "wrong-password!",
                                            ip=f"10.1.0.{i}").status_code)
    assert Counter(codes) == {401: limit, 429: 30 - limit}
    assert_error(login(client, "target", ip="10.2.0.1"), 429, "rate_limited")


def test_concurrent_wrong_passwords_stop_at_the_address_limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "STAFF_LOGIN_MAX_ATTEMPTS", 2)  # 8 per address
    limit = 8
    codes = run_threads(30, lambda i: login(app.test_client(), f"user{i}", "wrong-password!",
                                            ip="10.6.6.6").status_code)
    assert Counter(codes) == {401: limit, 429: 30 - limit}


def test_success_resets_the_account_counter(client, app, ctx):
    make_staff("clerk", username="forgetful")
    for _ in range(app.config["STAFF_LOGIN_MAX_ATTEMPTS"] - 1):
        login(client, "forgetful", "wrong-password!")
    assert login(client, "forgetful").status_code == 200
    assert login(client, "forgetful", "wrong-password!").status_code == 401
    assert login(client, "forgetful").status_code == 200


def test_admin_creates_staff_bound_to_stores(client, ctx):
    store = make_store()
    admin = make_staff("admin")
    resp = client.post("/api/admin/staff", headers=bearer(staff_token(client, admin)), json={
        "username": "new.clerk", "password": "long-enough-pw", "role": "clerk", "store_ids": [store.id]})
    assert resp.status_code == 201
    assert resp.json["store_ids"] == [store.id] and resp.json["role"] == "clerk"
    assert "password" not in resp.json
    assert login(client, "new.clerk", "long-enough-pw").status_code == 200
    entry = db.session.scalars(select(AuditLog).where(
        AuditLog.action == "staff.create", AuditLog.target_id == str(resp.json["id"]))).one()
    assert entry.actor_id == admin.id and "long-enough-pw" not in str(entry.changes)


def test_staff_validation(client, ctx):
    token = staff_token(client, make_staff("admin"))
    h = bearer(token)
    assert_error(client.post("/api/admin/staff", headers=h, json={
        "username": "x1", "password": "long-enough-pw", "role": "clerk"}), 400, "invalid_request")
    assert_error(client.post("/api/admin/staff", headers=h, json={
        "username": "abc", "password": "short", "role": "clerk"}), 400, "invalid_request")
    assert_error(client.post("/api/admin/staff", headers=h, json={
        "username": "abc", "password": "long-enough-pw", "role": "owner"}), 400, "invalid_request")
    err = assert_error(client.post("/api/admin/staff", headers=h, json={
        "username": "abc", "password": "long-enough-pw", "role": "clerk", "store_ids": [999]}),
        400, "invalid_request")
    assert err["details"]["store_ids"] == [999]
    make_staff("clerk", username="taken")
    assert_error(client.post("/api/admin/staff", headers=h, json={
        "username": "TAKEN", "password": "long-enough-pw", "role": "clerk"}), 409, "conflict")
    assert db.session.scalar(select(db.func.count()).select_from(Staff)) == 2


def test_only_admin_manages_staff(client, ctx):
    store = make_store()
    for role in ("manager", "clerk", "analyst"):
        token = staff_token(client, make_staff(role, [store]))
        assert_error(client.get("/api/admin/staff", headers=bearer(token)), 403, "forbidden")


@pytest.mark.parametrize("change", [{"role": "manager"}, {"store_ids": []}, {"active": False},
                                    {"password": "another-password-1"}])
def test_changing_what_a_session_holds_signs_them_out(client, ctx, change):
    store = make_store()
    clerk = make_staff("clerk", [store])
    clerk_token = staff_token(client, clerk)
    admin_token = staff_token(client, make_staff("admin"))
    resp = client.patch(f"/api/admin/staff/{clerk.id}", headers=bearer(admin_token), json=change)
    assert resp.status_code == 200
    assert_error(client.get("/api/staff/me", headers=bearer(clerk_token)), 401, "unauthorized")


def test_a_new_display_name_keeps_them_signed_in(client, ctx):
    clerk = make_staff("clerk", [make_store()])
    clerk_token = staff_token(client, clerk)
    admin_token = staff_token(client, make_staff("admin"))
    resp = client.patch(f"/api/admin/staff/{clerk.id}", headers=bearer(admin_token), json={"display_name": "王丽"})
    assert resp.status_code == 200 and resp.json["display_name"] == "王丽"
    me = client.get("/api/staff/me", headers=bearer(clerk_token))
    assert me.status_code == 200 and me.json["display_name"] == "王丽"
    audited = db.session.scalars(select(AuditLog).where(AuditLog.action == "staff.update")).one()
    assert audited.changes == {"display_name": ["", "王丽"]}


def test_a_change_that_cannot_end_the_sessions_is_not_made(client, ctx, monkeypatch):
    """Sessions carry the role and stores, so a change that cannot end them (Redis down)
    must not be committed either: the old session would go on with the old role."""
    clerk = make_staff("clerk", [make_store()])
    admin_token = staff_token(client, make_staff("admin"))

    def redis_down(*_):
        raise redis.exceptions.ConnectionError("down")
    monkeypatch.setattr("models.staff.accounts.revoke_all", redis_down)
    resp = client.patch(f"/api/admin/staff/{clerk.id}", headers=bearer(admin_token), json={"role": "manager"})
    assert_error(resp, 503, "unavailable")
    db.session.expire_all()
    assert db.session.get(Staff, clerk.id).role.value == "clerk"


def test_a_staff_request_is_authorized_by_its_session_alone(app, client, ctx):
    """Role and stores come from the session: a counter request reads no staff row. A
    session written without them (before they were written) reads the row, and so still
    ends when the member is deactivated."""
    store = make_store()
    clerk = make_staff("clerk", [store])
    token = staff_token(client, clerk)
    seen = []
    capture = lambda conn, cursor, statement, *rest: seen.append(statement)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        resp = client.post("/api/staff/pickups/preview", headers={**bearer(token), "X-Device-Id": "till-1"},
                           json={"code": "000000000000"})
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    assert_error(resp, 400, "pickup_code_invalid")
    assert seen and not [s for s in seen if re.search(r"\bFROM staff\b", s)]

    from app.sessions import issue_token
    old, _ = issue_token("staff", clerk.id, 600)
    me = client.get("/api/staff/me", headers=bearer(old))
    assert me.status_code == 200 and me.json["store_ids"] == [store.id] and me.json["role"] == "clerk"
    clerk.active = False
    db.session.commit()
    assert_error(client.get("/api/staff/me", headers=bearer(old)), 401, "unauthorized")


def test_admin_cannot_lock_themselves_out(client, ctx):
    admin = make_staff("admin")
    token = staff_token(client, admin)
    assert_error(client.patch(f"/api/admin/staff/{admin.id}", headers=bearer(token),
                              json={"active": False}), 409, "conflict")


def test_cli_creates_staff(app, ctx):
    store = make_store()
    result = app.test_cli_runner().invoke(args=[
        "staff", "create", "--username", "cli.manager", "--role", "manager",
        "--store", str(store.id), "--password", "cli-password-1"])
    assert result.exit_code == 0, result.output
    member = db.session.scalars(select(Staff).where(Staff.username == "cli.manager")).one()
    assert member.store_ids == [store.id]
    bad = app.test_cli_runner().invoke(args=[
        "staff", "create", "--username", "cli.other", "--role", "clerk", "--store", "999",
        "--password", "cli-password-1"])
    assert bad.exit_code != 0 and "Unknown store" in bad.output
