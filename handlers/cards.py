"""The card holder: look a pickup card up, redeem it for an order."""
from __future__ import annotations

from apiflask import APIBlueprint, fields, validators
from flask import request

from handlers.access import current_user, shopper_auth
from handlers.order_schemas import FulfillmentIn, OrderDetail
from handlers.schemas import IdempotencyHeaders, Schema, StrictSchema
from models.cards import redemption

bp = APIBlueprint("cards", __name__, url_prefix="/api/cards", tag="Pickup cards")

_SERIAL = validators.Regexp(r"^[0-9][0-9 -]{5,39}$", error="A card number is digits.")
_PASSWORD = validators.Length(1, 64)


class CardCredentialsIn(StrictSchema):
    serial = fields.String(required=True, validate=_SERIAL)
    password = fields.String(required=True, validate=_PASSWORD)


class RedeemIn(FulfillmentIn):
    serial = fields.String(required=True, validate=_SERIAL)
    password = fields.String(required=True, validate=_PASSWORD)
    store_id = fields.Integer(load_default=None, strict=True, validate=validators.Range(min=1))
    qty = fields.Integer(load_default=1, strict=True, validate=validators.Range(1, 999),
                         metadata={"description": "units of the card to redeem now"})


class HolderCardOut(Schema):
    serial = fields.String()
    state = fields.Function(redemption.holder_state,
                            metadata={"description": "active, not_active, expired, used_up or void"})
    units_total = fields.Integer()
    units_left = fields.Integer()
    valid_from = fields.DateTime(attribute="batch.valid_from")
    valid_until = fields.DateTime(attribute="batch.valid_until")
    channels = fields.String(attribute="batch.channels")
    store_id = fields.Integer(attribute="batch.store_id", allow_none=True)
    # One unit is qty_per_unit of this SKU (a bundle SKU is one set of goods).
    sku_id = fields.Integer(attribute="batch.sku_id")
    name = fields.String(attribute="batch.sku.product.name")
    spec = fields.String(attribute="batch.sku.spec")
    qty_per_unit = fields.Integer(attribute="batch.qty_per_unit")


def _ip() -> str:
    return request.remote_addr or "unknown"


@bp.post("/lookup")
@bp.auth_required(shopper_auth)
@bp.input(CardCredentialsIn, arg_name="body")
@bp.output(HolderCardOut)
@bp.doc(summary="What a card holds: units left, validity, what it is for",
        responses={400: "card_invalid (unknown number or wrong password: the same answer)",
                   423: "card_locked", 429: "rate_limited"})
def lookup(body):
    return redemption.lookup(current_user(), _ip(), body["serial"], body["password"])


@bp.post("/redeem")
@bp.auth_required(shopper_auth)
@bp.input(RedeemIn, arg_name="body")
@bp.input(IdempotencyHeaders, location="headers", arg_name="headers")
@bp.output(OrderDetail, status_code=201)
@bp.doc(summary="Redeem units of a card: a paid order for pickup or delivery "
                "(send an Idempotency-Key to make retries safe)",
        responses={404: "not_found: no such store", 400: "card_invalid, store_required", 423: "card_locked",
                   409: "card_void, card_used_up, card_expired, card_not_active, "
                        "card_units_insufficient, card_channel_not_allowed, card_store_not_allowed, "
                        "out_of_stock, not_for_sale, store_closed",
                   422: "idempotency_key_reused", 429: "rate_limited"})
def redeem(body, headers):
    return redemption.redeem(current_user(), _ip(), body, headers["idempotency_key"])
