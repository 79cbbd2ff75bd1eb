"""快递100's pushes, as its sandbox sends them to the live app: stored once whatever the
order they come in, refused (changing nothing) when forged, and "signed" delivering the
order with one confirm-receipt reminder however often it is pushed."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.extensions import db
from models import shipments
from models.base import utcnow
from models.orders.tables import Order
from models.shipments import events
from models.shipments.tables import Parcel, ParcelEvent
from tests.models.payments.test_payments import sb
from tests.models.shipments.conftest import paid_order, parcel_of, push, settled


def shipped(client, sandbox, shop2, clerk, number="SF2000000001", carrier="SF") -> str:
    order = paid_order(client, sandbox, shop2)
    assert client.post(f"/api/staff/orders/{order['order_no']}/ship", headers=clerk,
                       json={"carrier": carrier, "tracking_no": number}).status_code == 200
    settled_subscription(sandbox, number)
    return order["order_no"]


def settled_subscription(sandbox, number):
    import time

    for _ in range(100):
        if any(s["number"] == number for s in sb(sandbox, "GET", "/_/kuaidi100/subscriptions").json()["subscriptions"]):
            return
        time.sleep(0.05)
    raise AssertionError(f"{number} was never subscribed")


def event_count(app, number) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ParcelEvent).join(Parcel)
                                 .where(Parcel.tracking_no == number))


def order_of(app, order_no) -> Order:
    with app.app_context():
        order = db.session.scalars(select(Order).where(Order.order_no == order_no)).one()
        db.session.expunge(order)
        return order


def answers(result) -> list:
    return [(d["status_code"], d["answer"]["result"], d["answer"]["returnCode"]) for d in result["deliveries"]]


def test_replayed_and_reordered_pushes_are_harmless(app, client, sandbox, shop2, clerk):
    number = "SF2000000001"
    shipped(client, sandbox, shop2, clerk, number)
    now = utcnow().timestamp()
    early = push(sandbox, number, state=1, context="【上海】已揽收", at=now - 3600, hold=True)  # delayed on the way
    later = push(sandbox, number, state=0, context="【上海】运输中", at=now - 60, duplicates=3)  # and replayed
    assert answers(later) == [(200, True, "200")] * 4
    assert parcel_of(app, number).status == "in_transit" and event_count(app, number) == 2
    released = sb(sandbox, "POST", "/_/kuaidi100/release", json={"held": early["held"]}).json()["delivery"]
    assert released["accepted"]  # answered as stored, so 快递100 stops sending it
    parcel = parcel_of(app, number)
    assert parcel.status == "in_transit" and parcel.collected_at is None  # an older picture moves nothing
    assert event_count(app, number) == 2
    view = client.get("/api/orders/" + order_no_of(app, number) + "/shipments", headers=shop2[2]).json
    assert [e["context"] for e in view["items"][0]["events"]] == ["【上海】运输中", "【上海】已揽收"]
    # A scan the carrier uploaded late (older than what we have) arrives inside a later trace.
    push(sandbox, number, state=0, context="【上海】补录扫描", at=now - 1800, send=False)
    push(sandbox, number, state=0, context="【上海】到达分拨中心", at=now - 30)
    assert event_count(app, number) == 4
    with app.app_context():
        assert db.session.get(Parcel, parcel_of(app, number).id).event_count == 4


def test_a_forged_push_changes_nothing(app, client, sandbox, shop2, clerk):
    number = "SF2000000002"
    order_no = shipped(client, sandbox, shop2, clerk, number)
    push(sandbox, number, state=0, context="【上海】运输中")
    for forgery in ({"forge": True}, {"tamper": True}):
        result = push(sandbox, number, state=3, context="【上海】已签收", **forgery)
        assert answers(result) == [(200, False, "500")]
    assert parcel_of(app, number).status == "in_transit" and event_count(app, number) == 1
    assert order_of(app, order_no).status == "shipped"
    refused = client.post("/callbacks/kuaidi100/no-such-parcel", data={"param": "{}", "sign": "X"})
    assert refused.status_code == 200 and refused.json == {"result": False, "returnCode": "500",
                                                           "message": "bad signature"}
    token = parcel_of(app, number).token
    unsigned = client.post(f"/callbacks/kuaidi100/{token}", data={"param": '{"status": "polling"}'})
    assert unsigned.json["result"] is False


def test_three_signed_pushes_make_one_confirm_receipt(app, client, sandbox, shop2, clerk):
    number = "SF2000000003"
    order_no = shipped(client, sandbox, shop2, clerk, number)
    sign_at = utcnow().replace(microsecond=0) - timedelta(minutes=1)
    push(sandbox, number, state=5, context="【上海】派件中", at=sign_at.timestamp() - 600)
    result = push(sandbox, number, state=3, context="【上海】已签收", at=sign_at.timestamp(), duplicates=2)
    assert answers(result) == [(200, True, "200")] * 3
    order = order_of(app, order_no)
    assert order.status == "delivered" and order.delivered_at == sign_at  # the countdown starts at signing
    [reminder] = settled(app, "wechat_confirm_receive")
    assert reminder.status == "sent" and reminder.payload["received_time"] >= int(sign_at.timestamp())
    assert len(sb(sandbox, "GET", "/_/confirm-receives").json()["confirm_receives"]) == 1
    parcel = parcel_of(app, number)
    assert parcel.status == "signed" and parcel.tracking_ended_at is not None  # 快递100's shutdown
    messages = [r.payload["event"] for r in settled(app, "subscribe_message")]
    assert messages.count("parcel_delivered") == 1 and messages.count("parcel_out_for_delivery") == 1


def test_split_parcels_deliver_when_the_last_is_signed(app, client, sandbox, shop2, clerk):
    order = paid_order(client, sandbox, shop2, lines=((0, 1), (1, 1)))
    url = f"/api/staff/orders/{order['order_no']}/parcels"
    lines = client.get(url, headers=clerk).json["lines"]
    assert [(line["qty"], line["left_qty"]) for line in lines] == [(1, 1), (1, 1)]
    for number, line in (("YT3000000001", lines[0]), ("ZT3000000002", lines[1])):
        assert client.post(url, headers=clerk, json={"carrier": number[:2] + "O", "tracking_no": number, "items": [
            {"order_item_id": line["order_item_id"], "qty": 1}]}).status_code == 201
        settled_subscription(sandbox, number)
    push(sandbox, "YT3000000001", state=3)
    assert order_of(app, order["order_no"]).status == "shipped"
    push(sandbox, "ZT3000000002", state=3)
    assert order_of(app, order["order_no"]).status == "delivered"
    assert [r.status for r in settled(app, "wechat_confirm_receive")] == ["sent"]


def test_a_signed_return_parcel_tells_after_sales(app, client, sandbox, shop2, clerk):
    order_no = shipped(client, sandbox, shop2, clerk, "SF2000000004")
    heard = []

    def receiver(sender, **kw):
        heard.append((sender, kw))

    events.return_signed.connect(receiver)
    try:
        with app.app_context():
            order = db.session.scalars(select(Order).where(Order.order_no == order_no)).one()
            parcel = shipments.add_return_parcel(order, after_sale_no="AS20240501000001", carrier="YTO",
                                                 tracking_no="YT2000000009")
            again = shipments.add_return_parcel(order, after_sale_no="AS20240501000001", carrier="YTO",
                                                tracking_no="YT2000000009")
            assert again.id == parcel.id and parcel.direction == "return"
            db.session.commit()
        from app.tasks import run_deferred
        with app.app_context():
            run_deferred()
        settled(app)
        settled_subscription(sandbox, "YT2000000009")
        at = utcnow().replace(microsecond=0)
        push(sandbox, "YT2000000009", state=3, at=at.timestamp(), duplicates=1)
    finally:
        events.return_signed.disconnect(receiver)
    assert heard == [(None, {"after_sale_no": "AS20240501000001", "at": at})]
    assert order_of(app, order_no).status == "shipped"  # a return parcel never delivers the order


def order_no_of(app, number) -> str:
    with app.app_context():
        return db.session.scalar(select(Order.order_no).join(Parcel, Parcel.order_id == Order.id)
                                 .where(Parcel.tracking_no == number))


def test_the_last_two_parcels_signed_at_once_deliver_the_order_once(app, client, sandbox, shop2, clerk):
    """Two parcels of one order signed in two pushes at the same moment (real threads, the
    sandbox pushing both): each holds its parcel and then waits for the order, so the
    second to get it sees the first signed — delivered exactly once, no deadlock."""
    import threading

    order = paid_order(client, sandbox, shop2, lines=((0, 1), (1, 1)))
    url = f"/api/staff/orders/{order['order_no']}/parcels"
    lines = client.get(url, headers=clerk).json["lines"]
    numbers = ("YT6000000001", "ZT6000000002")
    for number, line in zip(numbers, lines):
        client.post(url, headers=clerk, json={"carrier": number[:2] + "O", "tracking_no": number,
                                              "items": [{"order_item_id": line["order_item_id"], "qty": 1}]})
        settled_subscription(sandbox, number)
    results, start = [], threading.Barrier(2)

    def sign(number):
        start.wait()
        results.append(push(sandbox, number, state=3))

    threads = [threading.Thread(target=sign, args=(n,)) for n in numbers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert [d["accepted"] for r in results for d in r["deliveries"]] == [True, True]
    assert order_of(app, order["order_no"]).status == "delivered"
    assert [r.status for r in settled(app, "wechat_confirm_receive")] == ["sent"]
    with app.app_context():
        from models.orders.tables import OrderEvent

        moves = db.session.scalars(select(OrderEvent.to_status).join(Order, Order.id == OrderEvent.order_id)
                                   .where(Order.order_no == order["order_no"])).all()
    assert moves.count("delivered") == 1
