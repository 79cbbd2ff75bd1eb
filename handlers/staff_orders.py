"""Staff work on their stores' orders: list, read, ready for pickup, ship, cancel."""
from __future__ import annotations

from apiflask import APIBlueprint

from handlers.access import current_staff, roles, staff_auth
from handlers.order_schemas import (OrderDetail, OrderPage, ReasonIn, ShipIn, StaffOrdersQuery,
                                    with_outcome)
from handlers.schemas import cursor_int, page
from models.orders import lifecycle, queries, unpaid
from models.orders.status import Actor

bp = APIBlueprint("staff_orders", __name__, url_prefix="/api/staff/orders", tag="Staff orders")
COUNTER = ("admin", "manager", "clerk")


@bp.get("")
@bp.auth_required(staff_auth)
@roles("admin", "manager", "clerk", "analyst")
@bp.input(StaffOrdersQuery, location="query", arg_name="query")
@bp.output(OrderPage)
@bp.doc(summary="Orders of my stores (all stores for admins and analysts)")
def list_orders(query):
    staff = current_staff()
    store_ids = None if staff.role.value in ("admin", "analyst") else staff.store_ids
    if query["store_id"] is not None:
        if staff.role.value != "analyst":
            staff.require_store(query["store_id"])
        store_ids = [query["store_id"]]
    rows = queries.list_orders(store_ids=store_ids, status=query["status"],
                               cursor=cursor_int(query["cursor"]), limit=query["limit"] + 1)
    return page(rows, query["limit"])


@bp.get("/<order_no>")
@bp.auth_required(staff_auth)
@roles(*COUNTER)
@bp.output(OrderDetail)
def get_order(order_no):
    return queries.staff_order(current_staff(), order_no)


@bp.post("/<order_no>/ready")
@bp.auth_required(staff_auth)
@roles(*COUNTER)
@bp.output(OrderDetail)
@bp.doc(summary="A paid pickup order is packed and waiting at the counter")
def mark_ready(order_no):
    order = queries.staff_order(current_staff(), order_no)
    return with_outcome(order, lifecycle.mark_ready(order, Actor.of(current_staff())))


@bp.post("/<order_no>/ship")
@bp.auth_required(staff_auth)
@roles(*COUNTER)
@bp.input(ShipIn, arg_name="body")
@bp.output(OrderDetail)
@bp.doc(summary="A paid delivery order left with a carrier")
def ship(order_no, body):
    order = queries.staff_order(current_staff(), order_no)
    return with_outcome(order, lifecycle.ship(order, Actor.of(current_staff()), **body))


@bp.post("/<order_no>/delivered")
@bp.auth_required(staff_auth)
@roles(*COUNTER)
@bp.output(OrderDetail)
def mark_delivered(order_no):
    order = queries.staff_order(current_staff(), order_no)
    return with_outcome(order, lifecycle.mark_delivered(order, Actor.of(current_staff())))


@bp.post("/<order_no>/cancel")
@bp.auth_required(staff_auth)
@roles("admin", "manager")
@bp.input(ReasonIn, arg_name="body")
@bp.output(OrderDetail)
@bp.doc(summary="Cancel an unpaid order of my store")
def cancel(order_no, body):
    order = queries.staff_order(current_staff(), order_no)
    return with_outcome(order, unpaid.cancel(order, Actor.of(current_staff()), body["reason"]))
