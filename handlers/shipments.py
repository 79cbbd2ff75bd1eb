"""Parcels: the shopper's view of their order's parcels, staff adding parcels (split
shipments) and working the queue of parcels in trouble, and 快递100's pushes."""
from __future__ import annotations

from apiflask import APIBlueprint, fields, validators
from flask import jsonify, request

from handlers.access import can, current_staff, current_user, shopper_auth, staff_auth
from handlers.schemas import Schema, StrictSchema, Cursor, cursor_int, page, page_of
from models import shipments
from models.orders import queries
from models.orders.status import Actor
from models.shipments import issues, tracking, views

bp = APIBlueprint("shipments", __name__, tag="Parcels")


class ParcelItemIn(StrictSchema):
    order_item_id = fields.Integer(required=True, validate=validators.Range(min=1))
    qty = fields.Integer(required=True, validate=validators.Range(1, 10_000))


class ParcelIn(StrictSchema):
    carrier = fields.String(required=True, validate=validators.Length(1, 32),
                            metadata={"description": "WeChat's express_company code, e.g. SF, YTO, ZTO"})
    tracking_no = fields.String(required=True, validate=validators.Regexp(r"^[A-Za-z0-9-]{4,64}$"))
    items = fields.List(fields.Nested(ParcelItemIn), load_default=None, validate=validators.Length(1, 100),
                        metadata={"description": "the order lines and units in this parcel; "
                                                 "left out: everything not shipped yet"})


class ParcelItemOut(Schema):
    order_item_id = fields.Integer()
    name = fields.String()
    spec = fields.String()
    qty = fields.Integer()


class ParcelEventOut(Schema):
    at = fields.DateTime()
    context = fields.String()
    area = fields.String(allow_none=True)


class ParcelOut(Schema):
    id = fields.Integer()
    direction = fields.String(metadata={"enum": ["outbound", "return"]})
    after_sale_no = fields.String(allow_none=True)
    carrier = fields.String()
    tracking_no = fields.String()
    status = fields.String(metadata={"enum": ["pending", "collected", "in_transit", "out_for_delivery",
                                              "exception", "signed", "returned"]})
    waybill_token = fields.String(allow_none=True, metadata={
        "description": "for the logistics plugin's openWaybillTracking (WeChat's tracking page)"})
    created_at = fields.DateTime()
    collected_at = fields.DateTime(allow_none=True)
    signed_at = fields.DateTime(allow_none=True)
    last_event_at = fields.DateTime(allow_none=True)
    items = fields.List(fields.Nested(ParcelItemOut))
    events = fields.List(fields.Nested(ParcelEventOut), metadata={"description": "newest first"})


class OrderLineOut(Schema):
    order_item_id = fields.Integer()
    name = fields.String()
    spec = fields.String()
    qty = fields.Integer()
    shipped_qty = fields.Integer()
    left_qty = fields.Integer()


class ShipmentsOut(Schema):
    order_no = fields.String()
    status = fields.String()
    changed = fields.Boolean(metadata={"description": "false: that tracking number was already added"})
    lines = fields.List(fields.Nested(OrderLineOut), metadata={"description": "what is left to ship, per line"})
    items = fields.List(fields.Nested(ParcelOut))


class IssueParcelOut(Schema):
    id = fields.Integer()
    direction = fields.String()
    carrier = fields.String()
    tracking_no = fields.String()
    status = fields.String()
    last_event_at = fields.DateTime(allow_none=True)


class IssueOut(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"enum": list(issues.KINDS)})
    status = fields.String(metadata={"enum": ["open", "resolved"]})
    reason = fields.String()
    detail = fields.String(allow_none=True)
    opened_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    resolution = fields.String(allow_none=True)
    store_id = fields.Integer()
    order_no = fields.String()
    parcel = fields.Nested(IssueParcelOut)
    changed = fields.Boolean()


class IssuesQuery(StrictSchema):
    status = fields.String(load_default="open", validate=validators.OneOf(["open", "resolved"]))
    store_id = fields.Integer(load_default=None, validate=validators.Range(min=1))
    cursor = Cursor()
    limit = fields.Integer(load_default=20, validate=validators.Range(1, 100))


class ResolveIn(StrictSchema):
    resolution = fields.String(required=True, validate=validators.Length(1, 200))


IssuePage = page_of(IssueOut, "ParcelIssuePage")


def _shipments(order, changed: bool = False) -> dict:
    return {"order_no": order.order_no, "status": order.status, "changed": changed,
            "lines": views.order_lines(order), "items": views.order_parcels(order)}


@bp.get("/api/orders/<order_no>/shipments")
@bp.auth_required(shopper_auth)
@bp.output(ShipmentsOut)
@bp.doc(summary="My order's parcels and their tracking, as we recorded it (no carrier call)")
def my_shipments(order_no):
    return _shipments(queries.owned_order(current_user().id, order_no))


@bp.get("/api/staff/orders/<order_no>/parcels")
@bp.auth_required(staff_auth)
@can("orders.fulfil")
@bp.output(ShipmentsOut)
@bp.doc(summary="An order's parcels with their items and tracking")
def staff_parcels(order_no):
    return _shipments(queries.staff_order(current_staff(), order_no))


@bp.post("/api/staff/orders/<order_no>/parcels")
@bp.auth_required(staff_auth)
@can("orders.fulfil")
@bp.input(ParcelIn, arg_name="body")
@bp.output(ShipmentsOut, status_code=201)
@bp.doc(summary="One more parcel of a delivery order (the first ships it); WeChat is told in split mode",
        responses={409: "invalid_transition: not paid or not for delivery; parcel_duplicate; "
                        "parcel_not_shippable", 422: "parcel_items_invalid: more than is left to ship"})
def add_parcel(order_no, body):
    staff = current_staff()
    order = queries.staff_order(staff, order_no)
    _, created = shipments.add_parcel(order, Actor.of(staff), staff, **body)
    return _shipments(order, created)


@bp.get("/api/staff/parcel-issues")
@bp.auth_required(staff_auth)
@can("parcels.issues")
@bp.input(IssuesQuery, location="query", arg_name="query")
@bp.output(IssuePage)
@bp.doc(summary="Parcels in trouble in my stores (疑难, returned, refused, nothing heard 48 h after shipping)")
def list_issues(query):
    rows = issues.list_issues(current_staff(), status=query["status"], store_id=query["store_id"],
                              cursor=cursor_int(query["cursor"]), limit=query["limit"] + 1)
    return page(rows, query["limit"], key=lambda row: row["id"])


@bp.post("/api/staff/parcel-issues/<int:issue_id>/resolve")
@bp.auth_required(staff_auth)
@can("parcels.issues")
@bp.input(ResolveIn, arg_name="body")
@bp.output(IssueOut)
@bp.doc(summary="Close a parcel issue, saying what was done", responses={404: "not_found"})
def resolve_issue(issue_id, body):
    return issues.resolve(current_staff(), issue_id, body["resolution"])


# 快递100's contract (§10.2), not our error shape: HTTP 200 and {"result", "returnCode",
# "message"}; returnCode 500 for a push we refuse (it is pushed again later, harmlessly).
_K100_ANSWER = {"description": "快递100's answer: result true / returnCode 200 when stored (duplicates "
                               "too); result false / returnCode 500 when refused (bad signature, unknown parcel)",
                "content": {"application/json": {"schema": {
                    "type": "object", "required": ["result", "returnCode", "message"],
                    "properties": {"result": {"type": "boolean"}, "returnCode": {"type": "string"},
                                   "message": {"type": "string"}}}}}}


@bp.post("/callbacks/kuaidi100/<token>")
@bp.doc(summary="快递100 push (form fields param and sign = UPPER(MD5(param + salt)))",
        responses={200: _K100_ANSWER})
def kuaidi100_push(token):
    try:
        tracking.handle_push(token, request.form)
    except tracking.PushRejected as exc:
        return jsonify({"result": False, "returnCode": "500", "message": str(exc)[:60]})
    return jsonify({"result": True, "returnCode": "200", "message": "成功"})
