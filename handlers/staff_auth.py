"""Staff login (username + password), logout, and who am I."""
from __future__ import annotations

from apiflask import APIBlueprint, fields, validators
from flask import request

from handlers.access import can, current_staff, current_token, staff_auth
from app.sessions import issue_token, revoke_token, session_ttl
from handlers.schemas import Schema, StrictSchema
from models.staff import login as staff_login
from models.staff.principal import StaffPrincipal

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


@bp.post("/login")
@bp.input(StaffLoginIn, arg_name="body")
@bp.output(StaffLoginOut)
@bp.doc(summary="Staff login", responses={401: "Wrong username or password", 429: "Too many failures"})
def login(body):
    staff = staff_login.login(body["username"], body["password"], request.remote_addr)
    token, expires_at = issue_token("staff", staff.id, session_ttl("staff"),
                                    claims=StaffPrincipal.claims(staff))
    return {"token": token, "expires_at": expires_at, "staff": staff}


@bp.get("/me")
@bp.auth_required(staff_auth)
@can("session.own")
@bp.output(StaffOut)
@bp.doc(summary="The signed-in staff member")
def me():
    return current_staff()


@bp.post("/logout")
@bp.auth_required(staff_auth)
@can("session.own")
@bp.output({}, status_code=204)
@bp.doc(summary="Revoke this staff token")
def logout():
    revoke_token(current_token())
    return ""
