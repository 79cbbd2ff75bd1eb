"""Merchant console: pickup-card batches and cards — create, export once for the
printer (a background job: start, follow, download, confirm), activate on sale, void, read."""
from __future__ import annotations

from apiflask import APIBlueprint, fields, validators
from flask import Response, url_for

from handlers.access import can, current_staff, staff_auth
from handlers.schemas import Cursor, QueryBool, Schema, StrictSchema, cursor_int, page, page_of
from models.base import utcnow
from models.cards import batches, exports
from models.cards.tables import CardStatus, Channels, ExportStatus

bp = APIBlueprint("admin_cards", __name__, url_prefix="/api/admin", tag="Admin: pickup cards")


class BatchIn(StrictSchema):
    name = fields.String(required=True, validate=validators.Length(1, 64))
    sku_id = fields.Integer(required=True, strict=True, validate=validators.Range(min=1),
                            metadata={"description": "what a unit is: a SKU, or a bundle SKU"})
    qty_per_unit = fields.Integer(load_default=1, strict=True, validate=validators.Range(1, 999))
    units_per_card = fields.Integer(load_default=1, strict=True, validate=validators.Range(1, 100))
    card_count = fields.Integer(required=True, strict=True, validate=validators.Range(1, 99_999))
    valid_from = fields.AwareDateTime(load_default=utcnow)
    valid_until = fields.AwareDateTime(required=True)
    channels = fields.String(load_default="both", validate=validators.OneOf([c.value for c in Channels]))
    store_id = fields.Integer(load_default=None, strict=True, validate=validators.Range(min=1),
                              metadata={"description": "only this store picks up / ships (optional)"})


class RangeIn(StrictSchema):
    from_serial = fields.String(load_default=None, validate=validators.Length(1, 40))
    to_serial = fields.String(load_default=None, validate=validators.Length(1, 40))


class VoidIn(StrictSchema):
    reason = fields.String(load_default=None, validate=validators.Length(max=200))


class BatchOut(Schema):
    id = fields.Integer()
    name = fields.String()
    sku_id = fields.Integer()
    qty_per_unit = fields.Integer()
    units_per_card = fields.Integer()
    card_count = fields.Integer()
    valid_from = fields.DateTime()
    valid_until = fields.DateTime()
    channels = fields.String()
    store_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    exported_at = fields.DateTime(allow_none=True)
    voided_at = fields.DateTime(allow_none=True)
    counts = fields.Dict(metadata={"description": "cards by status, and how many are locked"})


class CardOut(Schema):
    serial = fields.String()
    batch_id = fields.Integer()
    seq = fields.Integer()
    status = fields.String()
    units_total = fields.Integer()
    units_left = fields.Integer()
    failed_attempts = fields.Integer()
    locked_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    activated_at = fields.DateTime(allow_none=True)
    used_up_at = fields.DateTime(allow_none=True)
    voided_at = fields.DateTime(allow_none=True)
    void_reason = fields.String(allow_none=True)


class RedemptionOut(Schema):
    order_no = fields.String(attribute="order.order_no")
    user_id = fields.Integer()
    units = fields.Integer()
    at = fields.DateTime()
    returned_units = fields.Integer(allow_none=True)
    returned_at = fields.DateTime(allow_none=True)


class CardDetail(CardOut):
    redemptions = fields.Nested(RedemptionOut, many=True)
    changed = fields.Function(lambda card: getattr(card, "changed", None), allow_none=True)


class ActivationOut(Schema):
    activated = fields.Integer()
    skipped = fields.Integer(metadata={"description": "in the range but not issued (active, void, used up)"})


class VoidedOut(Schema):
    voided = fields.Integer()


class ExportOut(Schema):
    id = fields.Integer()
    batch_id = fields.Integer()
    status = fields.String(metadata={"enum": [s.value for s in ExportStatus], "description": (
        "queued → running → ready (download it, then confirm) → delivered; a ready export not "
        "confirmed within CARD_EXPORT_TTL_S is expired; failed stored nothing (POST export again)")})
    cards_total = fields.Integer()
    cards_done = fields.Integer(metadata={"description": "passwords made so far (progress)"})
    downloads = fields.Integer()
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    ready_at = fields.DateTime(allow_none=True)
    expires_at = fields.DateTime(allow_none=True, metadata={"description": "the result is destroyed then"})
    downloaded_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    expired_at = fields.DateTime(allow_none=True)
    failed_at = fields.DateTime(allow_none=True)
    error = fields.String(allow_none=True)
    changed = fields.Function(lambda job: getattr(job, "changed", None), allow_none=True)


class BatchesQuery(StrictSchema):
    cursor = Cursor()
    limit = fields.Integer(load_default=20, validate=validators.Range(1, 100))


class CardsQuery(BatchesQuery):
    batch_id = fields.Integer(load_default=None, validate=validators.Range(min=1))
    status = fields.String(load_default=None, validate=validators.OneOf([s.value for s in CardStatus]))
    locked = QueryBool(load_default=None)


BatchPage = page_of(BatchOut, "CardBatchPage")
CardPage = page_of(CardOut, "CardPage")


@bp.get("/card-batches")
@bp.auth_required(staff_auth)
@can("cards.read")
@bp.input(BatchesQuery, location="query", arg_name="query")
@bp.output(BatchPage)
@bp.doc(summary="Card batches, newest first, with their cards counted by status")
def list_batches(query):
    rows = batches.list_batches(cursor=cursor_int(query["cursor"]), limit=query["limit"] + 1)
    return page(rows, query["limit"])


@bp.post("/card-batches")
@bp.auth_required(staff_auth)
@can("cards.write")
@bp.input(BatchIn, arg_name="body")
@bp.output(BatchOut, status_code=201)
@bp.doc(summary="Create a batch and its cards (serials now; passwords at the export)",
        responses={404: "not_found: no such SKU or store"})
def create_batch(body):
    return batches.with_counts([batches.create_batch(current_staff(), body)])[0]


@bp.get("/card-batches/<int:batch_id>")
@bp.auth_required(staff_auth)
@can("cards.read")
@bp.output(BatchOut)
def get_batch(batch_id):
    return batches.with_counts([batches.get_batch(batch_id)])[0]


@bp.post("/card-batches/<int:batch_id>/export")
@bp.auth_required(staff_auth)
@can("cards.export")
@bp.output(ExportOut, status_code=202)
@bp.doc(summary="Start the batch's export (once): a background job makes the passwords",
        description="202 with the new job; its admin asking again gets the same job (200), a "
                    "failed one started again. Follow it at Location; download the CSV when ready.",
        responses={200: "the export already started by you", 409: "card_batch_exported, card_batch_void"})
def export_batch(batch_id):
    job, created = exports.start(current_staff(), batch_id)
    return job, 202 if created else 200, {"Location": url_for(".get_export", export_id=job.id)}


@bp.get("/card-exports/<int:export_id>")
@bp.auth_required(staff_auth)
@can("cards.export")
@bp.output(ExportOut)
@bp.doc(summary="An export's state and progress (only for the admin who started it)")
def get_export(export_id):
    return exports.get_export(current_staff(), export_id)


@bp.get("/card-exports/<int:export_id>/csv")
@bp.auth_required(staff_auth)
@can("cards.export")
@bp.doc(summary="The printer's CSV (serial, password): again and again until receipt is confirmed",
        responses={200: {"description": "text/csv", "content": {"text/csv": {}}},
                   409: "card_export_not_ready, card_export_failed",
                   410: "card_export_delivered, card_export_expired"})
def download_export(export_id):
    name, body = exports.download(current_staff(), export_id)
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@bp.post("/card-exports/<int:export_id>/confirm")
@bp.auth_required(staff_auth)
@can("cards.export")
@bp.output(ExportOut)
@bp.doc(summary="Confirm you have the CSV: its passwords are destroyed here",
        responses={409: "card_export_not_downloaded, card_export_not_ready, card_export_failed",
                   410: "card_export_expired"})
def confirm_export(export_id):
    job, changed = exports.confirm(current_staff(), export_id)
    job.changed = changed
    return job


@bp.post("/card-batches/<int:batch_id>/activate")
@bp.auth_required(staff_auth)
@can("cards.write")
@bp.input(RangeIn, arg_name="body")
@bp.output(ActivationOut)
@bp.doc(summary="Cards sold: activate the batch, or the serials from_serial..to_serial",
        responses={409: "card_batch_not_exported, card_batch_void"})
def activate_batch(batch_id, body):
    return batches.activate(current_staff(), batch_id, body["from_serial"], body["to_serial"])


@bp.post("/card-batches/<int:batch_id>/void")
@bp.auth_required(staff_auth)
@can("cards.write")
@bp.input(VoidIn, arg_name="body")
@bp.output(VoidedOut)
@bp.doc(summary="Void a batch: every card not used up is void")
def void_batch(batch_id, body):
    return batches.void_batch(current_staff(), batch_id, body["reason"])


@bp.get("/cards")
@bp.auth_required(staff_auth)
@can("cards.read")
@bp.input(CardsQuery, location="query", arg_name="query")
@bp.output(CardPage)
def list_cards(query):
    rows = batches.list_cards(batch_id=query["batch_id"], status=query["status"], locked=query["locked"],
                              cursor=cursor_int(query["cursor"]), limit=query["limit"] + 1)
    return page(rows, query["limit"])


@bp.get("/cards/<serial>")
@bp.auth_required(staff_auth)
@can("cards.read")
@bp.output(CardDetail)
@bp.doc(summary="One card with its redemptions")
def get_card(serial):
    return batches.get_card(serial)


@bp.post("/cards/<serial>/activate")
@bp.auth_required(staff_auth)
@can("cards.write")
@bp.output(ActivationOut)
@bp.doc(responses={409: "invalid_transition: the card is active, void or used up already"})
def activate_card(serial):
    return batches.activate_card(current_staff(), serial)


@bp.post("/cards/<serial>/void")
@bp.auth_required(staff_auth)
@can("cards.write")
@bp.input(VoidIn, arg_name="body")
@bp.output(CardDetail)
@bp.doc(summary="Void one card (lost, refunded)", responses={409: "card_used_up"})
def void_card(serial, body):
    card, changed = batches.void_card(current_staff(), serial, body["reason"])
    card.changed = changed
    return card
