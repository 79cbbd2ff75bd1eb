"""Putting goods on the road: an order's outbound parcels (the first one ships the order),
and the return parcels of after-sales.

Lock order: an existing parcel before its order (a "signed" push holds its parcel and then
takes the order: models.shipments.tracking). Adding a parcel locks only the order (a new
row locks no other parcel); correcting one takes the parcel first."""
from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import current_app
from sqlalchemy import select

from app.crypto import cipher
from app.extensions import db
from models import audit, outbox
from models.orders import lifecycle
from models.orders.lifecycle import WrongFulfillment
from models.orders.status import Actor, Outcome, Status
from models.orders.tables import Order
from models.outbox.tables import OutboxMessage
from models.pickup.codes import lock_order
from models.shipments.errors import ParcelDuplicate, ParcelItemsInvalid, ParcelNotShippable
from models.shipments.status import PARCELS
from models.shipments.tables import Parcel, ParcelItem

# After the first parcel, more may leave while the order is on its way.
_SHIPPING = (Status.shipped.value, Status.delivered.value)


def kuaidi100_company(carrier: str) -> str:
    """快递100's company code for a WeChat express_company code; "" lets 快递100 guess."""
    known = current_app.config["KUAIDI100_CARRIERS"]
    return known.get(carrier.upper(), carrier.lower() if carrier.isascii() and carrier.islower() else "")


def push_salt(token: str) -> str:
    """The salt a parcel's pushes are signed with (§10.2): derived, never stored."""
    return push_salts(token)[0]


def push_salts(token: str) -> list[str]:
    """The salts a push may be signed with: `push_salt`, and during a key rotation the
    previous key's too (parcels subscribed before it). KUAIDI100_SALT, when set, is the
    only one: it does not change with FIELD_ENCRYPTION_KEY."""
    secret = current_app.config.get("KUAIDI100_SALT")
    keys = [secret.encode()] if secret else cipher().subkeys("kuaidi100-salt")
    return [hmac.new(key, token.encode(), hashlib.sha256).hexdigest()[:32] for key in keys]


def callback_url(token: str) -> str:
    cfg = current_app.config
    base = cfg.get("KUAIDI100_CALLBACK_BASE") or cfg.get("WECHATPAY_NOTIFY_BASE") or cfg["PUBLIC_BASE_URL"]
    return f"{base.rstrip('/')}/callbacks/kuaidi100/{token}"


def outbound_parcels(order_id: int) -> list[Parcel]:
    return list(db.session.scalars(select(Parcel).where(Parcel.order_id == order_id, Parcel.direction == "outbound")
                                   .order_by(Parcel.id)))


def shipped_qty(parcels: list[Parcel]) -> dict[int, int]:
    """Units of each order line already in an outbound parcel."""
    out: dict[int, int] = {}
    for parcel in parcels:
        for item in parcel.items:
            out[item.order_item_id] = out.get(item.order_item_id, 0) + item.qty
    return out


def ship_order(order: Order, actor: Actor, staff, *, carrier: str, tracking_no: str) -> Outcome:
    """The staff ship call of an order (the whole order in one parcel): its first parcel.
    Once a parcel has left, asking again changes nothing (corrections: `correct_first_parcel`)."""
    if order.fulfillment != "delivery":
        raise WrongFulfillment(details={"fulfillment": order.fulfillment})
    order = lock_order(order.id, with_items=True)
    if outbound_parcels(order.id):
        return Outcome(False, order.status)
    add_parcel(order, actor, staff, carrier=carrier, tracking_no=tracking_no, items=None)
    return Outcome(True, order.status)


def add_parcel(order: Order, actor: Actor, staff, *, carrier: str, tracking_no: str,
               items: list[dict] | None) -> tuple[Parcel, bool]:
    """One more outbound parcel with `items` ([{order_item_id, qty}]; None: everything not
    yet shipped). The first one ships the order (stock deducted, WeChat told); later ones
    tell WeChat again, in split-delivery mode. The same tracking number again is a repeat:
    (that parcel, False)."""
    if order.fulfillment != "delivery":
        raise WrongFulfillment(details={"fulfillment": order.fulfillment})
    order = lock_order(order.id, with_items=True)
    existing = outbound_parcels(order.id)
    for parcel in existing:
        if parcel.tracking_no == tracking_no:
            if parcel.carrier != carrier:
                raise ParcelDuplicate(details={"tracking_no": tracking_no})
            return parcel, False
    lines = _lines(order, existing, items)
    if existing and order.status not in _SHIPPING:
        raise ParcelNotShippable(details={"status": order.status})
    if not existing:
        lifecycle.ship(order, actor, carrier, tracking_no)  # refuses an order not paid (409)
    parcel = _new_parcel(order, "outbound", carrier, tracking_no, lines)
    if existing:
        # WeChat hears of every parcel; the body lists them all (split-delivery mode).
        outbox.enqueue("shipping_upload", {"order_id": order.id, "logistics_type": 1},
                       dedupe_key=f"shipping_upload:{order.id}:1:p{parcel.id}")
    if current_app.config["WECHAT_TRACE_WAYBILL"]:
        outbox.enqueue("wechat_trace_waybill", {"parcel_id": parcel.id}, dedupe_key=f"trace_waybill:{parcel.id}")
    if staff is not None:
        audit.record("order.add_parcel", parcel, actor=staff,
                     changes={"order_no": order.order_no, "carrier": carrier, "tracking_no": tracking_no,
                              "items": [[line_id, qty] for line_id, qty in lines]})
    return parcel, True


def add_return_parcel(order: Order, *, after_sale_no: str, carrier: str, tracking_no: str) -> Parcel:
    """The shopper sent goods back for an after-sale: a return parcel, tracked like any
    other; when it is signed for, `events.return_signed` tells the after-sales domain.
    The same after-sale and number again returns the parcel it made."""
    order = lock_order(order.id)
    found = db.session.scalars(select(Parcel).where(
        Parcel.order_id == order.id, Parcel.direction == "return", Parcel.after_sale_no == after_sale_no,
        Parcel.tracking_no == tracking_no)).first()
    if found is not None:
        return found
    parcel = _new_parcel(order, "return", carrier, tracking_no, [], after_sale_no=after_sale_no)
    return parcel


def correct_first_parcel(order: Order, staff, *, carrier: str, tracking_no: str) -> Outcome:
    """Staff fix the shipped order's carrier or number (`lifecycle.correct_shipment`): its
    first parcel follows, and is subscribed again under the new number."""
    first = db.session.scalars(select(Parcel).where(Parcel.order_id == order.id, Parcel.direction == "outbound")
                               .order_by(Parcel.id).limit(1).with_for_update()).first()  # before the order
    outcome = lifecycle.correct_shipment(order, staff, carrier, tracking_no)
    if first is None or not outcome.applied:
        return outcome
    if (first.carrier, first.tracking_no) != (carrier, tracking_no):
        first.carrier, first.tracking_no, first.kuaidi100_com = carrier, tracking_no, kuaidi100_company(carrier)
        first.subscribed_at = first.subscribe_error = None
        _subscribe(first)
    return outcome


def _lines(order: Order, existing: list[Parcel], items: list[dict] | None) -> list[tuple[int, int]]:
    """(order line id, qty) of a new parcel, checked against what is left to ship."""
    shipped = shipped_qty(existing)
    left = {item.id: item.qty - shipped.get(item.id, 0) for item in order.items}
    if items is None:
        lines = [(line_id, qty) for line_id, qty in left.items() if qty > 0]
    else:
        wanted: dict[int, int] = {}
        for item in items:
            wanted[item["order_item_id"]] = wanted.get(item["order_item_id"], 0) + item["qty"]
        bad = {line_id: qty for line_id, qty in wanted.items() if qty <= 0 or qty > left.get(line_id, 0)}
        if bad:
            raise ParcelItemsInvalid(details={"lines": [{"order_item_id": k, "qty": v, "left": left.get(k, 0)}
                                                        for k, v in sorted(bad.items())]})
        lines = sorted(wanted.items())
    if not lines:
        raise ParcelItemsInvalid(details={"lines": [], "left": 0})
    return lines


def _new_parcel(order: Order, direction: str, carrier: str, tracking_no: str, lines, *,
                after_sale_no: str | None = None) -> Parcel:
    parcel = Parcel(token=secrets.token_urlsafe(16)[:22], order_id=order.id, store_id=order.store_id,
                    direction=direction, after_sale_no=after_sale_no, carrier=carrier,
                    kuaidi100_com=kuaidi100_company(carrier), tracking_no=tracking_no,
                    status=PARCELS.initial_status("pending"))
    db.session.add(parcel)
    db.session.flush()
    for line_id, qty in lines:
        db.session.add(ParcelItem(parcel_id=parcel.id, order_item_id=line_id, qty=qty))
    if lines:
        db.session.flush()
        db.session.refresh(parcel, ["items"])
    _subscribe(parcel)
    return parcel


def _subscribe(parcel: Parcel) -> None:
    """Ask 快递100 for pushes of this parcel, after the commit (the outbox). Each request
    is its own row: a corrected number or a resubscription after `abort` is a new one."""
    count = db.session.scalar(select(db.func.count()).select_from(OutboxMessage).where(
        OutboxMessage.dedupe_key.like(f"kuaidi100_subscribe:{parcel.id}:%"))) or 0
    outbox.enqueue("kuaidi100_subscribe", {"parcel_id": parcel.id},
                   dedupe_key=f"kuaidi100_subscribe:{parcel.id}:{count + 1}")
