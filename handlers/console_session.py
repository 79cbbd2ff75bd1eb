"""The console's staff session: signed in with a cookie no page script can read.

`POST` signs in (the same rules and limits as `/api/staff/login`) and sets the session
token as an httpOnly, SameSite=Strict cookie; the body carries the staff member, what
they may do, and the CSRF token the console sends back on every write. `GET` tells a
reloaded page who is signed in (and its CSRF token again); `DELETE` signs out. A
session ended elsewhere (logout, a role or store change, deactivation: every change
ends the member's sessions) answers 401 to the console's next call like any other.
How the cookie is checked on each request: handlers/access.py.
"""
from __future__ import annotations

from apiflask import APIBlueprint, fields
from flask import current_app, make_response, request

from app.sessions import csrf_token_for, expires_at, issue_token, revoke_token, session_ttl
from handlers.access import CONSOLE_COOKIE, can, current_staff, current_token, staff_auth
from handlers.schemas import Schema
from handlers.staff_auth import StaffLoginIn, StaffOut
from models.staff import login as staff_login
from models.staff.abilities import ABILITIES
from models.staff.principal import StaffPrincipal

bp = APIBlueprint("console_session", __name__, url_prefix="/api/console", tag="Console session")


class ConsoleStaffOut(StaffOut):
    abilities = fields.Function(lambda staff: [name for name, ability in ABILITIES.items()
                                               if staff.role in ability.roles],
                                metadata={"description": "what the console may offer this member"})


class ConsoleSessionOut(Schema):
    staff = fields.Nested(ConsoleStaffOut)
    csrf_token = fields.String(metadata={"description": "send as X-CSRF-Token on every write"})
    expires_at = fields.DateTime()


def _secure() -> bool:
    # Secure cookies need HTTPS; the development server (and a test) speaks HTTP.
    return request.is_secure or current_app.config["PUBLIC_BASE_URL"].startswith("https://")


@bp.post("/session")
@bp.input(StaffLoginIn, arg_name="body")
@bp.output(ConsoleSessionOut)
@bp.doc(summary="Sign in to the console (sets the httpOnly session cookie)",
        responses={401: "unauthorized: wrong username or password", 429: "rate_limited"})
def sign_in(body):
    staff = staff_login.login(body["username"], body["password"], request.remote_addr)
    ttl_s = session_ttl("staff")
    token, expires_at = issue_token("staff", staff.id, ttl_s, claims=StaffPrincipal.claims(staff))
    response = make_response(ConsoleSessionOut().dump(
        {"staff": staff, "csrf_token": csrf_token_for(token), "expires_at": expires_at}))
    response.set_cookie(CONSOLE_COOKIE, token, max_age=ttl_s, path="/", httponly=True,
                        samesite="Strict", secure=_secure())
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/session")
@bp.auth_required(staff_auth)
@can("session.own")
@bp.output(ConsoleSessionOut)
@bp.doc(summary="Who is signed in to the console, and the CSRF token for writes")
def whoami():
    token = current_token()
    return {"staff": current_staff(), "csrf_token": csrf_token_for(token), "expires_at": expires_at(token)}


@bp.delete("/session")
@bp.auth_required(staff_auth)
@can("session.own")
@bp.output({}, status_code=204)
@bp.doc(summary="Sign out of the console (ends the session, clears the cookie)")
def sign_out():
    revoke_token(current_token())
    response = make_response("", 204)
    response.delete_cookie(CONSOLE_COOKIE, path="/", httponly=True, samesite="Strict", secure=_secure())
    return response
