"""An order's parcels as the shopper and staff see them: our own record of the trace,
never a carrier call per view."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from models.orders.tables import OrderItem
from models.shipments.tables import Parcel, ParcelEvent

# A long trace is cut for the page (a parcel has tens of nodes, rarely more).
EVENTS_SHOWN = 100


def order_lines(order) -> list[dict]:
    """Each line of the order with how many units have left in outbound parcels (what the
    staff's shipment form splits)."""
    shipped: dict[int, int] = {}
    parcels = db.session.scalars(select(Parcel).where(Parcel.order_id == order.id, Parcel.direction == "outbound"))
    for parcel in parcels:
        for item in parcel.items:
            shipped[item.order_item_id] = shipped.get(item.order_item_id, 0) + item.qty
    return [{"order_item_id": line.id, "name": line.name, "spec": line.spec, "qty": line.qty,
             "shipped_qty": shipped.get(line.id, 0), "left_qty": line.qty - shipped.get(line.id, 0)}
            for line in db.session.scalars(select(OrderItem).where(OrderItem.order_id == order.id)
                                           .order_by(OrderItem.id))]


def order_parcels(order) -> list[dict]:
    parcels = list(db.session.scalars(select(Parcel).where(Parcel.order_id == order.id).order_by(Parcel.id)))
    if not parcels:
        return []
    names = {i.id: (i.name, i.spec) for i in db.session.scalars(select(OrderItem).where(OrderItem.order_id == order.id))}
    events: dict[int, list] = {p.id: [] for p in parcels}
    for event in db.session.scalars(select(ParcelEvent).where(ParcelEvent.parcel_id.in_(list(events)))
                                    .order_by(ParcelEvent.at.desc(), ParcelEvent.id.desc())):
        if len(events[event.parcel_id]) < EVENTS_SHOWN:
            events[event.parcel_id].append({"at": event.at, "context": event.context, "area": event.area})
    return [{
        "id": p.id, "direction": p.direction, "after_sale_no": p.after_sale_no, "carrier": p.carrier,
        "tracking_no": p.tracking_no, "status": p.status, "waybill_token": p.waybill_token,
        "created_at": p.created_at, "collected_at": p.collected_at, "signed_at": p.signed_at,
        "last_event_at": p.last_event_at,
        "items": [{"order_item_id": i.order_item_id, "name": names.get(i.order_item_id, ("", ""))[0],
                   "spec": names.get(i.order_item_id, ("", ""))[1], "qty": i.qty} for i in p.items],
        "events": events[p.id]} for p in parcels]
