"""Shipping an order in parcels: the first ships it, each is subscribed at 快递100 and
registered with WeChat's logistics component, WeChat's shipping info goes in split mode."""
from __future__ import annotations

from tests.app.test_errors import assert_error
from tests.models.payments.test_payments import sb
from tests.models.shipments.conftest import paid_order, parcel_of, settled


def uploads(sandbox) -> list[dict]:
    return [u["payload"] for u in sb(sandbox, "GET", "/_/shipping-uploads").json()["uploads"]]


def test_the_ship_call_makes_the_first_parcel_subscribed_and_registered(app, client, sandbox, shop2, clerk):
    order = paid_order(client, sandbox, shop2)
    shipped = client.post(f"/api/staff/orders/{order['order_no']}/ship", headers=clerk,
                          json={"carrier": "SF", "tracking_no": "SF1000000001"})
    assert shipped.status_code == 200 and shipped.json["status"] == "shipped"
    assert shipped.json["carrier"] == "SF" and shipped.json["tracking_no"] == "SF1000000001"  # kept on the order
    again = client.post(f"/api/staff/orders/{order['order_no']}/ship", headers=clerk,
                        json={"carrier": "SF", "tracking_no": "SF1000000001"})
    assert again.status_code == 200 and again.json["changed"] is False
    assert {r.kind: r.status for r in settled(app) if r.kind != "staff_alert"} == {
        "shipping_upload": "sent", "subscribe_message": "skipped", "kuaidi100_subscribe": "sent",
        "wechat_trace_waybill": "sent"}
    parcel = parcel_of(app, "SF1000000001")
    [sub] = sb(sandbox, "GET", "/_/kuaidi100/subscriptions").json()["subscriptions"]
    assert sub["company"] == "shunfeng" and sub["number"] == "SF1000000001" and sub["phone_given"]
    assert sub["callbackurl"].endswith(f"/callbacks/kuaidi100/{parcel.token}")
    assert sub["salt"] and sub["salt"] not in str(parcel.__dict__)  # derived, never stored
    [waybill] = sb(sandbox, "GET", "/_/waybills").json()["waybills"]
    assert waybill["waybill_id"] == "SF1000000001" and waybill["trans_id"].startswith("42")
    assert waybill["order_detail_path"] == f"pages/order/detail?order_no={order['order_no']}"
    [upload] = uploads(sandbox)
    assert upload["delivery_mode"] == 1 and len(upload["shipping_list"]) == 1
    mine = client.get(f"/api/orders/{order['order_no']}/shipments", headers=shop2[2]).json
    [view] = mine["items"]
    assert view["waybill_token"] == waybill["waybill_token"] and view["status"] == "pending"
    assert view["direction"] == "outbound" and view["items"][0]["qty"] == 1 and view["events"] == []
    calls = len(sb(sandbox, "GET", "/_/calls").json()["calls"])
    client.get(f"/api/orders/{order['order_no']}/shipments", headers=shop2[2])
    assert len(sb(sandbox, "GET", "/_/calls").json()["calls"]) == calls  # no carrier call per view


def test_split_parcels_upload_in_split_mode_until_all_has_left(app, client, sandbox, shop2, clerk):
    order = paid_order(client, sandbox, shop2, lines=((0, 2), (1, 1)))
    no, (first, second) = order["order_no"], [i["id"] for i in _lines(app, order["order_no"])]
    url = f"/api/staff/orders/{no}/parcels"
    assert_error(client.post(url, headers=clerk, json={"carrier": "YTO", "tracking_no": "YT0000000001",
                                                       "items": [{"order_item_id": first, "qty": 3}]}),
                 422, "parcel_items_invalid")
    one = client.post(url, headers=clerk, json={"carrier": "YTO", "tracking_no": "YT0000000001",
                                                "items": [{"order_item_id": first, "qty": 2}]})
    assert one.status_code == 201 and one.json["status"] == "shipped" and one.json["changed"] is True
    settled(app)
    assert [(u["delivery_mode"], u["is_all_delivered"]) for u in uploads(sandbox)] == [(2, False)]
    assert_error(client.post(url, headers=clerk, json={"carrier": "ZTO", "tracking_no": "ZT0000000002",
                                                       "items": [{"order_item_id": first, "qty": 1}]}),
                 422, "parcel_items_invalid")  # both units of that line have left
    two = client.post(url, headers=clerk, json={"carrier": "ZTO", "tracking_no": "ZT0000000002"})
    assert two.status_code == 201 and len(two.json["items"]) == 2
    assert two.json["items"][1]["items"] == [{"order_item_id": second, "name": "月饼", "spec": "12枚", "qty": 1}]
    settled(app)
    last = uploads(sandbox)[-1]
    assert (last["delivery_mode"], last["is_all_delivered"]) == (2, True)
    assert [i["tracking_no"] for i in last["shipping_list"]] == ["YT0000000001", "ZT0000000002"]
    repeat = client.post(url, headers=clerk, json={"carrier": "ZTO", "tracking_no": "ZT0000000002"})
    assert repeat.status_code == 201 and repeat.json["changed"] is False
    assert_error(client.post(url, headers=clerk, json={"carrier": "SF", "tracking_no": "SF0000000003"}),
                 422, "parcel_items_invalid")  # nothing left to ship
    numbers = {s["number"] for s in sb(sandbox, "GET", "/_/kuaidi100/subscriptions").json()["subscriptions"]}
    assert numbers == {"YT0000000001", "ZT0000000002"}


def test_parcels_need_a_paid_delivery_order_of_my_store(app, client, sandbox, shop2, clerk):
    from tests.factories import bearer, make_staff, make_store, staff_token

    store_id, skus, headers = shop2
    unpaid = client.post("/api/orders", headers=headers, json={
        "store_id": store_id, "fulfillment": "delivery", "address": {"name": "张三", "phone": "13812345678",
                                                                    "province": "上海市", "city": "上海市",
                                                                    "district": "静安区", "detail": "南京西路1号"},
        "items": [{"sku_id": skus[0], "qty": 1}]}).json["order_no"]
    body = {"carrier": "SF", "tracking_no": "SF0000000009"}
    assert_error(client.post(f"/api/staff/orders/{unpaid}/parcels", headers=clerk, json=body),
                 409, "invalid_transition")
    with app.app_context():
        other = bearer(staff_token(client, make_staff("clerk", [make_store()])))
    order = paid_order(client, sandbox, shop2)
    assert_error(client.post(f"/api/staff/orders/{order['order_no']}/parcels", headers=other, json=body),
                 403, "forbidden")
    assert_error(client.get(f"/api/orders/{order['order_no']}/shipments",
                            headers=_other_shopper(app)), 404, "not_found")


def test_a_refused_subscription_fails_for_good_and_a_server_error_retries(app, client, sandbox, shop2, clerk):
    sb(sandbox, "POST", "/_/fail-next", json={"path": "/poll", "return_code": "700"})
    order = paid_order(client, sandbox, shop2)
    client.post(f"/api/staff/orders/{order['order_no']}/ship", headers=clerk,
                json={"carrier": "SF", "tracking_no": "SF1000000002"})
    [row] = settled(app, "kuaidi100_subscribe")
    assert row.status == "failed" and "700" in row.last_error
    assert parcel_of(app, "SF1000000002").subscribe_error == "kuaidi100 returnCode 700"
    sb(sandbox, "POST", "/_/fail-next", json={"path": "/poll", "return_code": "500"})
    order = paid_order(client, sandbox, shop2)
    client.post(f"/api/staff/orders/{order['order_no']}/ship", headers=clerk,
                json={"carrier": "SF", "tracking_no": "SF1000000003"})
    rows = settled(app, "kuaidi100_subscribe")
    assert rows[-1].status == "pending" and rows[-1].attempts == 1  # backing off, to be tried again


def _lines(app, order_no):
    from sqlalchemy import select

    from app.extensions import db
    from models.orders.tables import Order

    with app.app_context():
        order = db.session.scalars(select(Order).where(Order.order_no == order_no)).one()
        return [{"id": i.id} for i in order.items]


def _other_shopper(app):
    from tests.factories import make_shopper

    with app.app_context():
        return make_shopper()[1]


def test_correcting_the_shipment_moves_the_first_parcel_and_subscribes_it_again(app, client, sandbox, shop2, clerk):
    order = paid_order(client, sandbox, shop2)
    no = order["order_no"]
    client.post(f"/api/staff/orders/{no}/ship", headers=clerk, json={"carrier": "SF", "tracking_no": "SF1000000007"})
    settled(app)
    fixed = client.put(f"/api/staff/orders/{no}/shipment", headers=clerk,
                       json={"carrier": "YTO", "tracking_no": "YT1000000007"})
    assert fixed.status_code == 200 and fixed.json["tracking_no"] == "YT1000000007"
    parcel = parcel_of(app, "YT1000000007")
    assert (parcel.carrier, parcel.kuaidi100_com) == ("YTO", "yuantong")
    assert [r.status for r in settled(app, "kuaidi100_subscribe")] == ["sent", "sent"]
    subs = {s["number"]: s for s in sb(sandbox, "GET", "/_/kuaidi100/subscriptions").json()["subscriptions"]}
    assert subs["YT1000000007"]["callbackurl"].endswith(parcel.token)
    last = uploads(sandbox)[-1]
    assert [i["tracking_no"] for i in last["shipping_list"]] == ["YT1000000007"]  # WeChat told again
