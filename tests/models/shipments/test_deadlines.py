"""The auto-confirm countdown starts at delivery: a parcel signed for delivers the order at
the carrier's sign time, and the orders sweep completes it DELIVERY_AUTO_CONFIRM_DAYS
later; an order never signed for waits SHIPPED_AUTO_CONFIRM_DAYS after shipping."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from app.extensions import db
from models.base import utcnow
from models.orders.deadlines import sweep
from models.orders.tables import Order
from tests.models.shipments.conftest import push
from tests.models.shipments.test_tracking import order_of, shipped


def test_the_countdown_starts_when_the_parcel_is_signed(app, client, sandbox, shop2, clerk):
    days = app.config["DELIVERY_AUTO_CONFIRM_DAYS"]
    signed_no = shipped(client, sandbox, shop2, clerk, "SF7000000001")
    moving_no = shipped(client, sandbox, shop2, clerk, "SF7000000002")
    push(sandbox, "SF7000000001", state=3)
    assert order_of(app, signed_no).status == "delivered"
    with app.app_context():
        # Both shipped long enough ago for the old rule (days after shipping)...
        db.session.execute(update(Order).values(shipped_at=utcnow() - timedelta(days=days, minutes=1)))
        db.session.commit()
        assert sweep()["auto_confirmed"] == 0  # ...but one was delivered just now, one never
        db.session.execute(update(Order).where(Order.order_no == signed_no)
                           .values(delivered_at=utcnow() - timedelta(days=days, minutes=1)))
        db.session.commit()
        assert sweep()["auto_confirmed"] == 1
    assert order_of(app, signed_no).status == "completed"
    assert order_of(app, moving_no).status == "shipped"
