"""The parcel side effects the outbox delivers after commit (models/outbox/registry.py):

- `kuaidi100_subscribe` {parcel_id}: ask 快递100 for pushes (§10.1). 501 "already
  subscribed" counts as done; a bad key, bad data or an unknown carrier (600/601/700/701/
  702) fails for good (the 48 h silence check then queues the parcel for staff); 500 and
  no answer retry.
- `wechat_trace_waybill` {parcel_id}: register the waybill with WeChat's logistics
  component (§9.2); the token is kept on the parcel for the mini-program.
- `wechat_confirm_receive` {order_id, received_time}: WeChat reminds the buyer to
  confirm receipt (§9.4), once per order (the row's dedupe key). A refusal saying the sign
  time is unreasonable or the order unknown fails for good; "already reminded" (a retry
  after a lost answer) is skipped.

Personal data (the receiver's phone, which some carriers need) is read in `prepare` and
goes straight to the call; it is never stored in the outbox row."""
from __future__ import annotations

from dataclasses import dataclass
from flask import current_app
from sqlalchemy import select

from app import wechat
from app.extensions import db
from models.base import utcnow
from models.notifications.templates import items_summary
from models.orders.queries import delivery_address
from models.orders.tables import Order, OrderItem
from models.outbox.delivery import Claim, Delivery, Permanent, Result, Skip
from models.payments.tables import Payment
from models.shipments.parcels import callback_url, push_salt
from models.shipments.tables import Parcel
from models.stores import Store
from models.users import User
from wechat.errors import WeChatAPIError
from wechat.kuaidi100 import Kuaidi100Error

# §9.4: 10060029 sign time unreasonable, 10060001 payment order unknown: asking again
# cannot help. ALREADY_REMINDED: the code WeChat answers a second reminder of one order
# (UNCONFIRMED; the sandbox's).
CONFIRM_PERMANENT = frozenset({10060029, 10060001})
ALREADY_REMINDED = 10060030
# Carriers 快递100 asks a phone of (UNCONFIRMED beyond 顺丰, §10.1).
PHONE_COMPANIES = frozenset({"shunfeng", "shunfengkuaiyun"})
GOODS_NAME_MAX = 60


def _parcel(claim: Claim) -> Parcel:
    parcel = db.session.get(Parcel, claim.payload.get("parcel_id"))
    if parcel is None:
        raise Permanent("parcel_missing")
    return parcel


# -- 快递100 subscription ----------------------------------------------------------------

@dataclass(frozen=True)
class Subscribe:
    company: str
    number: str
    callback_url: str
    salt: str
    phone: str | None


def prepare_subscribe(claim: Claim) -> Subscribe:
    parcel = _parcel(claim)
    if wechat.kuaidi100() is None:
        raise Skip("kuaidi100_not_configured")
    if parcel.tracking_ended_at is not None:
        raise Skip("tracking_ended")
    phone = None
    if parcel.kuaidi100_com in PHONE_COMPANIES or not parcel.kuaidi100_com:
        phone = _receiver_phone(parcel)
    return Subscribe(parcel.kuaidi100_com, parcel.tracking_no, callback_url(parcel.token), push_salt(parcel.token),
                     phone)


def send_subscribe(prepared: Subscribe) -> str:
    try:
        return wechat.kuaidi100().subscribe(company=prepared.company, number=prepared.number,
                                            callback_url=prepared.callback_url, salt=prepared.salt,
                                            phone=prepared.phone)
    except Kuaidi100Error as exc:
        if exc.permanent:
            raise Permanent(f"kuaidi100 returnCode {exc.return_code}") from None
        raise


def finish_subscribe(claim: Claim, prepared, result: Result) -> None:
    parcel = db.session.get(Parcel, claim.payload.get("parcel_id"))
    if parcel is None:
        return
    if result.status == "sent":
        parcel.subscribed_at, parcel.subscribe_error = utcnow(), None
    elif result.status == "failed":
        parcel.subscribe_error = (result.reason or "failed")[:64]


def _receiver_phone(parcel: Parcel) -> str | None:
    """The phone 快递100 asks for 顺丰 (only its last 4 digits are checked, per integrators:
    UNCONFIRMED): the receiver's for an outbound parcel, the store's for a return."""
    order = db.session.get(Order, parcel.order_id)
    if parcel.direction == "return":
        store = db.session.get(Store, parcel.store_id)
        return store.phone if store else None
    return (delivery_address(order) or {}).get("phone") if order else None


# -- WeChat logistics: trace_waybill -------------------------------------------------------

def prepare_trace(claim: Claim) -> dict:
    parcel = _parcel(claim)
    order = db.session.get(Order, parcel.order_id)
    payment = db.session.scalars(select(Payment).where(Payment.order_id == order.id)).first()
    if payment is None or payment.status != "paid" or not payment.transaction_id:
        # Only waybills of orders paid in this mini-program may be registered (§9.1).
        raise Skip("order_not_paid_by_wechat")
    phone = _receiver_phone(parcel)
    if not phone:
        raise Permanent("no_receiver_phone")
    openid = db.session.scalar(select(User.openid).where(User.id == order.user_id))
    cfg = current_app.config
    image = cfg.get("WECHAT_WAYBILL_GOODS_IMAGE") or f"{cfg['PUBLIC_BASE_URL']}/console/favicon.ico"
    lines = {line.id: line for line in db.session.scalars(select(OrderItem).where(OrderItem.order_id == order.id))}
    goods = [{"goods_name": f"{lines[i.order_item_id].name} {lines[i.order_item_id].spec}".strip()[:GOODS_NAME_MAX],
              "goods_img_url": image} for i in parcel.items if i.order_item_id in lines]
    if not goods:
        goods = [{"goods_name": items_summary(order.items)[:GOODS_NAME_MAX], "goods_img_url": image}]
    body = {"openid": openid, "receiver_phone": phone, "waybill_id": parcel.tracking_no,
            "goods_info": {"detail_list": goods}, "trans_id": payment.transaction_id,
            "order_detail_path": cfg["WECHAT_WAYBILL_DETAIL_PATH"].format(order_no=order.order_no)}
    if parcel.carrier.isascii():
        body["delivery_id"] = parcel.carrier.upper()
    return body


def send_trace(body: dict) -> str:
    return wechat.miniprogram().trace_waybill(body)


def finish_trace(claim: Claim, prepared, result: Result) -> None:
    if result.status == "sent" and isinstance(result.value, str):
        parcel = db.session.get(Parcel, claim.payload.get("parcel_id"))
        if parcel is not None:
            parcel.waybill_token = result.value[:128]


# -- WeChat: notify_confirm_receive ---------------------------------------------------------

def prepare_confirm(claim: Claim) -> dict:
    order = db.session.get(Order, claim.payload.get("order_id"))
    if order is None:
        raise Permanent("order_missing")
    payment = db.session.scalars(select(Payment).where(Payment.order_id == order.id)).first()
    if payment is None or payment.status != "paid":
        raise Skip("order_not_paid_by_wechat")
    received = int(claim.payload.get("received_time") or 0)
    if order.shipped_at is not None:
        # WeChat refuses a sign time before the shipping time for good (10060029); a
        # carrier clock (or staff entering the shipment late) can put it there.
        received = max(received, int(order.shipped_at.timestamp()) + 1)
    body = {"received_time": received}
    if payment.transaction_id:
        body["transaction_id"] = payment.transaction_id
    else:
        body.update(merchant_id=current_app.config["WECHATPAY_MCHID"], merchant_trade_no=payment.out_trade_no)
    return body


def send_confirm(body: dict) -> None:
    try:
        wechat.miniprogram().notify_confirm_receive(body)
    except WeChatAPIError as exc:
        if exc.errcode == ALREADY_REMINDED:
            raise Skip("already_reminded") from None
        if exc.errcode in CONFIRM_PERMANENT:
            raise Permanent(f"errcode {exc.errcode}") from None
        raise


SUBSCRIBE = Delivery(send=send_subscribe, prepare=prepare_subscribe, finish=finish_subscribe)
TRACE_WAYBILL = Delivery(send=send_trace, prepare=prepare_trace, finish=finish_trace)
CONFIRM_RECEIVE = Delivery(send=send_confirm, prepare=prepare_confirm)

