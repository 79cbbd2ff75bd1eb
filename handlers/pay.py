"""Paying: the mini-program's pay call, WeChat Pay's notifications (staff refunds:
handlers/staff_orders.py)."""
from __future__ import annotations

from apiflask import APIBlueprint, fields
from flask import Response, jsonify, request

from app import metrics
from handlers.access import current_user, shopper_auth
from handlers.schemas import Schema
from models.complaints import notify as complaint_notify_model
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


# WeChat Pay's contract (wechat-protocols.md), not our error shape: a refusal is a 4xx
# with {"code": "FAIL", "message"}, and WeChat sends the notification again later.
_NOTIFY_REFUSED = {401: {
    "description": "Refused: signature, timestamp, platform key or body not valid",
    "content": {"application/json": {"schema": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string", "enum": ["FAIL"]}, "message": {"type": "string"}}}}}}}


@bp.post("/wechat/pay/notify")
@bp.output({}, status_code=204, description="Applied (or already applied): WeChat stops sending it")
@bp.doc(summary="WeChat Pay payment notification (signed, encrypted)", responses=_NOTIFY_REFUSED)
def payment_notify():
    return _answer(notify.handle_payment, "payment")


@bp.post("/wechat/pay/refund-notify")
@bp.output({}, status_code=204, description="Applied (or already applied): WeChat stops sending it")
@bp.doc(summary="WeChat Pay refund notification (signed, encrypted)", responses=_NOTIFY_REFUSED)
def refund_notify():
    return _answer(notify.handle_refund, "refund")


@bp.post("/wechat/pay/complaint-notify")
@bp.output({}, status_code=204, description="Recorded (or already recorded): WeChat stops sending it")
@bp.doc(summary="WeChat Pay complaint notification (消费者投诉2.0; signed, encrypted)", responses=_NOTIFY_REFUSED)
def complaint_notify():
    return _answer(complaint_notify_model.handle, "complaint")


def _answer(handle, kind: str):
    # WeChat's contract, not ours: 204 when accepted (duplicates too), 4xx with
    # {"code": "FAIL"} when rejected; any other failure is a 5xx and WeChat retries.
    # Responses, so the (empty) output schema above leaves them as they are.
    try:
        handle(request.headers, request.get_data(cache=False))
    except notify.Rejected as exc:
        metrics.NOTIFY_REJECTIONS.labels(kind).inc()
        refused = jsonify({"code": "FAIL", "message": str(exc)[:100]})
        refused.status_code = 401
        return refused
    return Response(status=204)
