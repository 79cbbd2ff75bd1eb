"""The shopper's after-sales: ask, list, read, cancel, escalate, say how a return was shipped."""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import request, send_file

from handlers.access import current_user, shopper_auth
from handlers.aftersale_schemas import (AfterSaleIn, AfterSaleOut, AfterSalePage, MineQuery, NoteIn, PhotoLinkOut,
                                        ReturnShippedIn)
from handlers.schemas import cursor_int
from models.aftersales import photos, queries, requests

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


@bp.post("/<after_sale_no>/photos")
@bp.auth_required(shopper_auth)
@bp.output(AfterSaleOut, status_code=201)
@bp.doc(summary="Add a photo: the image itself as the body (image/jpeg, image/png or image/webp, ≤ 5 MB; "
                "at most 9). Its metadata is stripped.",
        responses={409: "too_many_photos", 413: "payload_too_large", 415: "unsupported_media_type",
                   422: "photo_rejected: not a JPEG, PNG or WebP image"})
def add_photo(after_sale_no):
    photos.add(current_user().id, after_sale_no, request.get_data(cache=False))
    return queries.view(requests.owned(current_user().id, after_sale_no), owner=True)


@bp.get("/<after_sale_no>/photos/<int:photo_id>/link")
@bp.auth_required(shopper_auth)
@bp.output(PhotoLinkOut)
@bp.doc(summary="A short-lived link to one of my after-sale's photos")
def photo_link(after_sale_no, photo_id):
    return photos.link(requests.owned(current_user().id, after_sale_no), photo_id)


@bp.get("/photos/<token>")
@bp.doc(summary="A photo by its signed link (no token needed; the link expires)",
        responses={200: {"description": "the image", "content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}},
                   403: "photo_link_invalid: altered or expired"})
def photo(token):
    path, content_type = photos.open_link(token)
    resp = send_file(path, mimetype=content_type, max_age=0)
    resp.headers["Cache-Control"] = "private, no-store"
    return resp
