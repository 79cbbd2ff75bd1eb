"""Shopper login: wx.login code → session token; phone binding."""
from __future__ import annotations

from apiflask import APIBlueprint, fields, validators
from flask import request

from handlers.access import current_user, shopper_auth
from app.sessions import issue_token, revoke_token, session_ttl
from handlers.schemas import Bool, Schema, StrictSchema
from models import users
from models.growth import coupons, invitations

bp = APIBlueprint("auth", __name__, url_prefix="/api/auth", tag="Shopper login")


class CodeIn(StrictSchema):
    code = fields.String(required=True, validate=validators.Length(1, 128))


class LoginIn(CodeIn):
    invite_code = fields.String(load_default=None, validate=validators.Length(1, 32), metadata={
        "description": "an invitation code from the share path (`inv`) or the mini-program code's scene "
                       "(`inv=CODE`): counts at a shopper's first login only"})


class LoginUser(Schema):
    id = fields.Integer()
    is_new = Bool()
    has_phone = Bool()


class LoginOut(Schema):
    token = fields.String()
    expires_at = fields.DateTime()
    user = fields.Nested(LoginUser)


class PhoneOut(Schema):
    phone_masked = fields.String()


@bp.post("/login")
@bp.input(LoginIn, arg_name="body")
@bp.output(LoginOut)
@bp.doc(summary="Log in with a wx.login code")
def login(body):
    user, is_new = users.login(body["code"])
    invitations.attribute(user, is_new, body["invite_code"])
    if is_new:  # a welcome coupon: the new_customer channel's templates, within their limits
        coupons.grant_by_channel(user.id, "new_customer")
    token, expires_at = issue_token("user", user.id, session_ttl("user"))
    return {"token": token, "expires_at": expires_at,
            "user": {"id": user.id, "is_new": is_new, "has_phone": user.has_phone}}


@bp.post("/phone")
@bp.auth_required(shopper_auth)
@bp.input(CodeIn, arg_name="body")
@bp.output(PhoneOut)
@bp.doc(summary="Bind the phone number from the phone button's code")
def bind_phone(body):
    user = users.bind_phone_with_code(current_user().user, body["code"])
    return {"phone_masked": user.phone_masked}


@bp.post("/logout")
@bp.auth_required(shopper_auth)
@bp.output({}, status_code=204)
@bp.doc(summary="Revoke this session token")
def logout():
    revoke_token(request.authorization.token)
    return ""
