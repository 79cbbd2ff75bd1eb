"""The shopper's after-sales: ask, list, read, cancel, escalate, say how a return was shipped."""
from __future__ import annotations

from apiflask import APIBlueprint

from handlers.access import current_user, shopper_auth
from handlers.aftersale_schemas import AfterSaleIn, AfterSaleOut, AfterSalePage, MineQuery, NoteIn, ReturnShippedIn
from handlers.schemas import cursor_int
from models.aftersales import queries, requests

bp = APIBlueprint("aftersales", __name__, url_prefix="/api/aftersales", tag="Shopper after-sales")


@bp.post("")
@bp.auth_required(shopper_auth)
@bp.input(AfterSaleIn, arg_name="body")
@bp.output(AfterSaleOut, status_code=201)
@bp.doc(summary="Ask for an after-sale on some units of some lines of my paid order",
        responses={404: "not_found: no such order", 409: "aftersale_not_eligible, aftersale_window_closed, "
                   "aftersale_quantity_exceeded, aftersale_kind_not_allowed"})
def create(body):
    return queries.view(requests.create(current_user(), body), owner=True)


@bp.get("")
@bp.auth_required(shopper_auth)
@bp.input(MineQuery, location="query", arg_name="query")
@bp.output(AfterSalePage)
@bp.doc(summary="My after-sales, newest first")
def list_mine(query):
    rows = queries.mine(current_user().id, cursor=cursor_int(query["cursor"]), limit=query["limit"] + 1)
    more = len(rows) > query["limit"]
    rows = rows[: query["limit"]]
    return {"items": [queries.view(s, owner=True) for s in rows],
            "next_cursor": str(rows[-1].id) if more and rows else None}


@bp.get("/<after_sale_no>")
@bp.auth_required(shopper_auth)
@bp.output(AfterSaleOut)
@bp.doc(summary="One of my after-sales (with the return code while it waits at the store)")
def get_mine(after_sale_no):
    return queries.view(requests.owned(current_user().id, after_sale_no), owner=True)


@bp.post("/<after_sale_no>/cancel")
@bp.auth_required(shopper_auth)
@bp.output(AfterSaleOut)
@bp.doc(summary="Withdraw my after-sale (until its refund starts)", responses={409: "invalid_transition"})
def cancel(after_sale_no):
    return queries.view(requests.cancel(current_user(), after_sale_no), owner=True)


@bp.post("/<after_sale_no>/escalate")
@bp.auth_required(shopper_auth)
@bp.input(NoteIn, arg_name="body")
@bp.output(AfterSaleOut)
@bp.doc(summary="Ask the merchant's admin to look again at a refused after-sale",
        responses={409: "invalid_transition, aftersale_quantity_exceeded"})
def escalate(after_sale_no, body):
    return queries.view(requests.escalate(current_user(), after_sale_no, body["note"]), owner=True)


@bp.post("/<after_sale_no>/return-shipment")
@bp.auth_required(shopper_auth)
@bp.input(ReturnShippedIn, arg_name="body")
@bp.output(AfterSaleOut)
@bp.doc(summary="I sent the goods back: carrier and tracking number",
        responses={409: "invalid_transition, aftersale_kind_not_allowed"})
def return_shipment(after_sale_no, body):
    return queries.view(requests.ship_return(current_user(), after_sale_no, body["carrier"], body["tracking_no"]),
                        owner=True)
