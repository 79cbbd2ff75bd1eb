"""Pickup schemas shared by the shopper and staff handlers."""
from __future__ import annotations

import re

from apiflask import fields, validators
from marshmallow import ValidationError, pre_load, validates_schema

from handlers.catalog import StoreOut
from handlers.schemas import Bool, Cursor, Schema, StrictSchema, page_of

_DEVICE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class LocationQuery(StrictSchema):
    lat = fields.Float(load_default=None, validate=validators.Range(-90, 90))
    lng = fields.Float(load_default=None, validate=validators.Range(-180, 180))

    @validates_schema
    def _both_or_neither(self, data, **kwargs):
        if (data.get("lat") is None) != (data.get("lng") is None):
            raise ValidationError("Send lat and lng together.", field_name="lat")


class LineOut(Schema):
    sku_id = fields.Integer()
    name = fields.String()
    spec = fields.String()
    qty = fields.Integer()


class PickupStoreOut(StoreOut):
    class Meta:
        exclude = ("distance_m",)


class PickupCodeOut(Schema):
    order_no = fields.String()
    code = fields.String(metadata={"description": "the 12 digits (V1 verifies by them alone)"})
    qr_payload = fields.String(metadata={"description": "what the QR encodes: the digits (V1), a signed "
                                                        "payload (V2), or one valid for this 30 s window (V3)"})
    level = fields.Integer(metadata={"description": "1–3 = V1–V3"})
    refresh_in_s = fields.Integer(allow_none=True, metadata={"description": "V3: fetch again in this many seconds"})
    expires_at = fields.DateTime(metadata={"description": "the pickup deadline"})
    store = fields.Nested(PickupStoreOut)
    distance_m = fields.Integer(allow_none=True)
    remaining = fields.Nested(LineOut, many=True)


# --- staff ---------------------------------------------------------------------------------

class PickupItemIn(StrictSchema):
    sku_id = fields.Integer(required=True, strict=True, validate=validators.Range(min=1))
    qty = fields.Integer(required=True, strict=True, validate=validators.Range(1, 999))


class PresentedIn(StrictSchema):
    code = fields.String(load_default=None, validate=validators.Regexp(r"^[0-9]{12}$", error="12 digits"),
                         metadata={"description": "the 12 digits (spaces and dashes are ignored)"})
    qr_payload = fields.String(load_default=None, validate=validators.Length(1, 128),
                               metadata={"description": "what the scanner read (a pickup QR, or the scene "
                                                        "of a mini-program code)"})
    order_no = fields.String(load_default=None, validate=validators.Regexp(r"^[A-Za-z0-9_-]{6,32}$"),
                             metadata={"description": "the order the clerk has open: a wrong code then "
                                                      "counts against it (3 lock it)"})

    @pre_load
    def _plain_digits(self, data, **kwargs):
        if isinstance(data, dict) and isinstance(data.get("code"), str):
            data = {**data, "code": re.sub(r"[\s-]", "", data["code"])}
        return data

    @validates_schema
    def _one_of(self, data, **kwargs):
        if (data.get("code") is None) == (data.get("qr_payload") is None):
            raise ValidationError("Send either code or qr_payload.", field_name="code")


class VerifyIn(PresentedIn):
    items = fields.List(fields.Nested(PickupItemIn), load_default=None, validate=validators.Length(1, 50),
                        metadata={"description": "hand over only these (partial pickup); default: "
                                                 "everything left"})

    @validates_schema
    def _distinct_skus(self, data, **kwargs):
        skus = [i["sku_id"] for i in data.get("items") or []]
        if len(skus) != len(set(skus)):
            raise ValidationError("Each sku_id once.", field_name="items")


class PreviewItemOut(LineOut):
    picked_up_qty = fields.Integer()
    remaining = fields.Integer()


class PreviewOut(Schema):
    order_no = fields.String()
    status = fields.String()
    store_id = fields.Integer()
    level = fields.Integer()
    buyer_masked = fields.String(allow_none=True)
    pickup_deadline = fields.DateTime()
    items = fields.Nested(PreviewItemOut, many=True)
    remaining = fields.Nested(LineOut, many=True)


class VerifyOut(Schema):
    order_no = fields.String()
    status = fields.String()
    partial = Bool()
    picked_up = fields.Nested(LineOut, many=True)
    remaining = fields.Nested(LineOut, many=True)
    verified_at = fields.DateTime()


class ReviewsQuery(StrictSchema):
    store_id = fields.Integer(load_default=None, validate=validators.Range(min=1))
    cursor = Cursor()
    limit = fields.Integer(load_default=20, validate=validators.Range(1, 100))


class ExpiringQuery(ReviewsQuery):
    within_hours = fields.Integer(load_default=24, validate=validators.Range(1, 168),
                                  metadata={"description": "deadlines before now + this many hours"})


class ReviewOut(Schema):
    kind = fields.String(metadata={"description": "order (a pickup code); card (a pickup card)"})
    ref = fields.String(metadata={"description": "the order number (or the card serial)"})
    store_id = fields.Integer(allow_none=True)
    locked_at = fields.DateTime()
    failed_attempts = fields.Integer()


ReviewPage = page_of(ReviewOut, "PickupReviewPage")


class NoteIn(StrictSchema):
    note = fields.String(load_default=None, validate=validators.Length(max=200))


class ExtendIn(StrictSchema):
    hours = fields.Integer(required=True, strict=True, validate=validators.Range(1, 90 * 24),
                           metadata={"description": "added to the current deadline (at most "
                                                    "PICKUP_MAX_EXTENSION_HOURS from now)"})
    reason = fields.String(load_default=None, validate=validators.Length(max=200))


class PickupStateOut(Schema):
    order_no = fields.String()
    status = fields.String()
    pickup_deadline = fields.DateTime(allow_none=True)
    version = fields.Integer(allow_none=True, metadata={"description": "the live code's version"})
    locked = Bool()
    failed_attempts = fields.Integer()
    changed = Bool()


def device_id(request) -> str:
    """Who is scanning, for the per-device limit: the X-Device-Id header (the scanner's
    id), else the client address."""
    from app.errors import InvalidRequest

    value = request.headers.get("X-Device-Id")
    if value is None:
        return f"addr:{request.remote_addr}"
    if not _DEVICE_ID.match(value):
        raise InvalidRequest("X-Device-Id must be 1–64 of A-Z a-z 0-9 _ . : -", details={"header": "X-Device-Id"})
    return f"dev:{value}"
