"""Merchant console: staff accounts and the audit log."""
from __future__ import annotations

from datetime import date

from apiflask import APIBlueprint, fields, validators

from handlers.access import can, current_staff, staff_auth
from handlers.schemas import Bool, PageQuery, Schema, StrictSchema, cursor_int, page, page_of
from handlers.staff_auth import StaffOut
from models import audit
from models.staff import accounts
from models.staff.abilities import Role
from models.staff.tables import Staff
from models.base import get_or_404

bp = APIBlueprint("admin_staff", __name__, url_prefix="/api/admin", tag="Admin: staff and audit")

ROLE_NAMES = [r.value for r in Role]


class StaffIn(StrictSchema):
    username = fields.String(required=True, validate=validators.Regexp(r"^[A-Za-z0-9._-]{3,64}$"))
    password = fields.String(required=True, load_only=True, validate=validators.Length(10, 256))
    role = fields.String(required=True, validate=validators.OneOf(ROLE_NAMES))
    store_ids = fields.List(fields.Integer(), load_default=list, validate=validators.Length(max=500))
    display_name = fields.String(load_default="", validate=validators.Length(max=64))


class StaffPatch(StrictSchema):
    password = fields.String(load_only=True, validate=validators.Length(10, 256))
    role = fields.String(validate=validators.OneOf(ROLE_NAMES))
    store_ids = fields.List(fields.Integer(), validate=validators.Length(max=500))
    display_name = fields.String(validate=validators.Length(max=64))
    active = Bool()


class AdminStaff(StaffOut):
    active = Bool()
    created_at = fields.DateTime()
    last_login_at = fields.DateTime(allow_none=True)


AdminStaffList = page_of(AdminStaff, "AdminStaffList")


class AuditOut(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor_type = fields.String()
    actor_id = fields.Integer(allow_none=True)
    action = fields.String()
    target_type = fields.String()
    target_id = fields.String(allow_none=True)
    changes = fields.Dict()
    ip = fields.String(allow_none=True)
    user_agent = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)


AuditPage = page_of(AuditOut, "AuditPage")

# Days the log can be asked about (a datetime outside them cannot be made in every zone).
_DAYS = validators.Range(date(2000, 1, 1), date(2999, 12, 31))


class AuditQuery(PageQuery):
    actor_id = fields.Integer(load_default=None, validate=validators.Range(1, 2**31 - 1),
                              metadata={"description": "a staff member's id"})
    action = fields.String(load_default=None, validate=validators.Regexp(
        r"^[A-Za-z0-9_.:-]{1,64}\*?$", error="An action is letters, digits and _.:- (a trailing * for a prefix)."),
        metadata={"description": "exact (`inventory.restock`), or a prefix ending in * (`inventory.*`)"})
    target_type = fields.String(load_default=None, validate=validators.Regexp(
        r"^[a-z0-9_]{1,32}$", error="A target type is a table name."),
        metadata={"description": "a table name (`inventory`, `staff`...)"})
    target_id = fields.String(load_default=None, validate=validators.Length(1, 64),
                              metadata={"description": "with target_type"})
    since = fields.Date(data_key="from", load_default=None, validate=_DAYS,
                        metadata={"description": "first day (Asia/Shanghai), YYYY-MM-DD"})
    until = fields.Date(data_key="to", load_default=None, validate=_DAYS,
                        metadata={"description": "last day (Asia/Shanghai), included"})


@bp.get("/staff")
@bp.auth_required(staff_auth)
@can("staff.read")
@bp.input(PageQuery, location="query", arg_name="query")
@bp.output(AdminStaffList)
def list_staff(query):
    rows = accounts.list_staff(cursor=cursor_int(query["cursor"]), limit=query["limit"] + 1)
    return page(rows, query["limit"])


@bp.post("/staff")
@bp.auth_required(staff_auth)
@can("staff.write")
@bp.input(StaffIn, arg_name="body")
@bp.output(AdminStaff, status_code=201)
@bp.doc(summary="Create a staff account bound to stores",
        responses={409: "conflict: the username is taken"})
def create_staff(body):
    return accounts.create_staff(current_staff(), **body)


@bp.patch("/staff/<int:staff_id>")
@bp.auth_required(staff_auth)
@can("staff.write")
@bp.input(StaffPatch, arg_name="body")
@bp.output(AdminStaff)
@bp.doc(summary="Change role, stores, password or active (signs them out everywhere), or display name",
        responses={409: "conflict: you cannot deactivate yourself or change your own role"})
def update_staff(staff_id, body):
    return accounts.update_staff(current_staff(), get_or_404(Staff, staff_id, "No such staff."), body)


@bp.get("/audit")
@bp.auth_required(staff_auth)
@can("audit.read")
@bp.input(AuditQuery, location="query", arg_name="query")
@bp.output(AuditPage)
@bp.doc(summary="Audit log, newest first; filtered by who, action, target and days",
        responses={400: "invalid_request: a bad filter, or a date range that ends before it starts"})
def list_audit(query):
    filters = audit.AuditFilter(
        actor_id=query["actor_id"], action=query["action"], target_type=query["target_type"],
        target_id=query["target_id"], since=query["since"], until=query["until"])
    rows = audit.search(filters, cursor=cursor_int(query["cursor"]), limit=query["limit"] + 1)
    return page(rows, query["limit"])
