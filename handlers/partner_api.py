"""/api/partner/v1: what an ERP or warehouse system does with its OAuth2 token — orders
changed since a cursor, one order, mark ready, acknowledge; stock read, deltas and counts;
external references; the event feed; its webhook endpoints and their deliveries. Stores
outside the client's grant answer 404 as if they did not exist."""
from __future__ import annotations

from apiflask import APIBlueprint, fields, validators
from flask import request

from app.errors import NotFound

from handlers.order_schemas import with_outcome
from handlers.admin_reports import DailyQuery, DailyReport, day_range
from handlers.aftersale_schemas import AfterSaleOut
from handlers.schemas import Cursor, StrictSchema
from handlers.shipments import ParcelIn
from models.analytics import reports
from models.partners import aftersales as partner_aftersales
from handlers.partner_access import budget_headers, current_partner, partner_auth, scope
from handlers.partner_schemas import (ActionOut, AttemptsOut, ChangedOrdersOut, ChangedOrdersQuery, CountsIn,
                                      DeliveryPage, DeliveryQuery, DeltasIn, EndpointIn, EndpointOut, EndpointPatch,
                                      EndpointsOut, EndpointWithSecret, FeedOut, FeedQuery, PartnerOrderOut,
                                      RedeliverIn, RedeliverOut, RefIn, RefOut, RefQuery, StockChangeOut, StockOut,
                                      StockIdempotencyHeaders, StockQuery)
from handlers.schemas import Schema, cursor_int, page
from models.partners import feed, orders, refs, stock, webhooks

bp = APIBlueprint("partner_api", __name__, url_prefix="/api/partner/v1", tag="Partner API")
bp.after_request(budget_headers)

_LIMITED = {429: "rate_limited: the client's request budget is spent (Retry-After, RateLimit-*)"}
_NOT_THEIRS = {404: "not_found: no such order or store — or not one of the client's stores"}


def _lines_cost() -> int:
    # Charged before the body is parsed: a bulk call weighs by the lines it sends.
    body = request.get_json(silent=True)
    lines = body.get("lines") if isinstance(body, dict) else None
    return 1 + (len(lines) // 50 if isinstance(lines, list) else 0)


class PartnerPageQuery(StrictSchema):
    cursor = Cursor()
    limit = fields.Integer(load_default=50, validate=validators.Range(1, 200))


class PartnerAfterSalePage(Schema):
    items = fields.List(fields.Nested(AfterSaleOut))
    next_cursor = fields.String(allow_none=True)


class PartnerParcelOut(Schema):
    id = fields.Integer()
    carrier = fields.String()
    tracking_no = fields.String()
    status = fields.String()
    created_at = fields.DateTime()


@bp.get("/orders")
@bp.auth_required(partner_auth)
@scope("orders:read")
@bp.input(ChangedOrdersQuery, location="query", arg_name="query")
@bp.output(ChangedOrdersOut)
@bp.doc(summary="Orders of the client's stores changed after a cursor, oldest change first",
        responses=_LIMITED)
def changed_orders(query):
    items, cursor = orders.changed(current_partner(), cursor=cursor_int(query["cursor"]),
                                   since=query["since"], limit=query["limit"])
    return {"items": items, "next_cursor": str(cursor) if cursor is not None else None}


@bp.get("/orders/<order_no>")
@bp.auth_required(partner_auth)
@scope("orders:read")
@bp.output(PartnerOrderOut)
@bp.doc(summary="One order", responses={**_LIMITED, **_NOT_THEIRS})
def get_order(order_no):
    return orders.one(current_partner(), order_no)


@bp.post("/orders/<order_no>/ready")
@bp.auth_required(partner_auth)
@scope("orders:write")
@bp.output(ActionOut)
@bp.doc(summary="A paid pickup order is packed and waiting at the counter",
        responses={**_LIMITED, **_NOT_THEIRS, 409: "invalid_transition: not paid, or not for pickup"})
def mark_ready(order_no):
    order, outcome = orders.mark_ready(current_partner(), order_no)
    return with_outcome(order, outcome)


@bp.post("/orders/<order_no>/acknowledge")
@bp.auth_required(partner_auth)
@scope("orders:write")
@bp.output(PartnerOrderOut)
@bp.doc(summary="The partner has taken the order into its own system (a repeat keeps the first time)",
        responses={**_LIMITED, **_NOT_THEIRS})
def acknowledge(order_no):
    return orders.acknowledge(current_partner(), order_no)


@bp.post("/orders/<order_no>/shipments")
@bp.auth_required(partner_auth)
@scope("orders:write")
@bp.input(ParcelIn, arg_name="body")
@bp.output(PartnerParcelOut, status_code=201)
@bp.doc(summary="A parcel of a delivery order left the warehouse (the first ships the order; the same "
                "tracking number again is a repeat); tracked at 快递100 like the store's own",
        responses={**_LIMITED, **_NOT_THEIRS, 409: "invalid_transition: not paid or not for delivery; "
                   "parcel_duplicate; parcel_not_shippable", 422: "parcel_items_invalid"})
def add_shipment(order_no, body):
    parcel, _ = orders.add_shipment(current_partner(), order_no, **body)
    return parcel


@bp.get("/aftersales")
@bp.auth_required(partner_auth)
@scope("aftersales:read")
@bp.input(PartnerPageQuery, location="query", arg_name="query")
@bp.output(PartnerAfterSalePage)
@bp.doc(summary="After-sales of the client's stores, oldest first, after a cursor", responses=_LIMITED)
def list_aftersales(query):
    items, cursor = partner_aftersales.page(current_partner(), cursor=cursor_int(query["cursor"]),
                                            limit=query["limit"])
    return {"items": items, "next_cursor": str(cursor) if cursor is not None else None}


@bp.get("/aftersales/<after_sale_no>")
@bp.auth_required(partner_auth)
@scope("aftersales:read")
@bp.output(AfterSaleOut)
@bp.doc(summary="One after-sale of the client's stores", responses={**_LIMITED, **_NOT_THEIRS})
def get_aftersale(after_sale_no):
    return partner_aftersales.one(current_partner(), after_sale_no)


@bp.get("/reports/daily")
@bp.auth_required(partner_auth)
@scope("reports:read")
@bp.input(DailyQuery, location="query", arg_name="query")
@bp.output(DailyReport)
@bp.doc(summary="The daily figures of the client's stores (or one of them), as the console's reports show them",
        responses={**_LIMITED, **_NOT_THEIRS})
def daily_report(query):
    principal = current_partner()
    if query["store_id"] is not None and not principal.sees(query["store_id"]):
        raise NotFound("No such store.", details={"store_id": query["store_id"]})
    first, last = day_range(query)
    stores = [query["store_id"]] if query["store_id"] is not None else sorted(principal.store_ids)
    return reports.daily(stores, first, last)


@bp.get("/stores/<int:store_id>/stock")
@bp.auth_required(partner_auth)
@scope("stock:read")
@bp.input(StockQuery, location="query", arg_name="query")
@bp.output(StockOut)
@bp.doc(summary="A store's stock rows (?sku_id= to narrow)", responses={**_LIMITED, **_NOT_THEIRS})
def stock_levels(store_id, query):
    return {"store_id": store_id, "items": stock.levels_of(current_partner(), store_id, query["sku_id"])}


@bp.post("/stores/<int:store_id>/stock/adjustments")
@bp.auth_required(partner_auth)
@scope("stock:write", cost=_lines_cost)
@bp.input(StockIdempotencyHeaders, location="headers", arg_name="headers")
@bp.input(DeltasIn, arg_name="body")
@bp.output(StockChangeOut)
@bp.doc(summary="Stock deltas with a reason each (at most 500 lines), all or nothing",
        responses={**_LIMITED, **_NOT_THEIRS, 409: "stock_below_reserved", 422: "idempotency_key_reused"})
def adjust_stock(store_id, headers, body):
    answer, replayed = stock.change(current_partner(), store_id, headers["idempotency_key"], body["lines"],
                                    kind="delta")
    return {**answer, "replayed": replayed}


@bp.post("/stores/<int:store_id>/stock/counts")
@bp.auth_required(partner_auth)
@scope("stock:write", cost=_lines_cost)
@bp.input(StockIdempotencyHeaders, location="headers", arg_name="headers")
@bp.input(CountsIn, arg_name="body")
@bp.output(StockChangeOut)
@bp.doc(summary="Absolute counts with the time each was counted, applied as deltas",
        responses={**_LIMITED, **_NOT_THEIRS,
                   409: "stale_count: the stock moved after it was counted; stock_below_reserved",
                   422: "idempotency_key_reused"})
def count_stock(store_id, headers, body):
    answer, replayed = stock.change(current_partner(), store_id, headers["idempotency_key"], body["lines"],
                                    kind="count")
    return {**answer, "replayed": replayed}


@bp.put("/refs/<kind>/<int:internal_id>")
@bp.auth_required(partner_auth)
@scope("catalog:read")
@bp.input(RefIn, arg_name="body")
@bp.output(RefOut)
@bp.doc(summary="Name one of our SKUs, stores or orders with the partner's own id",
        responses={**_LIMITED, 404: "not_found: unknown kind or id, or not the client's",
                   409: "external_ref_taken: that id already names another"})
def put_ref(kind, internal_id, body):
    return refs.put(current_partner(), _kind(kind), internal_id, body["external_id"])


@bp.get("/refs/<kind>")
@bp.auth_required(partner_auth)
@scope("catalog:read")
@bp.input(RefQuery, location="query", arg_name="query")
@bp.output(RefOut)
@bp.doc(summary="Our id for the partner's", responses={**_LIMITED, 404: "not_found"})
def find_ref(kind, query):
    kind = _kind(kind)
    return {"kind": kind, "internal_id": refs.resolve(current_partner(), kind, query["external_id"]),
            "external_id": query["external_id"]}


def _kind(kind: str) -> str:
    if kind not in refs.KINDS:
        raise NotFound("No such resource.", details={"kind": kind})
    return kind


@bp.get("/events")
@bp.auth_required(partner_auth)
@scope("orders:read")
@bp.input(FeedQuery, location="query", arg_name="query")
@bp.output(FeedOut)
@bp.doc(summary="Events of the client's stores after a sequence number, oldest first",
        responses=_LIMITED)
def events_after(query):
    items, last = feed.after(current_partner(), query["after"], types=query["type"], limit=query["limit"])
    return {"items": items, "next_after": last}


# --- webhooks (scope webhooks:manage) -----------------------------------------------------------

@bp.get("/webhooks")
@bp.auth_required(partner_auth)
@scope("webhooks:manage")
@bp.output(EndpointsOut)
@bp.doc(summary="The client's webhook endpoints", responses=_LIMITED)
def list_endpoints():
    return {"items": webhooks.endpoints(current_partner().id)}


@bp.post("/webhooks")
@bp.auth_required(partner_auth)
@scope("webhooks:manage")
@bp.input(EndpointIn, arg_name="body")
@bp.output(EndpointWithSecret, status_code=201)
@bp.doc(summary="Register an endpoint (https); its signing secret is shown this once", responses=_LIMITED)
def create_endpoint(body):
    endpoint, secret = webhooks.create(current_partner(), current_partner().id, body["url"], body["event_types"])
    endpoint.secret = secret
    return endpoint


@bp.patch("/webhooks/<int:endpoint_id>")
@bp.auth_required(partner_auth)
@scope("webhooks:manage")
@bp.input(EndpointPatch, arg_name="body")
@bp.output(EndpointOut)
@bp.doc(summary="Change an endpoint's URL or events; disable or enable it", responses={**_LIMITED, 404: "not_found"})
def update_endpoint(endpoint_id, body):
    return webhooks.update(current_partner(), current_partner().id, endpoint_id, **body)


@bp.get("/webhooks/<int:endpoint_id>/deliveries")
@bp.auth_required(partner_auth)
@scope("webhooks:manage")
@bp.input(DeliveryQuery, location="query", arg_name="query")
@bp.output(DeliveryPage)
@bp.doc(summary="An endpoint's deliveries, newest first", responses={**_LIMITED, 404: "not_found"})
def list_deliveries(endpoint_id, query):
    rows = webhooks.deliveries(current_partner().id, endpoint_id, status=query["status"],
                               cursor=cursor_int(query["cursor"]), limit=query["limit"] + 1)
    return page(rows, query["limit"])


@bp.get("/webhooks/deliveries/<int:delivery_id>/attempts")
@bp.auth_required(partner_auth)
@scope("webhooks:manage")
@bp.output(AttemptsOut)
@bp.doc(summary="A delivery with every attempt", responses={**_LIMITED, 404: "not_found"})
def delivery_attempts(delivery_id):
    delivery, attempts = webhooks.attempts(current_partner().id, delivery_id)
    return {"delivery": delivery, "attempts": attempts}


@bp.post("/webhooks/<int:endpoint_id>/redeliver")
@bp.auth_required(partner_auth)
@scope("webhooks:manage")
@bp.input(RedeliverIn, arg_name="body")
@bp.output(RedeliverOut)
@bp.doc(summary="Send one event (from_seq) or a range (to to_seq, at most 1000) again",
        responses={**_LIMITED, 404: "not_found"})
def redeliver(endpoint_id, body):
    return {"queued": webhooks.redeliver(current_partner(), current_partner().id, endpoint_id, **body)}
