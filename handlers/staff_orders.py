"""Staff work on their stores' orders: list, read, ready for pickup, ship (and correct the
shipment), cancel, refund."""
from __future__ import annotations

from apiflask import APIBlueprint

from handlers.access import can, current_staff, staff_auth
from handlers.order_schemas import (ReasonIn, RefundIn, RefundOut, ShipIn, StaffOrderDetail, StaffOrderPage,
                                    StaffOrdersQuery, with_outcome)
from handlers.schemas import RequiredIdempotencyHeaders, cursor_int, page
from models import shipments
from models.orders import lifecycle, queries, search, staff_view, unpaid
from models.orders.placement import request_fingerprint
from models.orders.status import Actor
from models.payments import refunds

bp = APIBlueprint("staff_orders", __name__, url_prefix="/api/staff/orders", tag="Staff orders")


@bp.get("")
@bp.auth_required(staff_auth)
@can("orders.read")
@bp.input(StaffOrdersQuery, location="query", arg_name="query")
@bp.output(StaffOrderPage)
@bp.doc(summary="Orders of my stores (all stores for admins and analysts), found and filtered",
        description="`q` finds an order by its number, or a shopper's orders by their whole phone "
                    "number or its last 4 digits; dates are Asia/Shanghai days, both included.",
        responses={400: "invalid_search: digits that are neither a phone nor its last 4; "
                        "invalid_date_range: created_from after created_to, or over 366 days"})
def list_orders(query):
    rows = search.staff_orders(current_staff(), store_id=query["store_id"], status=query["status"],
                               fulfillment=query["fulfillment"], created_from=query["created_from"],
                               created_to=query["created_to"], q=query["q"], priority=query["priority"],
                               cursor=cursor_int(query["cursor"]), limit=query["limit"] + 1)
    return page(staff_view.rows(rows), query["limit"])


@bp.get("/<order_no>")
@bp.auth_required(staff_auth)
@can("orders.fulfil")
@bp.output(StaffOrderDetail)
@bp.doc(summary="An order of my store with its payment, refunds and pickup ledger rows")
def get_order(order_no):
    return staff_view.detail(queries.staff_order(current_staff(), order_no))


@bp.post("/<order_no>/ready")
@bp.auth_required(staff_auth)
@can("orders.fulfil")
@bp.output(StaffOrderDetail)
@bp.doc(summary="A paid pickup order is packed and waiting at the counter",
        responses={409: "invalid_transition: not paid, or not for pickup"})
def mark_ready(order_no):
    order = queries.staff_order(current_staff(), order_no)
    return staff_view.detail(with_outcome(order, lifecycle.mark_ready(order, Actor.of(current_staff()))))


@bp.post("/<order_no>/ship")
@bp.auth_required(staff_auth)
@can("orders.fulfil")
@bp.input(ShipIn, arg_name="body")
@bp.output(StaffOrderDetail)
@bp.doc(summary="A paid delivery order left with a carrier (all of it, as its first parcel; "
                "split shipments: POST .../parcels)",
        responses={409: "invalid_transition: not paid, or not for delivery"})
def ship(order_no, body):
    staff = current_staff()
    order = queries.staff_order(staff, order_no)
    return staff_view.detail(with_outcome(order, shipments.ship_order(order, Actor.of(staff), staff, **body)))


@bp.put("/<order_no>/shipment")
@bp.auth_required(staff_auth)
@can("orders.fulfil")
@bp.input(ShipIn, arg_name="body")
@bp.output(StaffOrderDetail)
@bp.doc(summary="Correct a shipped order's carrier or tracking number; WeChat is told again",
        description="For an upload WeChat refused (a staff alert says so) or a number typed wrong. "
                    "The change is audited; the same values again resend a refused upload.",
        responses={409: "invalid_transition: not shipped yet"})
def correct_shipment(order_no, body):
    order = queries.staff_order(current_staff(), order_no)
    return staff_view.detail(with_outcome(order, shipments.correct_first_parcel(order, current_staff(), **body)))


@bp.post("/<order_no>/delivered")
@bp.auth_required(staff_auth)
@can("orders.fulfil")
@bp.output(StaffOrderDetail)
@bp.doc(responses={409: "invalid_transition: not shipped"})
def mark_delivered(order_no):
    order = queries.staff_order(current_staff(), order_no)
    return staff_view.detail(with_outcome(order, lifecycle.mark_delivered(order, Actor.of(current_staff()))))


@bp.post("/<order_no>/cancel")
@bp.auth_required(staff_auth)
@can("orders.cancel")
@bp.input(ReasonIn, arg_name="body")
@bp.output(StaffOrderDetail)
@bp.doc(summary="Cancel an unpaid order of my store",
        responses={409: "invalid_transition or payment_started"})
def cancel(order_no, body):
    order = queries.staff_order(current_staff(), order_no)
    return staff_view.detail(with_outcome(order, unpaid.cancel(order, Actor.of(current_staff()), body["reason"])))


@bp.post("/<order_no>/refunds")
@bp.auth_required(staff_auth)
@can("refunds.create")
@bp.input(RefundIn, arg_name="body")
@bp.input(RequiredIdempotencyHeaders, location="headers", arg_name="headers")
@bp.output(RefundOut, status_code=201)
@bp.doc(summary="Refund all or part of a paid order (Idempotency-Key required)",
        responses={409: "refund_exceeds_paid", 422: "idempotency_key_reused"})
def refund(order_no, body, headers):
    key = headers["idempotency_key"]
    result, _ = refunds.request_refund(current_staff(), order_no, amount_fen=body["amount_fen"],
                                       reason=body["reason"], idempotency_key=key,
                                       fingerprint=request_fingerprint(body))
    return result
