"""Kind → delivery: the one list of what the outbox dispatcher can deliver.

A kind missing here is never claimed: its rows stay pending (and visible to staff) until
a delivery is registered, then the sweep sends them.
"""
from __future__ import annotations

from models.notifications import shipping, subscribe
from models.notifications.delivery import Delivery

DELIVERIES: dict[str, Delivery] = {
    "subscribe_message": subscribe.DELIVERY,
    "shipping_upload": shipping.DELIVERY,
    # "staff_alert": the official-account work wires it in at merge:
    #     from models.official.alerts import deliver_staff_alert
    #     "staff_alert": Delivery(send=deliver_staff_alert),
    # deliver_staff_alert(payload: dict) -> None raises wechat.errors on failure and is
    # classified exactly like a subscribe message (dispatch.classify).
}
