"""Merchant console: outbox deliveries (failed ones above all) and retrying them."""
from __future__ import annotations

from apiflask import APIBlueprint, fields, validators

from handlers.access import can, current_staff, staff_auth
from handlers.schemas import Cursor, Schema, StrictSchema, cursor_int, page, page_of
from models.outbox import review

bp = APIBlueprint("admin_outbox", __name__, url_prefix="/api/admin", tag="Admin: outbox")

STATUSES = ["pending", "sending", "sent", "skipped", "failed"]


class OutboxOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    payload = fields.Dict()
    status = fields.String()
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime()
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)


class OutboxQuery(StrictSchema):
    status = fields.String(load_default=None, validate=validators.OneOf(STATUSES))
    kind = fields.String(load_default=None, validate=validators.Length(1, 32))
    cursor = Cursor()
    limit = fields.Integer(load_default=20, validate=validators.Range(1, 100))


OutboxPage = page_of(OutboxOut, "OutboxPage")


@bp.get("/outbox")
@bp.auth_required(staff_auth)
@can("outbox.read")
@bp.input(OutboxQuery, location="query", arg_name="query")
@bp.output(OutboxPage)
@bp.doc(summary="Outbox rows, newest first (?status=failed: what needs a person)")
def list_outbox(query):
    rows = review.rows(status=query["status"], kind=query["kind"],
                       cursor=cursor_int(query["cursor"]), limit=query["limit"] + 1)
    return page(rows, query["limit"])


@bp.post("/outbox/<int:outbox_id>/retry")
@bp.auth_required(staff_auth)
@can("outbox.retry")
@bp.output(OutboxOut)
@bp.doc(summary="Send a failed or skipped row again (audited)", responses={409: "conflict"})
def retry(outbox_id):
    return review.retry(current_staff(), outbox_id)
