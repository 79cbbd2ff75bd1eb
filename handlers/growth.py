"""The shopper's points and coupons: what they have, what they can claim, claiming."""
from __future__ import annotations

from apiflask import APIBlueprint, fields, validators
from flask import Response

from handlers.access import current_user, shopper_auth
from handlers.schemas import Cursor, PageQuery, RequiredIdempotencyHeaders, Schema, StrictSchema, cursor_int, page, page_of
from models.growth import coupons, invitations, levels, points, streaks
from models.growth.tables import CouponStatus

bp = APIBlueprint("growth", __name__, url_prefix="/api", tag="Points and coupons")


class CouponTemplateOut(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String(metadata={"description": "fixed | percent | threshold (满减) | voucher (one unit of sku_id)"})
    amount_fen = fields.Integer()
    percent_off = fields.Integer()
    cap_fen = fields.Integer(allow_none=True)
    min_spend_fen = fields.Integer()
    sku_id = fields.Integer(allow_none=True)
    scope = fields.String(metadata={"description": "all | category | sku | store"})
    scope_ids = fields.List(fields.Raw())
    valid_from = fields.DateTime(allow_none=True)
    valid_until = fields.DateTime(allow_none=True)
    valid_days = fields.Integer(allow_none=True, metadata={"description": "valid this many days from claiming"})
    per_user_limit = fields.Integer()
    stack_with_points = fields.Boolean()
    points_cost = fields.Integer(metadata={"description": "points it costs by exchange (0: not exchangeable)"})


class ClaimableOut(Schema):
    template = fields.Nested(CouponTemplateOut)
    have = fields.Integer(metadata={"description": "how many of these you have"})
    can_claim = fields.Boolean()


class CouponOut(Schema):
    id = fields.Integer()
    template_id = fields.Integer()
    status = fields.String(metadata={"description": "available | locked (held by an unpaid order) | used | expired"})
    valid_from = fields.DateTime()
    valid_until = fields.DateTime()
    claimed_at = fields.DateTime()
    channel = fields.String()


class CouponsQuery(PageQuery):
    status = fields.String(load_default=None, validate=validators.OneOf([s.value for s in CouponStatus]))


class ExpiringOut(Schema):
    expires_at = fields.DateTime()
    points = fields.Integer()


class PointsOut(Schema):
    balance = fields.Integer(metadata={"description": "points not expired (some may not be spendable yet)"})
    spendable = fields.Integer(metadata={"description": "points you can spend now"})
    debt = fields.Integer(metadata={"description": "points owed after a refund; later earnings pay it first"})
    expiring = fields.Nested(ExpiringOut, many=True, metadata={"description": "the next expiries"})


class PointEntryOut(Schema):
    id = fields.Integer()
    delta = fields.Integer()
    balance_after = fields.Integer()
    reason = fields.String(metadata={"description": "earn | spend | return | clawback | expire | debt"})
    ref = fields.String(allow_none=True)
    at = fields.DateTime()


class HistoryQuery(StrictSchema):
    cursor = Cursor()
    limit = fields.Integer(load_default=20, validate=validators.Range(1, 100))


@bp.get("/coupons/claimable")
@bp.auth_required(shopper_auth)
@bp.output(ClaimableOut(many=True))
@bp.doc(summary="Coupons open to claiming now")
def claimable():
    return coupons.claimable(current_user().id)


@bp.post("/coupons/<int:template_id>/claim")
@bp.auth_required(shopper_auth)
@bp.output(CouponOut, status_code=201)
@bp.doc(summary="Claim a coupon",
        responses={404: "not_found", 409: "coupon_sold_out, coupon_limit_reached, coupon_not_claimable"})
def claim(template_id):
    return coupons.claim(current_user().id, template_id)


@bp.get("/coupons/exchangeable")
@bp.auth_required(shopper_auth)
@bp.output(ClaimableOut(many=True))
@bp.doc(summary="Coupons open to exchanging for points now (each at its points_cost)")
def exchangeable():
    return coupons.claimable(current_user().id, channel="points_exchange")


@bp.post("/coupons/<int:template_id>/exchange")
@bp.auth_required(shopper_auth)
@bp.input(RequiredIdempotencyHeaders, location="headers", arg_name="headers")
@bp.output(CouponOut, status_code=201)
@bp.doc(summary="Exchange points for a coupon (Idempotency-Key required: a retry is the same exchange)",
        responses={404: "not_found", 409: "coupon_sold_out, coupon_limit_reached, coupon_not_claimable, "
                                          "points_insufficient", 422: "idempotency_key_reused"})
def exchange(template_id, headers):
    return coupons.exchange(current_user().id, template_id, key=headers["idempotency_key"])


@bp.get("/me/coupons")
@bp.auth_required(shopper_auth)
@bp.input(CouponsQuery, location="query", arg_name="query")
@bp.output(page_of(CouponOut, "CouponPage"))
@bp.doc(summary="My coupons, newest first")
def my_coupons(query):
    rows = coupons.mine(current_user().id, query["status"], cursor=cursor_int(query["cursor"]),
                        limit=query["limit"] + 1)
    return page(rows, query["limit"])


@bp.get("/me/points")
@bp.auth_required(shopper_auth)
@bp.output(PointsOut)
@bp.doc(summary="My points: balance, spendable now, next expiries")
def my_points():
    return points.summary(current_user().id)


@bp.get("/me/points/history")
@bp.auth_required(shopper_auth)
@bp.input(HistoryQuery, location="query", arg_name="query")
@bp.output(page_of(PointEntryOut, "PointEntryPage"))
@bp.doc(summary="Every change of my points, newest first, with the balance after it")
def my_points_history(query):
    rows = points.history(current_user().id, cursor=cursor_int(query["cursor"]), limit=query["limit"] + 1)
    return page(rows, query["limit"])


class TierOut(Schema):
    invitees = fields.Integer(metadata={"description": "qualified invitees this tier needs"})
    reward = fields.Dict(metadata={"description": "{kind: coupon, template_id} or {kind: points, points}"})


class CampaignOut(Schema):
    id = fields.Integer()
    name = fields.String()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    min_order_fen = fields.Integer(metadata={"description": "an invitee's first order must be at least this"})
    tiers = fields.Nested(TierOut, many=True)


class InvitationOut(Schema):
    code = fields.String(metadata={"description": "my invitation code: the share path's `inv`"})
    scene = fields.String(metadata={"description": "the mini-program code's scene (getwxacodeunlimit)"})
    campaign = fields.Nested(CampaignOut, allow_none=True)
    qualified = fields.Integer(metadata={"description": "invitees who qualified (first order collected, kept 7 days)"})
    waiting = fields.Integer(metadata={"description": "invitees who have not qualified yet"})
    granted = fields.List(fields.Integer(), metadata={"description": "tiers rewarded (their invitee counts)"})


@bp.get("/me/invitation")
@bp.auth_required(shopper_auth)
@bp.output(InvitationOut)
@bp.doc(summary="My invitation code and how far I am in the running campaign")
def my_invitation():
    return invitations.progress(current_user().id)


@bp.post("/me/invitation/poster")
@bp.auth_required(shopper_auth)
@bp.doc(summary="My invitation as a mini-program code (PNG) to put on a poster; scanning it opens the shop "
                "with my code",
        responses={200: {"description": "the code, a PNG", "content": {"image/png": {}}}, 503: "wechat_unavailable"})
def my_invitation_poster():
    return Response(invitations.poster_code(current_user().id), mimetype="image/png",
                    headers={"Cache-Control": "no-store"})


class LevelOut(Schema):
    id = fields.Integer()
    name = fields.String()
    min_spend_fen = fields.Integer()
    points_percent = fields.Integer()
    priority_pickup = fields.Boolean()
    discount_percent = fields.Integer(metadata={"description": "member price: percent off every order"})
    birthday_template_id = fields.Integer(allow_none=True, metadata={"description": "the birthday coupon's template"})


class MyLevelOut(Schema):
    level = fields.Nested(LevelOut, allow_none=True)
    spend_12m_fen = fields.Integer(metadata={"description": "net completed spend over the last 12 months"})
    next_level = fields.Nested(LevelOut, allow_none=True)
    to_next_fen = fields.Integer(allow_none=True)


@bp.get("/me/level")
@bp.auth_required(shopper_auth)
@bp.output(MyLevelOut)
@bp.doc(summary="My member level, the spend it stands on, and what the next one needs")
def my_level():
    return levels.mine(current_user().id)


class StreakOut(Schema):
    length = fields.Integer(metadata={"description": "days in a row so far (0: the run was broken)"})
    best = fields.Integer()
    streak_days = fields.Integer(metadata={"description": "days in a row that earn the benefit"})
    to_next_reward = fields.Integer(metadata={"description": "visit days still needed for the next benefit"})
    checked_in_today = fields.Boolean()
    priority_until = fields.DateTime(allow_none=True, metadata={"description": "the streak's priority pickup, until"})
    priority_pickup = fields.Boolean(metadata={"description": "my orders are prepared first now (level or streak)"})


@bp.get("/me/streak")
@bp.auth_required(shopper_auth)
@bp.output(StreakOut)
@bp.doc(summary="My visit streak (check-ins and pickups) and whether my orders get priority pickup")
def my_streak():
    return streaks.mine(current_user().id)


@bp.post("/me/checkin")
@bp.auth_required(shopper_auth)
@bp.output(StreakOut)
@bp.doc(summary="Check in today (签到): a visit day of my streak; again the same day changes nothing")
def check_in():
    streaks.visit(current_user().id)
    return streaks.mine(current_user().id)


class BirthdayIn(StrictSchema):
    month = fields.Integer(required=True, strict=True, validate=validators.Range(1, 12))
    day = fields.Integer(required=True, strict=True, validate=validators.Range(1, 31))


class BirthdayOut(Schema):
    month = fields.Function(lambda m: m.birth_md // 100)
    day = fields.Function(lambda m: m.birth_md % 100)


@bp.put("/me/birthday")
@bp.auth_required(shopper_auth)
@bp.input(BirthdayIn, arg_name="body")
@bp.output(BirthdayOut)
@bp.doc(summary="My birthday (month and day), for my level's birthday coupon; set once",
        responses={400: "invalid_request: not a date", 409: "birthday_set: a different one is set already"})
def set_birthday(body):
    return levels.set_birthday(current_user().id, body["month"], body["day"])
