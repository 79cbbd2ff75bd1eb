"""Order schemas shared by the shopper and staff handlers."""
from __future__ import annotations

from datetime import date

from apiflask import fields, validators
from marshmallow import ValidationError, validates_schema

from handlers.schemas import Bool, Cursor, Schema, StrictSchema, page_of
from models.orders.queries import delivery_address
from models.orders.status import Status

STATUSES = [s.value for s in Status]


class AddressIn(StrictSchema):
    name = fields.String(required=True, validate=validators.Length(1, 32))
    phone = fields.String(required=True, validate=validators.Regexp(r"^\+?[0-9][0-9 -]{4,19}$"))
    province = fields.String(required=True, validate=validators.Length(1, 32))
    city = fields.String(required=True, validate=validators.Length(1, 32))
    district = fields.String(load_default="", validate=validators.Length(max=32))
    detail = fields.String(required=True, validate=validators.Length(1, 200))


class ItemIn(StrictSchema):
    sku_id = fields.Integer(required=True, strict=True, validate=validators.Range(min=1))
    qty = fields.Integer(required=True, strict=True, validate=validators.Range(1, 999))


class FulfillmentIn(StrictSchema):
    """Pickup or delivery, with an address exactly when delivered (orders, card redemptions)."""
    fulfillment = fields.String(required=True, validate=validators.OneOf(["pickup", "delivery"]))
    address = fields.Nested(AddressIn, load_default=None)

    @validates_schema
    def _address_for_delivery(self, data, **kwargs):
        if data.get("fulfillment") == "delivery" and not data.get("address"):
            raise ValidationError("A delivery order needs an address.", field_name="address")
        if data.get("fulfillment") == "pickup" and data.get("address"):
            raise ValidationError("A pickup order takes no address.", field_name="address")


class OrderIn(FulfillmentIn):
    store_id = fields.Integer(required=True, strict=True, validate=validators.Range(min=1))
    items = fields.List(fields.Nested(ItemIn), required=True, validate=validators.Length(1, 50))
    remark = fields.String(load_default=None, validate=validators.Length(max=200))
    coupon_id = fields.Integer(load_default=None, strict=True, validate=validators.Range(min=1), metadata={
        "description": "one of my coupons (GET /api/me/coupons); never in a flash sale"})
    points = fields.Integer(load_default=0, strict=True, validate=validators.Range(0, 10_000_000), metadata={
        "description": "points offered: whole units are used, at most the configured share of what is left to pay"})


class ReasonIn(StrictSchema):
    reason = fields.String(load_default=None, validate=validators.Length(max=200))


class ShipIn(StrictSchema):
    carrier = fields.String(required=True, validate=validators.Length(1, 32))
    tracking_no = fields.String(required=True, validate=validators.Regexp(r"^[A-Za-z0-9-]{4,64}$"))


class OrdersQuery(StrictSchema):
    status = fields.String(load_default=None, validate=validators.OneOf(STATUSES))
    cursor = Cursor()
    limit = fields.Integer(load_default=20, validate=validators.Range(1, 100))


# Dates a person could mean (and that stay dates in UTC once converted).
_DAYS = validators.Range(min=date(2000, 1, 1), max=date(2099, 12, 31))


class StaffOrdersQuery(OrdersQuery):
    store_id = fields.Integer(load_default=None, validate=validators.Range(min=1))
    q = fields.String(load_default=None, validate=validators.Length(1, 64), metadata={
        "description": "An order number (exact), a shopper's whole phone number, or its last 4 digits "
                       "(400 invalid_search for other digits)."})
    fulfillment = fields.String(load_default=None, validate=validators.OneOf(["pickup", "delivery"]))
    priority = fields.Boolean(load_default=None, metadata={
        "description": "Only orders with (true) or without (false) priority pickup: clerks list them first."})
    created_from = fields.Date(load_default=None, validate=_DAYS, metadata={
        "description": "Placed on or after this day (Asia/Shanghai)."})
    created_to = fields.Date(load_default=None, validate=_DAYS, metadata={
        "description": "Placed on or before this day (Asia/Shanghai); at most 366 days after created_from."})


class RefundIn(StrictSchema):
    amount_fen = fields.Integer(required=True, strict=True, validate=validators.Range(min=1))
    reason = fields.String(load_default=None, validate=validators.Length(max=80))


class RefundOut(Schema):
    out_refund_no = fields.String()
    amount_fen = fields.Integer()
    reason = fields.String(allow_none=True)
    status = fields.String()
    automatic = Bool()
    created_at = fields.DateTime()
    succeeded_at = fields.DateTime(allow_none=True)


class ItemOut(Schema):
    sku_id = fields.Integer()
    name = fields.String()
    spec = fields.String()
    qty = fields.Integer()
    price_fen = fields.Integer()
    picked_up_qty = fields.Integer()
    discount_fen = fields.Integer(metadata={"description": "the line's part of the coupon and points discounts"})


class EventOut(Schema):
    at = fields.DateTime()
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    actor_type = fields.String()
    reason = fields.String(allow_none=True)


class OrderOut(Schema):
    order_no = fields.String()
    status = fields.String()
    fulfillment = fields.String()
    store_id = fields.Integer()
    items = fields.Nested(ItemOut, many=True)
    total_fen = fields.Integer()
    payable_fen = fields.Integer(metadata={
        "description": "total − coupon_discount_fen − level_discount_fen − points_discount_fen"})
    coupon_id = fields.Integer(allow_none=True)
    coupon_discount_fen = fields.Integer()
    points_used = fields.Integer()
    points_discount_fen = fields.Integer()
    level_discount_fen = fields.Integer(metadata={"description": "the member level's price off (after the coupon)"})
    source = fields.String()  # "shop", or "card:<serial>" for a redeemed pickup card
    remark = fields.String(allow_none=True)
    created_at = fields.DateTime()
    pay_deadline = fields.DateTime()
    paid_at = fields.DateTime(allow_none=True)
    ready_at = fields.DateTime(allow_none=True)
    pickup_deadline = fields.DateTime(allow_none=True)
    picked_up_at = fields.DateTime(allow_none=True)
    shipped_at = fields.DateTime(allow_none=True)
    carrier = fields.String(allow_none=True)
    tracking_no = fields.String(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    cancel_reason = fields.String(allow_none=True)


class OrderDetail(OrderOut):
    events = fields.Nested(EventOut, many=True)
    address = fields.Function(delivery_address, allow_none=True)
    # On actions: false when the step had already happened and nothing changed.
    changed = fields.Function(lambda order: getattr(order, "outcome_changed", None), allow_none=True)


class StaffOrderOut(OrderOut):
    buyer_phone_masked = fields.String(allow_none=True)  # 138****5678; null: no phone bound
    priority = fields.Boolean(metadata={"description": "priority pickup (a member level's or a visit streak's)"})


class PaymentOut(Schema):
    amount_fen = fields.Integer()
    paid_fen = fields.Integer(allow_none=True)
    status = fields.String()  # created | paid | closed | held
    created_at = fields.DateTime()
    paid_at = fields.DateTime(allow_none=True)
    confirmed_by = fields.String(allow_none=True)  # notify | query | bill
    transaction_id = fields.String(allow_none=True, metadata={
        "description": "WeChat Pay's transaction id, masked: 4200****567890"})


class StaffRefundOut(RefundOut):
    requested_by = fields.Integer(allow_none=True)  # staff id; null for an automatic refund
    requested_by_name = fields.String(allow_none=True)


class HandedItemOut(Schema):
    sku_id = fields.Integer()
    qty = fields.Integer()
    name = fields.String(allow_none=True)
    spec = fields.String(allow_none=True)


class PickupOut(Schema):
    """One row of the store's verification ledger: a hand-over of some or all items."""
    seq = fields.Integer()
    verified_at = fields.DateTime()
    store_id = fields.Integer()
    staff_id = fields.Integer()
    staff_name = fields.String(allow_none=True)
    partial = Bool()
    items = fields.Nested(HandedItemOut, many=True)


class StaffOrderDetail(OrderDetail):
    buyer_phone_masked = fields.String(allow_none=True)
    payments = fields.Nested(PaymentOut, many=True)
    refunds = fields.Nested(StaffRefundOut, many=True)
    refundable_fen = fields.Integer(metadata={"description": "What a refund may still take (0: nothing)"})
    pickups = fields.Nested(PickupOut, many=True)


def with_outcome(order, outcome):
    """Attach a transition's outcome for the response (`changed`), return the order."""
    order.outcome_changed = outcome.applied
    return order


OrderPage = page_of(OrderOut, "OrderPage")
StaffOrderPage = page_of(StaffOrderOut, "StaffOrderPage")
