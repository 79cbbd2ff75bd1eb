"""Kind → delivery: the one list of what the outbox dispatcher can deliver.

A kind missing here is never claimed: its rows stay pending (and visible to staff) until
a delivery is registered, then the sweep sends them.
"""
from __future__ import annotations

from models.notifications import shipping, subscribe
from models.outbox.delivery import Claim, Delivery
from models.official.alerts import deliver_staff_alert
from models.shipments import deliveries as parcels
from models.partners import webhooks


def _alert_with_identity(claim: Claim) -> dict:
    # The row id is the alert's identity: per-recipient records keyed on it make a retry
    # skip the staff already served.
    return {**claim.payload, "outbox_id": claim.id}


DELIVERIES: dict[str, Delivery] = {
    "subscribe_message": subscribe.DELIVERY,
    "shipping_upload": shipping.DELIVERY,
    # Template messages to bound staff; raises wechat.errors, classified like the rest.
    "staff_alert": Delivery(send=deliver_staff_alert, prepare=_alert_with_identity),
    # Parcels (models/shipments/deliveries.py): 快递100's subscription, WeChat's logistics
    # component, and the buyer's confirm-receipt reminder.
    "kuaidi100_subscribe": parcels.SUBSCRIBE,
    "wechat_trace_waybill": parcels.TRACE_WAYBILL,
    "wechat_confirm_receive": parcels.CONFIRM_RECEIVE,
    # A partner event fanned out into webhook deliveries (sent by models/partners/delivery.py).
    "partner_event": webhooks.FAN_OUT,
}
