"""Staff work on their stores' after-sales: the queue by deadline, one after-sale, approve,
reject, receive (by carrier, or at the counter by return code), refuse, close; the breach
report."""
from __future__ import annotations

from apiflask import APIBlueprint

from handlers.access import can, current_staff, staff_auth
from handlers.aftersale_schemas import (AfterSaleList, AfterSaleOut, NoteIn, QueueQuery, ReceiveByCodeIn,
                                        PhotoLinkOut, ReceiveIn, RequiredNoteIn, ReturnCodeIn)
from models.aftersales import decisions, deadlines, photos, queries, returns
from models.staff import abilities

bp = APIBlueprint("staff_aftersales", __name__, url_prefix="/api/staff/aftersales", tag="Staff after-sales")


@bp.get("")
@bp.auth_required(staff_auth)
@can("aftersales.read")
@bp.input(QueueQuery, location="query", arg_name="query")
@bp.output(AfterSaleList)
@bp.doc(summary="Open after-sales of my stores, the nearest deadline first")
def queue(query):
    rows = queries.queue(current_staff(), store_id=query["store_id"], status=query["status"], limit=query["limit"])
    return {"items": [queries.view(s) for s in rows]}


@bp.get("/breaches")
@bp.auth_required(staff_auth)
@can("aftersales.read")
@bp.output(AfterSaleList)
@bp.doc(summary="After-sales past their deadline, and those the timer acted on")
def breaches():
    rows = deadlines.breaches(abilities.readable_store_ids(current_staff()))
    return {"items": [queries.view(s) for s in rows]}


@bp.get("/<after_sale_no>")
@bp.auth_required(staff_auth)
@can("aftersales.read")
@bp.output(AfterSaleOut)
@bp.doc(summary="One after-sale of my stores")
def get_one(after_sale_no):
    return queries.view(queries.staff_one(current_staff(), after_sale_no))


@bp.post("/<after_sale_no>/approve")
@bp.auth_required(staff_auth)
@can("aftersales.decide")
@bp.input(NoteIn, arg_name="body")
@bp.output(AfterSaleOut)
@bp.doc(summary="Approve: refund only is refunded at once; returns wait for the goods",
        responses={409: "invalid_transition, refund_exceeds_paid, refund_limit_reached"})
def approve(after_sale_no, body):
    return queries.view(decisions.approve(current_staff(), after_sale_no, body["note"]))


@bp.post("/<after_sale_no>/reject")
@bp.auth_required(staff_auth)
@can("aftersales.decide")
@bp.input(RequiredNoteIn, arg_name="body")
@bp.output(AfterSaleOut)
@bp.doc(summary="Reject, saying why (the shopper may escalate)", responses={409: "invalid_transition"})
def reject(after_sale_no, body):
    return queries.view(decisions.reject(current_staff(), after_sale_no, body["note"]))


@bp.post("/<after_sale_no>/close")
@bp.auth_required(staff_auth)
@can("aftersales.arbitrate")
@bp.input(RequiredNoteIn, arg_name="body")
@bp.output(AfterSaleOut)
@bp.doc(summary="Close an escalated after-sale, or one whose goods never came", responses={409: "invalid_transition"})
def close(after_sale_no, body):
    return queries.view(decisions.close(current_staff(), after_sale_no, body["note"]))


@bp.post("/<after_sale_no>/receive")
@bp.auth_required(staff_auth)
@can("aftersales.decide")
@bp.input(ReceiveIn, arg_name="body")
@bp.output(AfterSaleOut)
@bp.doc(summary="The return arrived: units received and resellable (restocked), then refund or replacement",
        responses={409: "invalid_transition, out_of_stock", 422: "aftersale_receipt_invalid"})
def receive(after_sale_no, body):
    return queries.view(returns.receive(current_staff(), after_sale_no, body["items"]))


@bp.post("/<after_sale_no>/refuse-receipt")
@bp.auth_required(staff_auth)
@can("aftersales.decide")
@bp.input(RequiredNoteIn, arg_name="body")
@bp.output(AfterSaleOut)
@bp.doc(summary="Refuse what came back, saying why (the shopper may escalate)", responses={409: "invalid_transition"})
def refuse_receipt(after_sale_no, body):
    return queries.view(returns.refuse_receipt(current_staff(), after_sale_no, body["note"]))


@bp.post("/returns/preview")
@bp.auth_required(staff_auth)
@can("aftersales.receive")
@bp.input(ReturnCodeIn, arg_name="body")
@bp.output(AfterSaleOut)
@bp.doc(summary="What a return code at the counter is for (changes nothing)",
        responses={404: "return_code_invalid: unknown, used, or another store's"})
def preview_return(body):
    return queries.view(returns.find_by_code(current_staff(), body["code"]))


@bp.post("/returns/receive")
@bp.auth_required(staff_auth)
@can("aftersales.receive")
@bp.input(ReceiveByCodeIn, arg_name="body")
@bp.output(AfterSaleOut)
@bp.doc(summary="Receive a return at the counter by its code; the refund is requested at once",
        responses={404: "return_code_invalid", 409: "invalid_transition", 422: "aftersale_receipt_invalid"})
def receive_return(body):
    return queries.view(returns.receive_at_store(current_staff(), body["code"], body["items"]))


@bp.get("/<after_sale_no>/photos/<int:photo_id>/link")
@bp.auth_required(staff_auth)
@can("aftersales.read")
@bp.output(PhotoLinkOut)
@bp.doc(summary="A short-lived link to one of an after-sale's photos")
def photo_link(after_sale_no, photo_id):
    return photos.link(queries.staff_one(current_staff(), after_sale_no), photo_id)
