"""WeChat Pay's notifications: verified on the raw body, decrypted, applied once."""
from __future__ import annotations

from sqlalchemy import select

from app import wechat
from app.extensions import db
from models.payments.apply import apply_transaction
from models.payments.refunds import settle
from models.payments.tables import Refund
from wechat.pay.errors import NotificationRejected


class Rejected(Exception):
    """Not from WeChat Pay (or not readable): answer 4xx, change nothing."""


def handle_payment(headers, body: bytes) -> str:
    envelope = verified(headers, body)
    if envelope.get("event_type") != "TRANSACTION.SUCCESS":
        return "ignored"
    return apply_transaction(envelope["resource"], source="notify")


def handle_refund(headers, body: bytes) -> str:
    envelope = verified(headers, body)
    resource = envelope["resource"]
    refund = db.session.scalars(select(Refund).where(
        Refund.out_refund_no == resource.get("out_refund_no")).with_for_update()).first()
    if refund is None:
        return "unknown_refund"
    settle(refund, resource)
    return refund.status


def verified(headers, body: bytes) -> dict:
    """The envelope with its resource decrypted; Rejected when not from WeChat Pay
    (also for complaint notifications: models/complaints/notify.py)."""
    try:
        return wechat.pay().parse_notification(headers, body)
    except NotificationRejected as exc:
        raise Rejected(exc.reason) from None
