"""The shopper's pickup code: show it, or get a mini-program code for the clerk."""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import Response

from handlers.access import current_user, shopper_auth
from handlers.pickup_schemas import LocationQuery, PickupCodeOut
from models.orders import queries
from models.pickup import codes, wxacode

bp = APIBlueprint("pickups", __name__, url_prefix="/api/orders", tag="Shopper pickup")
NO_STORE = {"Cache-Control": "no-store"}  # a code must not linger in caches


@bp.get("/<order_no>/pickup")
@bp.auth_required(shopper_auth)
@bp.input(LocationQuery, location="query", arg_name="query")
@bp.output(PickupCodeOut)
@bp.doc(summary="My order's pickup code and QR payload (V3: refresh every 30 s)",
        responses={400: "location_required", 403: "outside_pickup_radius",
                   409: "pickup_not_ready, already_picked_up, pickup_expired", 423: "pickup_locked"})
def show(order_no, query):
    order = queries.owned_order(current_user().id, order_no)
    return codes.show(order, query["lat"], query["lng"]), 200, NO_STORE


@bp.post("/<order_no>/pickup/wxacode")
@bp.auth_required(shopper_auth)
@bp.doc(summary="A mini-program code (PNG) that opens the clerk's verify page for this order",
        responses={200: {"description": "the code, a PNG", "content": {"image/png": {}}}, 409: "pickup_not_ready, pickup_dynamic_qr_only", 423: "pickup_locked",
                   503: "wechat_unavailable"})
def mini_program_code(order_no):
    order = queries.owned_order(current_user().id, order_no)
    return Response(wxacode.issue(current_user(), order), mimetype="image/png", headers=NO_STORE)
