"""Staff login (username + password), logout, and who am I."""
from __future__ import annotations

from apiflask import APIBlueprint, fields, validators
from flask import request

from handlers.access import current_staff, staff_auth
from app.sessions import issue_token, revoke_token, session_ttl
from app.errors import Unauthorized
from app.ratelimit import FailureLimit, check_all
from handlers.schemas import Schema, StrictSchema
from models import staff as staff_model

bp = APIBlueprint("staff_auth", __name__, url_prefix="/api/staff", tag="Staff login")


class StaffLoginIn(StrictSchema):
    username = fields.String(required=True, validate=validators.Length(1, 64))
    password = fields.String(required=True, validate=validators.Length(1, 256))


class StaffOut(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    role = fields.String(attribute="role.value")
    store_ids = fields.List(fields.Integer())


class StaffLoginOut(Schema):
    token = fields.String()
    expires_at = fields.DateTime()
    staff = fields.Nested(StaffOut)


def _limits():
    from flask import current_app

    cfg = current_app.config
    per_user = FailureLimit("staff-login-user", cfg["STAFF_LOGIN_MAX_ATTEMPTS"], cfg["STAFF_LOGIN_WINDOW_S"])
    # One address guessing across many usernames gets a wider, but finite, allowance.
    per_ip = FailureLimit("staff-login-ip", cfg["STAFF_LOGIN_MAX_ATTEMPTS"] * 4, cfg["STAFF_LOGIN_WINDOW_S"])
    return per_user, per_ip


@bp.post("/login")
@bp.input(StaffLoginIn, arg_name="body")
@bp.output(StaffLoginOut)
@bp.doc(summary="Staff login", responses={401: "Wrong username or password", 429: "Too many failures"})
def login(body):
    username, ip = body["username"].strip().lower(), request.remote_addr or "unknown"
    per_user, per_ip = _limits()
    check_all((per_user, username), (per_ip, ip))
    staff = staff_model.authenticate(username, body["password"])
    if staff is None:
        per_user.fail(username)
        per_ip.fail(ip)
        raise Unauthorized("Wrong username or password.")
    per_user.clear(username)
    token, expires_at = issue_token("staff", staff.id, session_ttl("staff"),
                                    claims=staff_model.StaffPrincipal.claims(staff))
    return {"token": token, "expires_at": expires_at, "staff": staff}


@bp.get("/me")
@bp.auth_required(staff_auth)
@bp.output(StaffOut)
@bp.doc(summary="The signed-in staff member")
def me():
    return current_staff()


@bp.post("/logout")
@bp.auth_required(staff_auth)
@bp.output({}, status_code=204)
@bp.doc(summary="Revoke this staff token")
def logout():
    revoke_token(request.authorization.token)
    return ""
