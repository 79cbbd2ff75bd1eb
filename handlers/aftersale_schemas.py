"""After-sale schemas shared by the shopper and staff handlers."""
from __future__ import annotations

from apiflask import fields, validators

from handlers.schemas import Cursor, Schema, StrictSchema
from models.aftersales.status import Status
from models.aftersales.tables import KINDS

_NO = validators.Regexp(r"^AS[0-9]{22}$")


class AfterSaleItemIn(StrictSchema):
    sku_id = fields.Integer(required=True, strict=True, validate=validators.Range(min=1))
    qty = fields.Integer(required=True, strict=True, validate=validators.Range(1, 999))


class AfterSaleIn(StrictSchema):
    order_no = fields.String(required=True, validate=validators.Length(6, 32))
    kind = fields.String(required=True, validate=validators.OneOf(KINDS))
    reason = fields.String(required=True, validate=validators.Length(1, 64))
    description = fields.String(load_default=None, validate=validators.Length(max=500))
    items = fields.List(fields.Nested(AfterSaleItemIn), required=True, validate=validators.Length(1, 50))


class NoteIn(StrictSchema):
    note = fields.String(load_default=None, validate=validators.Length(max=200))


class RequiredNoteIn(StrictSchema):
    note = fields.String(required=True, validate=validators.Length(1, 200))


class ReturnShippedIn(StrictSchema):
    carrier = fields.String(required=True, validate=validators.Length(1, 32))
    tracking_no = fields.String(required=True, validate=validators.Regexp(r"^[A-Za-z0-9-]{4,64}$"))


class ReceivedItemIn(StrictSchema):
    order_item_id = fields.Integer(required=True, strict=True, validate=validators.Range(min=1))
    received_qty = fields.Integer(required=True, strict=True, validate=validators.Range(0, 999))
    resellable_qty = fields.Integer(load_default=0, strict=True, validate=validators.Range(0, 999))


class ReceiveIn(StrictSchema):
    items = fields.List(fields.Nested(ReceivedItemIn), required=True, validate=validators.Length(1, 50))


class ReceiveByCodeIn(ReceiveIn):
    code = fields.String(required=True, validate=validators.Length(1, 32))


class ReturnCodeIn(StrictSchema):
    code = fields.String(required=True, validate=validators.Length(1, 32))


class AfterSaleItemOut(Schema):
    order_item_id = fields.Integer()
    sku_id = fields.Integer()
    name = fields.String()
    spec = fields.String()
    qty = fields.Integer()
    refund_fen = fields.Integer()
    received_qty = fields.Integer(allow_none=True)
    resellable_qty = fields.Integer(allow_none=True)


class AfterSaleOut(Schema):
    after_sale_no = fields.String()
    order_no = fields.String()
    store_id = fields.Integer()
    kind = fields.String()
    status = fields.String()
    reason = fields.String()
    description = fields.String(allow_none=True)
    refund_fen = fields.Integer()
    refunded_fen = fields.Integer(allow_none=True)
    deadline_at = fields.DateTime(allow_none=True)
    auto_action = fields.String(allow_none=True)
    carrier = fields.String(allow_none=True)
    tracking_no = fields.String(allow_none=True)
    signed_at = fields.DateTime(allow_none=True)
    return_code = fields.String(allow_none=True, metadata={"description": "the owner's return code (at the store)"})
    replacement_order_no = fields.String(allow_none=True)
    decision_note = fields.String(allow_none=True)
    created_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    received_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    photo_ids = fields.List(fields.Integer())
    items = fields.List(fields.Nested(AfterSaleItemOut))


class AfterSalePage(Schema):
    items = fields.List(fields.Nested(AfterSaleOut))
    next_cursor = fields.String(allow_none=True)


class AfterSaleList(Schema):
    items = fields.List(fields.Nested(AfterSaleOut))


class MineQuery(StrictSchema):
    cursor = Cursor()
    limit = fields.Integer(load_default=20, validate=validators.Range(1, 100))


class QueueQuery(StrictSchema):
    store_id = fields.Integer(load_default=None, validate=validators.Range(min=1))
    status = fields.String(load_default=None, validate=validators.OneOf([s.value for s in Status]))
    limit = fields.Integer(load_default=50, validate=validators.Range(1, 200))


class PhotoLinkOut(Schema):
    url = fields.String()
    expires_in_s = fields.Integer()
