"""Staff work on WeChat Pay complaints (消费者投诉2.0) of their stores' orders: list with
first-response times, a summary, the detail with WeChat's negotiation history, respond,
update refund progress, complete. Rules: models/complaints."""
from __future__ import annotations

from apiflask import APIBlueprint, fields, validators
from marshmallow import ValidationError, validates_schema

from handlers.access import can, current_staff, staff_auth
from handlers.schemas import Cursor, Schema, StrictSchema, cursor_int
from models.aftersales.tables import KINDS as AFTER_SALE_KINDS
from models.complaints import actions, aftersale, queries
from models.complaints.status import STATES

bp = APIBlueprint("staff_complaints", __name__, url_prefix="/api/staff/complaints", tag="Staff complaints")


class ComplaintsQuery(StrictSchema):
    status = fields.String(load_default=None, validate=validators.OneOf(STATES))
    store_id = fields.Integer(load_default=None, validate=validators.Range(min=1))
    cursor = Cursor()
    limit = fields.Integer(load_default=20, validate=validators.Range(1, 100))


class ComplaintRow(Schema):
    complaint_id = fields.String()
    status = fields.String(metadata={"enum": list(STATES)})
    wechat_state = fields.String(allow_none=True)
    problem_type = fields.String(allow_none=True, metadata={"description": "REFUND | SERVICE_NOT_WORK | OTHERS"})
    problem_description = fields.String(allow_none=True)
    complaint_detail = fields.String(allow_none=True)
    order_no = fields.String(allow_none=True)
    store_id = fields.Integer(allow_none=True)
    out_trade_no = fields.String(allow_none=True)
    amount_fen = fields.Integer(allow_none=True)
    apply_refund_amount_fen = fields.Integer(allow_none=True)
    complaint_time = fields.DateTime(allow_none=True)
    first_response_at = fields.DateTime(allow_none=True)
    first_response_s = fields.Integer(allow_none=True, metadata={
        "description": "Seconds from the complaint to the merchant's first response; null until answered."})
    incoming_user_response = fields.Boolean()
    user_complaint_times = fields.Integer()
    completed_at = fields.DateTime(allow_none=True)
    after_sale_no = fields.String(allow_none=True, metadata={
        "description": "The after-sale this complaint opened (not wired yet: always null)."})
    synced_at = fields.DateTime(allow_none=True)


class HistoryEntry(Schema):
    log_id = fields.String()
    operator = fields.String(allow_none=True)
    operate_type = fields.String()
    operate_details = fields.String(allow_none=True)
    operate_time = fields.DateTime(allow_none=True)
    images = fields.List(fields.String())


class ComplaintDetail(ComplaintRow):
    payer_phone_masked = fields.String(allow_none=True)
    refund_action = fields.String(allow_none=True)
    media = fields.List(fields.String())
    history = fields.List(fields.Nested(HistoryEntry))


ComplaintPage = Schema.from_dict({"items": fields.List(fields.Nested(ComplaintRow)),
                                  "next_cursor": fields.String(allow_none=True)}, name="ComplaintPage")


class ComplaintSummary(Schema):
    days = fields.Integer()
    total = fields.Integer()
    open = fields.Integer()
    unanswered = fields.Integer()
    unanswered_over_24h = fields.Integer()
    answered = fields.Integer()
    answered_within_24h = fields.Integer()
    avg_first_response_s = fields.Integer(allow_none=True)
    median_first_response_s = fields.Integer(allow_none=True)
    max_first_response_s = fields.Integer(allow_none=True)


class ResponseIn(StrictSchema):
    content = fields.String(required=True, validate=validators.Length(1, 200))


class RefundProgressIn(StrictSchema):
    action = fields.String(required=True, validate=validators.OneOf(["APPROVE", "REJECT"]))
    launch_refund_day = fields.Integer(load_default=None, strict=True, validate=validators.Range(0, 7))
    reject_reason = fields.String(load_default=None, validate=validators.Length(1, 200))
    remark = fields.String(load_default=None, validate=validators.Length(1, 200))

    @validates_schema
    def _what_each_action_needs(self, data, **kwargs):
        if data["action"] == "APPROVE" and data.get("launch_refund_day") is None:
            raise ValidationError("Approving needs launch_refund_day.", "launch_refund_day")
        if data["action"] == "REJECT" and not data.get("reject_reason"):
            raise ValidationError("Rejecting needs reject_reason.", "reject_reason")


_ACTED = {404: "complaint_not_found (also another store's)", 409: "complaint_refused: WeChat Pay refused it",
          503: "wechat_unavailable"}


@bp.get("")
@bp.auth_required(staff_auth)
@can("complaints.read")
@bp.input(ComplaintsQuery, location="query", arg_name="query")
@bp.output(ComplaintPage)
@bp.doc(summary="WeChat Pay complaints about my stores' orders (admins: all), newest first")
def list_complaints(query):
    return queries.page_for(current_staff(), status=query["status"], store_id=query["store_id"],
                            cursor=cursor_int(query["cursor"]), limit=query["limit"])


@bp.get("/summary")
@bp.auth_required(staff_auth)
@can("complaints.read")
@bp.output(ComplaintSummary)
@bp.doc(summary="Complaints of the last 30 days: open, unanswered, first-response times")
def complaints_summary():
    return queries.summary(current_staff())


@bp.get("/<complaint_id>")
@bp.auth_required(staff_auth)
@can("complaints.read")
@bp.output(ComplaintDetail)
@bp.doc(summary="A complaint with WeChat's negotiation history", responses={404: "complaint_not_found"})
def get_complaint(complaint_id):
    return queries.detail(queries.staff_complaint(current_staff(), complaint_id))


@bp.post("/<complaint_id>/response")
@bp.auth_required(staff_auth)
@can("complaints.handle")
@bp.input(ResponseIn, arg_name="body")
@bp.output(ComplaintDetail)
@bp.doc(summary="Answer the payer through WeChat Pay (the first answer sets the first-response time)",
        responses=_ACTED)
def respond(complaint_id, body):
    return queries.detail(actions.respond(current_staff(), complaint_id, body["content"]))


@bp.post("/<complaint_id>/refund-progress")
@bp.auth_required(staff_auth)
@can("complaints.handle")
@bp.input(RefundProgressIn, arg_name="body")
@bp.output(ComplaintDetail)
@bp.doc(summary="Approve (with the days until the refund) or reject a complaint asking for a refund",
        responses={**_ACTED, 409: "complaint_not_refund; complaint_refused: WeChat Pay refused it"})
def refund_progress(complaint_id, body):
    return queries.detail(actions.update_refund(current_staff(), complaint_id, **body))


@bp.post("/<complaint_id>/complete")
@bp.auth_required(staff_auth)
@can("complaints.handle")
@bp.output(ComplaintDetail)
@bp.doc(summary="Tell WeChat Pay the complaint is handled (after a response; again: no change)",
        responses={**_ACTED, 409: "invalid_transition: not answered yet; complaint_refused"})
def complete(complaint_id):
    return queries.detail(actions.complete(current_staff(), complaint_id))


class ComplaintAfterSaleItemIn(StrictSchema):
    sku_id = fields.Integer(required=True, strict=True, validate=validators.Range(min=1))
    qty = fields.Integer(required=True, strict=True, validate=validators.Range(1, 9999))


class OpenAfterSaleIn(StrictSchema):
    kind = fields.String(load_default="refund_only", validate=validators.OneOf(sorted(AFTER_SALE_KINDS)))
    items = fields.List(fields.Nested(ComplaintAfterSaleItemIn), load_default=None, validate=validators.Length(1, 50),
                        metadata={"description": "default: every unit the shopper still has"})
    reason = fields.String(load_default=None, validate=validators.Length(1, 64))


@bp.post("/<complaint_id>/after-sale")
@bp.auth_required(staff_auth)
@can("complaints.handle")
@bp.input(OpenAfterSaleIn, arg_name="body")
@bp.output(ComplaintDetail, status_code=201)
@bp.doc(summary="Open an after-sale for the complaint's order (once), on behalf of its shopper",
        responses={**_ACTED, 409: "complaint_has_after_sale; aftersale_quantity_exceeded; aftersale_not_eligible"})
def open_after_sale(complaint_id, body):
    complaint, _ = aftersale.open_after_sale(current_staff(), complaint_id, **body)
    return queries.detail(complaint)
