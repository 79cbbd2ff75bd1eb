"""Paying: the mini-program's pay call, WeChat Pay's notifications (staff refunds:
handlers/staff_orders.py)."""
from __future__ import annotations

from apiflask import APIBlueprint, fields
from flask import request

from handlers.access import current_user, shopper_auth
from handlers.schemas import Schema
from models.payments import checkout, notify

bp = APIBlueprint("pay", __name__, tag="Payments")


class PayParams(Schema):
    appId = fields.String()
    timeStamp = fields.String()
    nonceStr = fields.String()
    package = fields.String()
    signType = fields.String()
    paySign = fields.String()


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
