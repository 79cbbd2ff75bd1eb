"""A mini-program code (wxa/getwxacodeunlimit) for an order: scanned by a clerk, it opens
the verify page (PICKUP_WXACODE_PAGE) with a scene that the page sends back as the
`qr_payload`. The scene is random (payloads.new_scene, ≤ 32 characters) and stored only
as a keyed hash: it names neither the order nor the code. The latest one counts; a
reissued, used or expired code takes it down with it. It is a static image, so it
stands in for a V2 QR — a V3 order refuses it.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import update

from app import wechat
from app.extensions import db
from models import audit
from models.orders.status import Status
from models.orders.tables import Order
from models.pickup import codes, payloads
from models.pickup.errors import DynamicQrOnly, PickupLocked, PickupNotReady
from models.pickup.tables import PickupCode


def issue(shopper, order: Order) -> bytes:
    """PNG bytes. WeChat is called before anything is written, so no row lock is held
    while it answers; the scene's hash is stored after, only if the code is still live."""
    if order.status != Status.ready_for_pickup.value:
        codes.raise_for_status(order)
    code = codes.live_code(order.id)
    if code is None:
        raise PickupNotReady(details={"order_no": order.order_no, "status": order.status})
    if code.locked_at is not None:
        raise PickupLocked(details={"order_no": order.order_no})
    if code.level >= 3:
        raise DynamicQrOnly(details={"order_no": order.order_no, "level": code.level})
    scene = payloads.new_scene()
    image = wechat.call("getwxacodeunlimit", wechat.miniprogram().get_wxa_code_unlimited, scene,
                        page=current_app.config["PICKUP_WXACODE_PAGE"])
    stored = db.session.execute(update(PickupCode).where(PickupCode.id == code.id, PickupCode.status == "live")
                                .values(wxa_hash=payloads.scene_hash(scene))
                                .execution_options(synchronize_session=False))
    if stored.rowcount != 1:  # reissued or handed over while WeChat drew it
        raise PickupNotReady(details={"order_no": order.order_no})
    audit.record("pickup.wxacode", order, actor=shopper, changes={"version": code.version})
    return image
