"""Merchant console: staff accounts and the audit log."""
from __future__ import annotations

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
    request_id = fields.String(allow_none=True)


AuditPage = page_of(AuditOut, "AuditPage")


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
@bp.input(PageQuery, location="query", arg_name="query")
@bp.output(AuditPage)
@bp.doc(summary="Audit log, newest first")
def list_audit(query):
    rows = audit.recent(cursor=cursor_int(query["cursor"]), limit=query["limit"] + 1)
    return page(rows, query["limit"])
