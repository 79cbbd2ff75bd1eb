"""At the counter: preview and verify pickups (核销); for managers: locked codes to
review, unlock, reissue, extend a deadline."""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import request

from handlers.access import can, current_staff, staff_auth
from handlers.order_schemas import OrderPage
from handlers.pickup_schemas import (ExpiringQuery, ExtendIn, NoteIn, PickupStateOut, PresentedIn, PreviewOut, ReviewPage,
                                     ReviewsQuery, VerifyIn, VerifyOut, device_id)
from handlers.schemas import IdempotencyHeaders, cursor_int, page
from models.orders import queries
from models.pickup import codes, expiry, lockout, verification

bp = APIBlueprint("staff_pickups", __name__, url_prefix="/api/staff/pickups", tag="Staff pickup")
REFUSALS = {400: "pickup_code_invalid, pickup_qr_stale, pickup_scan_required, pickup_items_invalid",
            409: "already_picked_up (when, by whom), pickup_expired, pickup_not_ready, pickup_qty_exceeded",
            423: "pickup_locked", 429: "rate_limited"}


@bp.post("/preview")
@bp.auth_required(staff_auth)
@can("pickups.verify")
@bp.input(PresentedIn, arg_name="body")
@bp.output(PreviewOut)
@bp.doc(summary="What a code would hand over (changes nothing); send X-Device-Id", responses=REFUSALS)
def preview(body):
    return verification.preview(current_staff(), device_id(request), **body)


@bp.post("/verify")
@bp.auth_required(staff_auth)
@can("pickups.verify")
@bp.input(VerifyIn, arg_name="body")
@bp.input(IdempotencyHeaders, location="headers", arg_name="headers")
@bp.output(VerifyOut)
@bp.doc(summary="Hand over an order, or some of its items (partial pickup); send X-Device-Id, and an "
                "Idempotency-Key so that sending it again after a lost answer never hands over twice",
        responses={**REFUSALS, 422: "idempotency_key_reused"})
def verify(body, headers):
    return verification.verify(current_staff(), device_id(request), **body,
                               idempotency_key=headers["idempotency_key"])


@bp.get("/expiring")
@bp.auth_required(staff_auth)
@can("orders.read")
@bp.input(ExpiringQuery, location="query", arg_name="query")
@bp.output(OrderPage)
@bp.doc(summary="Ready orders whose pickup deadline is near, soonest first (my stores; all for "
                "admins and analysts): whom to call, whose deadline to extend")
def expiring(query):
    rows = expiry.due_soon(current_staff(), store_id=query["store_id"], within_hours=query["within_hours"],
                           cursor=cursor_int(query["cursor"]), limit=query["limit"] + 1)
    return page(rows, query["limit"])


@bp.get("/reviews")
@bp.auth_required(staff_auth)
@can("pickups.review")
@bp.input(ReviewsQuery, location="query", arg_name="query")
@bp.output(ReviewPage)
@bp.doc(summary="Locked codes (newest first) and, on the first page, locked pickup cards, "
                "awaiting a manager (my stores; all for admins)")
def reviews(query):
    cursor = cursor_int(query["cursor"])
    rows = lockout.reviews(current_staff(), store_id=query["store_id"], cursor=cursor, limit=query["limit"] + 1)
    result = page(rows, query["limit"], key=lambda row: row["cursor"])
    if cursor is None:
        result["items"] = lockout.locked_cards_for(current_staff(), query["store_id"]) + result["items"]
    return result


@bp.post("/orders/<order_no>/unlock")
@bp.auth_required(staff_auth)
@can("pickups.review")
@bp.input(NoteIn, arg_name="body")
@bp.output(PickupStateOut)
@bp.doc(summary="Unlock a locked code after checking the customer (the count starts over)")
def unlock(order_no, body):
    order = queries.staff_order(current_staff(), order_no)
    code, changed = lockout.unlock(current_staff(), order, body["note"])
    return _state(order, code, changed)


@bp.post("/orders/<order_no>/reissue")
@bp.auth_required(staff_auth)
@can("pickups.reissue")
@bp.input(NoteIn, arg_name="body")
@bp.output(PickupStateOut)
@bp.doc(summary="A new code for the order (the old one, its QR and mini-program code stop working)",
        responses={409: "already_picked_up, pickup_expired, pickup_not_ready"})
def reissue(order_no, body):
    order = queries.staff_order(current_staff(), order_no)
    return _state(order, lockout.reissue(current_staff(), order, body["note"]), True)


@bp.post("/orders/<order_no>/extend")
@bp.auth_required(staff_auth)
@can("pickups.extend")
@bp.input(ExtendIn, arg_name="body")
@bp.output(PickupStateOut)
@bp.doc(summary="Give the customer more time, before the pickup deadline passes",
        responses={400: "pickup_deadline_invalid", 409: "pickup_expired, already_picked_up, pickup_not_ready"})
def extend(order_no, body):
    order = queries.staff_order(current_staff(), order_no)
    order = expiry.extend(current_staff(), order, body["hours"], body["reason"])
    return _state(order, codes.live_code(order.id), True)


def _state(order, code, changed: bool) -> dict:
    return {"order_no": order.order_no, "status": order.status, "pickup_deadline": order.pickup_deadline,
            "version": code.version if code else None, "locked": bool(code and code.locked_at),
            "failed_attempts": code.failed_attempts if code else 0, "changed": changed}
