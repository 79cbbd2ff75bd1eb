"""Paying: the mini-program's pay call, WeChat Pay's notifications, staff refunds."""
from __future__ import annotations

from apiflask import APIBlueprint, fields, validators
from flask import request

from handlers.access import current_staff, current_user, roles, shopper_auth, staff_auth
from app.errors import InvalidRequest
from handlers.schemas import Schema, StrictSchema, idempotency_key
from models.orders.placement import request_fingerprint
from models.payments import checkout, notify, refunds

bp = APIBlueprint("pay", __name__, tag="Payments")


class PayParams(Schema):
    appId = fields.String()
    timeStamp = fields.String()
    nonceStr = fields.String()
    package = fields.String()
    signType = fields.String()
    paySign = fields.String()


class RefundIn(StrictSchema):
    amount_fen = fields.Integer(required=True, strict=True, validate=validators.Range(min=1))
    reason = fields.String(load_default=None, validate=validators.Length(max=80))


class RefundOut(Schema):
    out_refund_no = fields.String()
    amount_fen = fields.Integer()
    reason = fields.String(allow_none=True)
    status = fields.String()
    automatic = fields.Boolean()
    created_at = fields.DateTime()
    succeeded_at = fields.DateTime(allow_none=True)


@bp.post("/api/orders/<order_no>/pay")
@bp.auth_required(shopper_auth)
@bp.output(PayParams)
@bp.doc(summary="Parameters for wx.requestPayment (a JSAPI prepay, reused while valid)",
        responses={409: "invalid_transition (not unpaid)", 503: "wechat_unavailable"})
def pay(order_no):
    return checkout.start_payment(current_user().id, order_no)


@bp.post("/wechat/pay/notify")
@bp.doc(summary="WeChat Pay payment notification (signed, encrypted)")
def payment_notify():
    return _answer(notify.handle_payment)


@bp.post("/wechat/pay/refund-notify")
@bp.doc(summary="WeChat Pay refund notification (signed, encrypted)")
def refund_notify():
    return _answer(notify.handle_refund)


def _answer(handle):
    # WeChat's contract, not ours: 204 when accepted (duplicates too), 4xx with
    # {"code": "FAIL"} when rejected; any other failure is a 5xx and WeChat retries.
    try:
        handle(request.headers, request.get_data(cache=False))
    except notify.Rejected as exc:
        return {"code": "FAIL", "message": str(exc)[:100]}, 401
    return "", 204


@bp.post("/api/staff/orders/<order_no>/refunds")
@bp.auth_required(staff_auth)
@roles("admin", "manager")
@bp.input(RefundIn, arg_name="body")
@bp.output(RefundOut, status_code=201)
@bp.doc(summary="Refund all or part of a paid order (Idempotency-Key required)",
        responses={409: "refund_exceeds_paid", 422: "idempotency_key_reused"})
def refund(order_no, body):
    key = idempotency_key()
    if key is None:
        raise InvalidRequest("Send an Idempotency-Key with every refund.", details={"header": "Idempotency-Key"})
    result, _ = refunds.request_refund(current_staff(), order_no, amount_fen=body["amount_fen"],
                                       reason=body["reason"], idempotency_key=key,
                                       fingerprint=request_fingerprint(body))
    return result
