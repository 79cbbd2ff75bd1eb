"""The shopper's orders: place, list, read, cancel, confirm receipt."""
from __future__ import annotations

from apiflask import APIBlueprint

from handlers.access import current_user, shopper_auth
from handlers.order_schemas import (OrderDetail, OrderIn, OrderPage, OrdersQuery, ReasonIn,
                                    with_outcome)
from handlers.schemas import IdempotencyHeaders, cursor_int, page
from models.orders import lifecycle, placement, queries, unpaid
from models.orders.status import Actor

bp = APIBlueprint("orders", __name__, url_prefix="/api/orders", tag="Shopper orders")


@bp.post("")
@bp.auth_required(shopper_auth)
@bp.input(OrderIn, arg_name="body")
@bp.input(IdempotencyHeaders, location="headers", arg_name="headers")
@bp.output(OrderDetail, status_code=201)
@bp.doc(summary="Place an order (send an Idempotency-Key to make retries safe)",
        responses={404: "not_found: no such store or SKU", 409: "out_of_stock, store_closed, not_for_sale, purchase_limit",
                   422: "idempotency_key_reused"})
def place(body, headers):
    order, _ = placement.place_order(current_user().id, body, headers["idempotency_key"])
    return order


@bp.get("")
@bp.auth_required(shopper_auth)
@bp.input(OrdersQuery, location="query", arg_name="query")
@bp.output(OrderPage)
@bp.doc(summary="My orders, newest first")
def list_mine(query):
    rows = queries.list_orders(user_id=current_user().id, status=query["status"],
                               cursor=cursor_int(query["cursor"]), limit=query["limit"] + 1)
    return page(rows, query["limit"])


@bp.get("/<order_no>")
@bp.auth_required(shopper_auth)
@bp.output(OrderDetail)
@bp.doc(summary="One of my orders, with its history")
def get_mine(order_no):
    return queries.owned_order(current_user().id, order_no)


@bp.post("/<order_no>/cancel")
@bp.auth_required(shopper_auth)
@bp.input(ReasonIn, arg_name="body")
@bp.output(OrderDetail)
@bp.doc(summary="Cancel my unpaid order", responses={409: "invalid_transition"})
def cancel(order_no, body):
    order = queries.owned_order(current_user().id, order_no)
    return with_outcome(order, unpaid.cancel(order, Actor.of(current_user()), body["reason"]))


@bp.post("/<order_no>/confirm-receipt")
@bp.auth_required(shopper_auth)
@bp.output(OrderDetail)
@bp.doc(summary="Confirm a delivery arrived", responses={409: "invalid_transition"})
def confirm_receipt(order_no):
    order = queries.owned_order(current_user().id, order_no)
    return with_outcome(order, lifecycle.confirm_receipt(order, Actor.of(current_user())))
