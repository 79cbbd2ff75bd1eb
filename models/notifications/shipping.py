"""Shipping-info upload (protocol doc §8): WeChat holds a mini-program payment's
settlement until told how the goods left. Outbox kind "shipping_upload", payload
{order_id, logistics_type}: 1 express (after shipping), 4 user pickup (after pickup).

The body is built from the order in the claiming transaction and sent after commit. Some
carriers (顺丰: SHIPPING_CONTACT_CARRIERS) are refused without the masked phones of sender
and receiver (`contact`). An upload refused for good is a staff alert; staff correct the
shipment (`lifecycle.correct_shipment`), which sends it again."""
from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import select

from app import wechat
from app.extensions import db
from models.base import utcnow
from models.outbox.delivery import Claim, Delivery, Permanent, Result, Skip
from models import outbox
from models.notifications.templates import items_summary
from models.orders.queries import delivery_address
from models.orders.tables import Order
from models.payments.tables import Payment
from models.shipments.tables import Parcel
from models.stores import Store
from models.users import User, mask_phone
from wechat.subscribe_rules import CHINA_TZ

ITEM_DESC_MAX = 120  # UNCONFIRMED limit; integrations keep it short


def prepare(claim: Claim) -> dict:
    payload = claim.payload
    order = db.session.get(Order, payload.get("order_id"))
    if order is None:
        raise Permanent("order_missing")
    logistics_type = payload.get("logistics_type")
    if logistics_type not in (1, 2, 3, 4):
        raise Permanent(f"bad logistics_type {logistics_type!r}")
    payment = db.session.scalars(select(Payment).where(Payment.order_id == order.id)).first()
    if payment is None or payment.status != "paid":
        # Paid by pickup card (or the money went back): nothing at WeChat to settle, and
        # nothing for staff to fix — skipped, not failed.
        raise Skip("order_not_paid_by_wechat")
    openid = db.session.scalar(select(User.openid).where(User.id == order.user_id))
    return build_body(order, payment, openid, logistics_type, utcnow())


def build_body(order, payment, openid: str, logistics_type: int, at: datetime) -> dict:
    parcels = _parcels(order) if logistics_type == 1 else []
    if logistics_type != 1:
        items, all_shipped = [{"item_desc": items_summary(order.items)[:ITEM_DESC_MAX]}], True
    elif parcels:
        items, all_shipped = _parcel_items(order, parcels)
    else:  # shipped before parcels were recorded: the order's own carrier and number
        items, all_shipped = [_express_item(order, order.carrier, order.tracking_no, order.items)], True
    if payment.transaction_id:
        key = {"order_number_type": 2, "transaction_id": payment.transaction_id}
    else:
        key = {"order_number_type": 1, "mchid": current_app.config["WECHATPAY_MCHID"],
               "out_trade_no": payment.out_trade_no}
    body = {"order_key": key, "logistics_type": logistics_type, "delivery_mode": 1,
            "shipping_list": items, "upload_time": rfc3339_ms(at), "payer": {"openid": openid}}
    if len(items) > 1 or not all_shipped:
        # Split delivery (分拆发货): every parcel so far; WeChat tells the buyer the goods
        # have all left only once is_all_delivered is true.
        body.update(delivery_mode=2, is_all_delivered=all_shipped)
    return body


def _parcels(order) -> list:
    return list(db.session.scalars(select(Parcel).where(Parcel.order_id == order.id, Parcel.direction == "outbound")
                                   .order_by(Parcel.id)))


def _parcel_items(order, parcels) -> tuple[list[dict], bool]:
    lines = {line.id: line for line in order.items}
    shipped: dict[int, int] = {}
    items = []
    for parcel in parcels:
        goods = []
        for part in parcel.items:
            shipped[part.order_item_id] = shipped.get(part.order_item_id, 0) + part.qty
            line = lines.get(part.order_item_id)
            if line is not None:
                goods.append(SimpleNamespace(name=line.name, spec=line.spec, qty=part.qty))
        items.append(_express_item(order, parcel.carrier, parcel.tracking_no, goods))
    return items, all(shipped.get(line.id, 0) >= line.qty for line in order.items)


def _express_item(order, carrier: str | None, tracking_no: str | None, goods) -> dict:
    item = {"item_desc": items_summary(goods)[:ITEM_DESC_MAX], "tracking_no": tracking_no or "",
            "express_company": carrier or ""}
    if (carrier or "").upper() in current_app.config["SHIPPING_CONTACT_CARRIERS"]:
        item["contact"] = _contact(order)
    return item


def _contact(order) -> dict:
    """The masked phones WeChat asks for (`138****5678`): the store's, the receiver's."""
    store = db.session.get(Store, order.store_id)
    receiver = (delivery_address(order) or {}).get("phone")
    return {key: mask_phone(phone) for key, phone in (("consignor_contact", store.phone if store else None),
                                                     ("receiver_contact", receiver)) if phone}


def failed_for_good(claim: Claim, prepared, result: Result) -> None:
    """A refused upload holds the merchant's settlement: staff must hear of it."""
    if result.status == "failed":
        order = db.session.get(Order, claim.payload.get("order_id"))
        outbox.enqueue("staff_alert", {"event": "shipping_upload_failed", "order_id": claim.payload.get("order_id"),
                                       "store_id": order.store_id if order else None,
                                       "reason": (result.reason or "")[:64]},
                       dedupe_key=f"shipping_upload_failed:{claim.id}:{claim.attempt}")


def rfc3339_ms(at: datetime) -> str:
    """`2024-05-01T12:00:00.000+08:00`: China time with milliseconds, as §8 shows."""
    return at.astimezone(CHINA_TZ).isoformat(timespec="milliseconds")


def send(body: dict) -> None:
    wechat.miniprogram().upload_shipping_info(body)


DELIVERY = Delivery(send=send, prepare=prepare, finish=failed_for_good)
