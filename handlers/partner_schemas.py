"""Input and output schemas of the partner API and of its admin pages."""
from __future__ import annotations

from apiflask import fields, validators

from handlers.schemas import _IDEMPOTENCY_KEY, Bool, Cursor, Schema, StrictSchema, page_of
from models.partners.clients import SCOPES
from models.partners.events import EVENT_TYPES
from models.partners.stock import MAX_LINES, REASONS

_ID = validators.Range(1, 2**31 - 1)
_EXTERNAL = validators.Regexp(r"^[\x21-\x7e]{1,64}$", error="1–64 printable ASCII characters.")


# --- partner API ------------------------------------------------------------------------

class PartnerItemOut(Schema):
    sku_id = fields.Integer()
    external_ref = fields.String(allow_none=True)
    name = fields.String()
    spec = fields.String()
    qty = fields.Integer()
    picked_up_qty = fields.Integer()
    price_fen = fields.Integer()


class PartnerOrderOut(Schema):
    order_no = fields.String()
    external_ref = fields.String(allow_none=True)
    status = fields.String()
    fulfillment = fields.String()
    store_id = fields.Integer()
    store_external_ref = fields.String(allow_none=True)
    items = fields.Nested(PartnerItemOut, many=True)
    total_fen = fields.Integer()
    payable_fen = fields.Integer()
    remark = fields.String(allow_none=True)
    created_at = fields.DateTime()
    paid_at = fields.DateTime(allow_none=True)
    ready_at = fields.DateTime(allow_none=True)
    pickup_deadline = fields.DateTime(allow_none=True)
    picked_up_at = fields.DateTime(allow_none=True)
    shipped_at = fields.DateTime(allow_none=True)
    carrier = fields.String(allow_none=True)
    tracking_no = fields.String(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    acknowledged_at = fields.DateTime(allow_none=True)


class ChangedOrdersOut(Schema):
    items = fields.Nested(PartnerOrderOut, many=True)
    next_cursor = fields.String(allow_none=True, metadata={
        "description": "Pass as `cursor` to go on; null: nothing further yet (ask again later "
                       "with the same cursor)"})


class ChangedOrdersQuery(StrictSchema):
    cursor = Cursor()
    since = fields.AwareDateTime(load_default=None, metadata={
        "description": "Without a cursor: start with the changes from this time"})
    limit = fields.Integer(load_default=50, validate=validators.Range(1, 200))


class ActionOut(PartnerOrderOut):
    changed = fields.Boolean(attribute="outcome_changed")


class StockRowOut(Schema):
    sku_id = fields.Integer()
    external_ref = fields.String(allow_none=True)
    on_hand = fields.Integer()
    reserved = fields.Integer()
    available = fields.Integer()
    level = fields.String()
    online = fields.Boolean()
    updated_at = fields.DateTime()


class StockQuery(StrictSchema):
    sku_id = fields.List(fields.Integer(validate=_ID), load_default=None, validate=validators.Length(max=500))


StockOut = Schema.from_dict({"store_id": fields.Integer(), "items": fields.Nested(StockRowOut, many=True)},
                            name="PartnerStockOut")


class DeltaLine(StrictSchema):
    sku_id = fields.Integer(required=True, validate=_ID)
    delta = fields.Integer(required=True, validate=[validators.Range(-10_000_000, 10_000_000),
                                                    validators.NoneOf([0], error="A delta is not 0.")])
    reason = fields.String(required=True, validate=validators.OneOf(REASONS))
    note = fields.String(load_default=None, validate=validators.Length(max=255))


class CountLine(StrictSchema):
    sku_id = fields.Integer(required=True, validate=_ID)
    on_hand = fields.Integer(required=True, validate=validators.Range(0, 1_000_000_000))
    counted_at = fields.AwareDateTime(required=True)
    note = fields.String(load_default=None, validate=validators.Length(max=255))


class DeltasIn(StrictSchema):
    lines = fields.List(fields.Nested(DeltaLine), required=True, validate=validators.Length(1, MAX_LINES))


class CountsIn(StrictSchema):
    lines = fields.List(fields.Nested(CountLine), required=True, validate=validators.Length(1, MAX_LINES))


class StockIdempotencyHeaders(Schema):
    """Every stock change carries a key: a retry must never move stock twice."""
    idempotency_key = fields.String(
        data_key="Idempotency-Key", required=True, validate=_IDEMPOTENCY_KEY,
        error_messages={"required": "Send an Idempotency-Key with every stock change."})


class ChangedLine(Schema):
    sku_id = fields.Integer()
    delta = fields.Integer()
    reason = fields.String()
    on_hand = fields.Integer()
    reserved = fields.Integer()
    available = fields.Integer()


class StockChangeOut(Schema):
    store_id = fields.Integer()
    kind = fields.String()
    lines = fields.Nested(ChangedLine, many=True)
    replayed = fields.Boolean()


class RefIn(StrictSchema):
    external_id = fields.String(required=True, validate=_EXTERNAL)


class RefOut(Schema):
    kind = fields.String()
    internal_id = fields.Integer()
    external_id = fields.String()


class RefQuery(StrictSchema):
    external_id = fields.String(required=True, validate=_EXTERNAL)


class PartnerEventOut(Schema):
    id = fields.String(attribute="public_id")
    seq_no = fields.Integer(attribute="id", metadata={"description": "The feed's sequence number"})
    type = fields.String()
    created_at = fields.DateTime()
    seq = fields.Integer(metadata={"description": "The resource's own sequence"})
    data = fields.Dict()


class FeedQuery(StrictSchema):
    after = fields.Integer(load_default=0, validate=validators.Range(0, 2**53))
    type = fields.List(fields.String(validate=validators.OneOf(EVENT_TYPES)), load_default=None)
    limit = fields.Integer(load_default=100, validate=validators.Range(1, 500))


FeedOut = Schema.from_dict({"items": fields.Nested(PartnerEventOut, many=True), "next_after": fields.Integer()},
                           name="PartnerFeedOut")


# --- webhook endpoints (partner and admin) --------------------------------------------------

class EndpointIn(StrictSchema):
    url = fields.String(required=True, validate=validators.Length(8, 500))
    event_types = fields.List(fields.String(validate=validators.OneOf(EVENT_TYPES)), required=True,
                              validate=validators.Length(1, len(EVENT_TYPES)))


class EndpointPatch(StrictSchema):
    url = fields.String(validate=validators.Length(8, 500))
    event_types = fields.List(fields.String(validate=validators.OneOf(EVENT_TYPES)),
                              validate=validators.Length(1, len(EVENT_TYPES)))
    active = Bool()


class EndpointOut(Schema):
    id = fields.Integer()
    client_id = fields.Integer()
    url = fields.String()
    event_types = fields.List(fields.String())
    status = fields.String()
    disabled_reason = fields.String(allow_none=True)
    disabled_at = fields.DateTime(allow_none=True)
    failing_since = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class EndpointWithSecret(EndpointOut):
    secret = fields.String(metadata={"description": "Shown this once: whsec_… (Standard Webhooks)"})


class DeliveryOut(Schema):
    id = fields.Integer()
    event = fields.Nested(PartnerEventOut, allow_none=True)
    status = fields.String()
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime()
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    delivered_at = fields.DateTime(allow_none=True)


DeliveryPage = page_of(DeliveryOut, "WebhookDeliveryPage")


class DeliveryQuery(StrictSchema):
    status = fields.String(load_default=None, validate=validators.OneOf(["pending", "sending", "delivered", "failed"]))
    cursor = Cursor()
    limit = fields.Integer(load_default=20, validate=validators.Range(1, 100))


class AttemptOut(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    status_code = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    duration_ms = fields.Integer()


AttemptsOut = Schema.from_dict({"delivery": fields.Nested(DeliveryOut), "attempts": fields.Nested(AttemptOut, many=True)},
                               name="WebhookAttemptsOut")


class RedeliverIn(StrictSchema):
    from_seq = fields.Integer(required=True, validate=validators.Range(1, 2**53))
    to_seq = fields.Integer(load_default=None, validate=validators.Range(1, 2**53))


RedeliverOut = Schema.from_dict({"queued": fields.Integer()}, name="RedeliverOut")


# --- partner clients (admin) ------------------------------------------------------------------

class ClientIn(StrictSchema):
    name = fields.String(required=True, validate=validators.Length(1, 64))
    scopes = fields.List(fields.String(validate=validators.OneOf(SCOPES)), required=True,
                         validate=validators.Length(1, len(SCOPES)))
    store_ids = fields.List(fields.Integer(validate=_ID), required=True, validate=validators.Length(max=500))


class ClientPatch(StrictSchema):
    name = fields.String(validate=validators.Length(1, 64))
    scopes = fields.List(fields.String(validate=validators.OneOf(SCOPES)), validate=validators.Length(1, len(SCOPES)))
    store_ids = fields.List(fields.Integer(validate=_ID), validate=validators.Length(max=500))


class ClientOut(Schema):
    id = fields.Integer()
    client_id = fields.String()
    name = fields.String()
    scopes = fields.List(fields.String())
    store_ids = fields.List(fields.Integer())
    status = fields.String()
    created_at = fields.DateTime()
    rotated_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class ClientWithSecret(ClientOut):
    client_secret = fields.String(metadata={"description": "Shown this once"})


ClientsOut = Schema.from_dict({"items": fields.Nested(ClientOut, many=True)}, name="PartnerClientsOut")
EndpointsOut = Schema.from_dict({"items": fields.Nested(EndpointOut, many=True)}, name="WebhookEndpointsOut")


# --- the token endpoint (RFC 6749 §4.4, answered by Authlib) ----------------------------------

class TokenForm(Schema):
    grant_type = fields.String(required=True, metadata={"enum": ["client_credentials"]})
    scope = fields.String(metadata={"description": "Space-separated; default: every scope of the client"})
    client_id = fields.String(metadata={"description": "With client_secret_post (else HTTP Basic)"})
    client_secret = fields.String()


class TokenOut(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()
    scope = fields.String()


class OAuthErrorOut(Schema):
    error = fields.String(metadata={"description": "RFC 6749 §5.2: invalid_client, invalid_scope, ..."})
    error_description = fields.String()
