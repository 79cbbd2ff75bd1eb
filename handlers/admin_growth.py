"""Merchant console: coupon templates (create, switch on and off, list) and points given
by hand."""
from __future__ import annotations

from apiflask import APIBlueprint, fields, validators

from handlers.access import can, current_staff, staff_auth
from handlers.growth import CampaignOut, CouponTemplateOut, LevelOut
from handlers.schemas import PageQuery, RequiredIdempotencyHeaders, Schema, StrictSchema, cursor_int, page, page_of
from models.growth import campaigns, coupons, invitations, levels, points
from models.growth.tables import CouponKind, CouponScope

bp = APIBlueprint("admin_growth", __name__, url_prefix="/api/admin", tag="Admin: points and coupons")


class CouponTemplateIn(StrictSchema):
    name = fields.String(required=True, validate=validators.Length(1, 64))
    kind = fields.String(required=True, validate=validators.OneOf([k.value for k in CouponKind]))
    amount_fen = fields.Integer(load_default=0, strict=True, validate=validators.Range(0, 10_000_000))
    percent_off = fields.Integer(load_default=0, strict=True, validate=validators.Range(0, 99))
    cap_fen = fields.Integer(load_default=None, strict=True, validate=validators.Range(1, 10_000_000))
    min_spend_fen = fields.Integer(load_default=0, strict=True, validate=validators.Range(0, 100_000_000))
    sku_id = fields.Integer(load_default=None, strict=True, validate=validators.Range(min=1))
    scope = fields.String(load_default="all", validate=validators.OneOf([s.value for s in CouponScope]))
    scope_ids = fields.List(fields.Raw(), load_default=list, validate=validators.Length(max=200))
    valid_from = fields.AwareDateTime(load_default=None)
    valid_until = fields.AwareDateTime(load_default=None)
    valid_days = fields.Integer(load_default=None, strict=True, validate=validators.Range(1, 3650))
    total_limit = fields.Integer(load_default=None, strict=True, validate=validators.Range(1, 10_000_000))
    per_user_limit = fields.Integer(load_default=1, strict=True, validate=validators.Range(1, 1000))
    channels = fields.List(fields.String(validate=validators.OneOf(coupons.CHANNELS)), load_default=lambda: ["claim"])
    stack_with_points = fields.Boolean(load_default=True)
    points_cost = fields.Integer(load_default=0, strict=True, validate=validators.Range(0, 10_000_000),
                                 metadata={"description": "points a coupon costs (the points_exchange channel only)"})


class AdminTemplateOut(CouponTemplateOut):
    total_limit = fields.Integer(allow_none=True)
    issued = fields.Integer(metadata={"description": "coupons handed out so far"})
    channels = fields.List(fields.String())
    active = fields.Boolean()
    created_at = fields.DateTime()


class ActiveIn(StrictSchema):
    active = fields.Boolean(required=True)


class GrantIn(StrictSchema):
    user_id = fields.Integer(required=True, strict=True, validate=validators.Range(min=1))
    points = fields.Integer(required=True, strict=True, validate=validators.Range(1, 1_000_000))
    note = fields.String(load_default=None, validate=validators.Length(max=200))


class GrantOut(Schema):
    lot_id = fields.Integer(attribute="id")
    user_id = fields.Integer()
    points = fields.Integer(attribute="amount")
    expires_at = fields.DateTime()


@bp.get("/coupon-templates")
@bp.auth_required(staff_auth)
@can("growth.read")
@bp.input(PageQuery, location="query", arg_name="query")
@bp.output(page_of(AdminTemplateOut, "CouponTemplatePage"))
@bp.doc(summary="Coupon templates, newest first")
def list_templates(query):
    return page(coupons.templates(cursor=cursor_int(query["cursor"]), limit=query["limit"] + 1), query["limit"])


@bp.post("/coupon-templates")
@bp.auth_required(staff_auth)
@can("growth.write")
@bp.input(CouponTemplateIn, arg_name="body")
@bp.output(AdminTemplateOut, status_code=201)
@bp.doc(summary="Create a coupon template", responses={400: "invalid_request (with the fields at fault)"})
def create_template(body):
    return coupons.create_template(current_staff(), body)


@bp.post("/coupon-templates/<int:template_id>/active")
@bp.auth_required(staff_auth)
@can("growth.write")
@bp.input(ActiveIn, arg_name="body")
@bp.output(AdminTemplateOut)
@bp.doc(summary="Open or close a template to new claims (coupons already claimed stay)")
def set_active(template_id, body):
    return coupons.set_active(current_staff(), template_id, body["active"])


@bp.post("/points/grants")
@bp.auth_required(staff_auth)
@can("growth.write")
@bp.input(GrantIn, arg_name="body")
@bp.input(RequiredIdempotencyHeaders, location="headers", arg_name="headers")
@bp.output(GrantOut, status_code=201)
@bp.doc(summary="Give a shopper points (Idempotency-Key required: a retry is the same grant)",
        responses={422: "idempotency_key_reused"})
def grant_points(body, headers):
    return points.grant(current_staff(), body["user_id"], body["points"],
                        key=f"{current_staff().id}:{headers['idempotency_key']}", note=body["note"])


class TierIn(StrictSchema):
    invitees = fields.Integer(required=True, strict=True, validate=validators.Range(1, 1000))
    reward = fields.Dict(required=True, metadata={
        "description": "{kind: coupon, template_id} (a template open to the invitation channel) or "
                       "{kind: points, points}"})


class CampaignIn(StrictSchema):
    name = fields.String(required=True, validate=validators.Length(1, 64))
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    min_order_fen = fields.Integer(load_default=0, strict=True, validate=validators.Range(0, 100_000_000))
    tiers = fields.List(fields.Nested(TierIn), required=True, validate=validators.Length(1, 10))


@bp.post("/invitation-campaigns")
@bp.auth_required(staff_auth)
@can("growth.write")
@bp.input(CampaignIn, arg_name="body")
@bp.output(CampaignOut, status_code=201)
@bp.doc(summary="Start an invitation campaign with reward tiers", responses={400: "invalid_request"})
def create_campaign(body):
    return invitations.create_campaign(current_staff(), body)


class SegmentRulesIn(StrictSchema):
    store_id = fields.Integer(load_default=None, strict=True, validate=validators.Range(min=1),
                              metadata={"description": "scored at this store (default: every store)"})
    segments = fields.List(fields.String(validate=validators.OneOf(
        ["dormant", "new", "champions", "loyal", "at_risk", "regular"])), load_default=list)
    pickup_styles = fields.List(fields.String(validate=validators.OneOf(["stocks_up", "at_once", "none"])),
                                load_default=list)
    r_min = fields.Integer(load_default=None, strict=True, validate=validators.Range(1, 5))
    f_min = fields.Integer(load_default=None, strict=True, validate=validators.Range(1, 5))
    m_min = fields.Integer(load_default=None, strict=True, validate=validators.Range(1, 5))
    reachable_only = fields.Boolean(load_default=False)


class SegmentIn(StrictSchema):
    name = fields.String(required=True, validate=validators.Length(1, 64))
    rules = fields.Nested(SegmentRulesIn, required=True)


class SegmentOut(Schema):
    id = fields.Integer()
    name = fields.String()
    rules = fields.Dict()
    created_at = fields.DateTime()


class SegmentPreviewOut(Schema):
    segment_id = fields.Integer()
    members = fields.Integer(metadata={"description": "members as scored last night"})
    reachable_by_message = fields.Integer(metadata={
        "description": "of them, with a subscribe grant left now for the campaign message's template"})
    scored_at = fields.DateTime(allow_none=True)


class CampaignStartIn(StrictSchema):
    name = fields.String(required=True, validate=validators.Length(1, 64))
    segment_id = fields.Integer(required=True, strict=True, validate=validators.Range(min=1))
    reward = fields.Dict(required=True, metadata={
        "description": "{kind: coupon, template_id} (a template open to the campaign channel), {kind: points, points} "
                       "or {kind: message, note} (a subscribe message, 1–20 characters, where a grant is left)"})
    holdout_percent = fields.Integer(load_default=10, strict=True, validate=validators.Range(0, 50))
    per_run = fields.Integer(load_default=500, strict=True, validate=validators.Range(1, 10_000),
                             metadata={"description": "members rewarded per minute at most (the throttle)"})


class GrowthCampaignOut(Schema):
    id = fields.Integer()
    name = fields.String()
    segment_id = fields.Integer()
    reward = fields.Dict()
    holdout_percent = fields.Integer()
    per_run = fields.Integer()
    status = fields.String(metadata={"description": "sending | sent"})
    started_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)
    members = fields.Integer()
    holdout = fields.Integer(metadata={"description": "members held out: they receive nothing"})


class GroupOut(Schema):
    members = fields.Integer()
    converted = fields.Integer(metadata={"description": "paid for an order within the window"})
    rate = fields.Float(allow_none=True)


class CampaignReportOut(Schema):
    campaign = fields.Nested(GrowthCampaignOut)
    window_days = fields.Integer()
    treated = fields.Nested(GroupOut)
    holdout = fields.Nested(GroupOut)
    rewarded = fields.Integer()
    uplift = fields.Float(allow_none=True, metadata={"description": "treated rate − holdout rate"})
    uplift_low = fields.Float(allow_none=True, metadata={"description": "95 % interval"})
    uplift_high = fields.Float(allow_none=True)
    complete = fields.Boolean(metadata={"description": "the window has passed"})


@bp.post("/segments")
@bp.auth_required(staff_auth)
@can("growth.write")
@bp.input(SegmentIn, arg_name="body")
@bp.output(SegmentOut, status_code=201)
@bp.doc(summary="Save a segment over the nightly customer scores")
def create_segment(body):
    rules = {k: v for k, v in body["rules"].items() if v not in (None, [], False)}
    return campaigns.create_segment(current_staff(), body["name"], rules)


@bp.get("/segments/<int:segment_id>/preview")
@bp.auth_required(staff_auth)
@can("growth.read")
@bp.output(SegmentPreviewOut)
@bp.doc(summary="How many members a segment has now, and how many a message could reach")
def preview_segment(segment_id):
    return campaigns.preview(segment_id)


@bp.post("/campaigns")
@bp.auth_required(staff_auth)
@can("growth.write")
@bp.input(CampaignStartIn, arg_name="body")
@bp.output(GrowthCampaignOut, status_code=201)
@bp.doc(summary="Start a campaign: the segment's members fixed now, a holdout that receives nothing",
        responses={400: "invalid_request", 404: "not_found"})
def start_campaign(body):
    return campaigns.start(current_staff(), **body)


@bp.get("/campaigns/<int:campaign_id>/report")
@bp.auth_required(staff_auth)
@can("growth.read")
@bp.output(CampaignReportOut)
@bp.doc(summary="Conversion within 14 days, treated vs holdout, and the uplift with its 95 % interval")
def campaign_report(campaign_id):
    return campaigns.report(campaign_id)


class LevelIn(StrictSchema):
    name = fields.String(required=True, validate=validators.Length(1, 32))
    min_spend_fen = fields.Integer(required=True, strict=True, validate=validators.Range(0, 1_000_000_000),
                                   metadata={"description": "net completed spend over 12 months to reach it"})
    points_percent = fields.Integer(load_default=100, strict=True, validate=validators.Range(100, 1000),
                                    metadata={"description": "points earned per yuan, in percent of the base rate"})
    priority_pickup = fields.Boolean(load_default=False)
    discount_percent = fields.Integer(load_default=0, strict=True, validate=validators.Range(0, 50),
                                      metadata={"description": "member price: percent off every order (after a coupon)"})
    birthday_template_id = fields.Integer(load_default=None, strict=True, validate=validators.Range(min=1),
                                          metadata={"description": "a coupon template of the birthday channel, "
                                                                   "given on the member's birthday"})


@bp.get("/member-levels")
@bp.auth_required(staff_auth)
@can("growth.read")
@bp.output(LevelOut(many=True))
@bp.doc(summary="Member levels, lowest first")
def list_levels():
    return levels.levels()


@bp.post("/member-levels")
@bp.auth_required(staff_auth)
@can("growth.write")
@bp.input(LevelIn, arg_name="body")
@bp.output(LevelOut, status_code=201)
@bp.doc(summary="Add a member level (reached at once by spend; lowered only by the monthly review)",
        responses={400: "invalid_request: a level with that spend exists"})
def create_level(body):
    return levels.create_level(current_staff(), **body)


# -- lists for the console (growth page) ---------------------------------------------------------

class ReferralCountsOut(Schema):
    attributed = fields.Integer(metadata={"description": "invitees who came and have not qualified yet"})
    qualified = fields.Integer()
    disqualified = fields.Integer(metadata={"description": "refunded within 7 days, below the minimum, "
                                                          "a phone seen before, or no order in time"})


class AdminInvitationCampaignOut(CampaignOut):
    active = fields.Boolean(metadata={"description": "false: ended early (no new invitees attributed)"})
    created_at = fields.DateTime()
    referrals = fields.Nested(ReferralCountsOut)
    tiers_granted = fields.Integer(metadata={"description": "tiers rewarded so far, over all inviters"})


@bp.get("/invitation-campaigns")
@bp.auth_required(staff_auth)
@can("growth.read")
@bp.input(PageQuery, location="query", arg_name="query")
@bp.output(page_of(AdminInvitationCampaignOut, "InvitationCampaignPage"))
@bp.doc(summary="Invitation campaigns, newest first, with their referrals by status and tiers granted")
def list_invitation_campaigns(query):
    return page(invitations.campaigns_page(cursor=cursor_int(query["cursor"]), limit=query["limit"] + 1),
                query["limit"], key=lambda c: c["id"])


@bp.post("/invitation-campaigns/<int:campaign_id>/active")
@bp.auth_required(staff_auth)
@can("growth.write")
@bp.input(ActiveIn, arg_name="body")
@bp.output(AdminInvitationCampaignOut)
@bp.doc(summary="End an invitation campaign early, or open it again within its window (referrals already "
                "made still qualify and are rewarded)")
def set_invitation_campaign_active(campaign_id, body):
    return invitations.set_active(current_staff(), campaign_id, body["active"])


@bp.get("/segments")
@bp.auth_required(staff_auth)
@can("growth.read")
@bp.input(PageQuery, location="query", arg_name="query")
@bp.output(page_of(SegmentOut, "SegmentPage"))
@bp.doc(summary="Saved segments, newest first")
def list_segments(query):
    return page(campaigns.segments_page(cursor=cursor_int(query["cursor"]), limit=query["limit"] + 1), query["limit"])


@bp.get("/campaigns")
@bp.auth_required(staff_auth)
@can("growth.read")
@bp.input(PageQuery, location="query", arg_name="query")
@bp.output(page_of(GrowthCampaignOut, "GrowthCampaignPage"))
@bp.doc(summary="Campaigns, newest first")
def list_campaigns(query):
    return page(campaigns.campaigns_page(cursor=cursor_int(query["cursor"]), limit=query["limit"] + 1), query["limit"])


class PointsRulesOut(Schema):
    points_per_yuan = fields.Integer(metadata={"description": "at checkout, this many points take ¥1 off"})
    unit = fields.Integer(metadata={"description": "points are spent in whole units of this many"})
    max_share_percent = fields.Integer(metadata={"description": "points pay at most this % of what is left to pay"})
    earn_per_yuan = fields.Integer(metadata={"description": "points earned per yuan paid for a completed order"})
    hold_days = fields.Integer(metadata={"description": "earned points are spendable this many days after completion"})
    valid_months = fields.Integer(metadata={"description": "points expire at the end of this month after earning"})


@bp.get("/points/rules")
@bp.auth_required(staff_auth)
@can("growth.read")
@bp.output(PointsRulesOut)
@bp.doc(summary="The points settings (POINTS_* of the configuration): read-only")
def points_rules():
    from flask import current_app

    cfg = current_app.config
    return {"points_per_yuan": cfg["POINTS_PER_YUAN"], "unit": cfg["POINTS_UNIT"],
            "max_share_percent": cfg["POINTS_MAX_SHARE_PERCENT"], "earn_per_yuan": cfg["POINTS_EARN_PER_YUAN"],
            "hold_days": cfg["POINTS_HOLD_DAYS"], "valid_months": points.VALID_MONTHS}
