"""Merchant console: payment cases to review, reconciliation reports."""
from __future__ import annotations

from apiflask import APIBlueprint, fields, validators

from handlers.access import can, current_staff, staff_auth
from handlers.schemas import Cursor, Schema, StrictSchema, cursor_int, page, page_of
from models.payments import review

bp = APIBlueprint("admin_payments", __name__, url_prefix="/api/admin", tag="Admin: payments")


class CaseOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    order_id = fields.Integer(allow_none=True)
    transaction_id = fields.String(allow_none=True)
    details = fields.Dict()
    status = fields.String()
    created_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    resolved_by = fields.Integer(allow_none=True)


class ReportOut(Schema):
    id = fields.Integer()
    bill_date = fields.Date()
    created_at = fields.DateTime()
    status = fields.String()
    summary = fields.Dict()
    differences = fields.List(fields.Dict())
    repairs = fields.List(fields.Dict())


class CasesQuery(StrictSchema):
    status = fields.String(load_default="open", validate=validators.OneOf(["open", "resolved"]))
    cursor = Cursor()
    limit = fields.Integer(load_default=20, validate=validators.Range(1, 100))


class ReportsQuery(StrictSchema):
    cursor = Cursor()
    limit = fields.Integer(load_default=20, validate=validators.Range(1, 100))


CasePage = page_of(CaseOut, "CasePage")
ReportPage = page_of(ReportOut, "ReportPage")


@bp.get("/payment-cases")
@bp.auth_required(staff_auth)
@can("payments.read")
@bp.input(CasesQuery, location="query", arg_name="query")
@bp.output(CasePage)
@bp.doc(summary="Payments that need a person: mismatches, late payments, unknown orders")
def list_cases(query):
    rows = review.cases(status=query["status"], cursor=cursor_int(query["cursor"]), limit=query["limit"] + 1)
    return page(rows, query["limit"])


@bp.post("/payment-cases/<int:case_id>/resolve")
@bp.auth_required(staff_auth)
@can("payments.resolve")
@bp.output(CaseOut)
def resolve_case(case_id):
    return review.resolve(current_staff(), case_id)


@bp.get("/reconciliations")
@bp.auth_required(staff_auth)
@can("payments.read")
@bp.input(ReportsQuery, location="query", arg_name="query")
@bp.output(ReportPage)
@bp.doc(summary="Reconciliation reports against the WeChat Pay trade bill, newest first")
def list_reports(query):
    rows = review.reports(cursor=cursor_int(query["cursor"]), limit=query["limit"] + 1)
    return page(rows, query["limit"])
