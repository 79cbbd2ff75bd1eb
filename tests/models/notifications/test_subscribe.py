"""Subscribe messages: grants the shopper reports, one grant per send, skipped without
one, and every event rendered into values the sandbox (WeChat's keyword rules) accepts."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import requests
from sqlalchemy import select, update

from app.tasks import pending
from app.config import ConfigError, Settings
from app.extensions import db
from models import outbox
from models.base import utcnow
from models.notifications import templates as tpl
from models.outbox.dispatch import dispatch_due
from models.notifications.tables import MessageLog, SubscribeGrant
from models.orders.tables import Order
from models.stores import Store
from models.outbox.tables import OutboxMessage
from tests.factories import bearer, make_product, make_store, stock
from tests.app.test_errors import assert_error
from wechat.subscribe_rules import CHINA_TZ, validate_value

SUBS = "/api/messages/subscriptions"


# --- helpers (other message tests import these) -------------------------------------------

def buyer(client, sandbox, name="alice"):
    """A shopper who logged in through WeChat (the sandbox knows their openid)."""
    issued = requests.post(f"{sandbox.base_url}/_/login-codes", json={"user": name}, timeout=5).json()
    login = client.post("/api/auth/login", json={"code": issued["code"]})
    assert login.status_code == 200, login.json
    return login.json["user"]["id"], issued["openid"], bearer(login.json["token"])


def grant(client, sandbox, openid, headers, template_id="TPL_ORDER_PAID", count=1):
    """What accepting in wx.requestSubscribeMessage does: WeChat counts a grant, and the
    mini-program reports it to us."""
    requests.post(f"{sandbox.base_url}/_/subscribe-grants",
                  json={"openid": openid, "template_id": template_id, "count": count}, timeout=5)
    for _ in range(count):
        resp = client.post(SUBS, headers=headers, json={"accepted": [template_id]})
        assert resp.status_code == 200, resp.json


def sent_messages(sandbox, openid=None):
    params = {"kind": "subscribe", **({"touser": openid} if openid else {})}
    return requests.get(f"{sandbox.base_url}/_/messages", params=params, timeout=5).json()["messages"]


def sandbox_calls(sandbox, path="/cgi-bin/message/subscribe/send"):
    return requests.get(f"{sandbox.base_url}/_/calls", params={"path": path}, timeout=5).json()["calls"]


def fail_next(sandbox, path="/cgi-bin/message/subscribe/send", **spec):
    requests.post(f"{sandbox.base_url}/_/fail-next", json={"path": path, **spec}, timeout=5)


def place_order(app, client, headers, fulfillment="pickup", qty=2):
    from tests.models.orders.test_placement import ADDRESS

    with app.app_context():
        store = make_store(name="人民广场店")
        sku = make_product("月饼", skus=[("6枚", 12800)]).skus[0]
        stock(store, sku, 20)
        store_id, sku_id = store.id, sku.id
    body = {"store_id": store_id, "fulfillment": fulfillment, "items": [{"sku_id": sku_id, "qty": qty}]}
    if fulfillment == "delivery":
        body["address"] = ADDRESS
    resp = client.post("/api/orders", headers=headers, json=body)
    assert resp.status_code == 201, resp.json
    with app.app_context():
        return db.session.scalars(select(Order.id).where(Order.order_no == resp.json["order_no"])).one()


def enqueue(app, payload, kind="subscribe_message"):
    """A row as a business transaction writes it; its after-commit kick is dropped so the
    test decides when dispatch runs."""
    with app.app_context():
        outbox.enqueue(kind, payload)
        db.session.commit()
        row_id = db.session.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()).limit(1))
    pending(app).clear()
    return row_id


def dispatch(app, **kw):
    with app.app_context():
        return dispatch_due(**kw)


def outbox_row(app, row_id):
    with app.app_context():
        return db.session.get(OutboxMessage, row_id)


def log_row(app, row_id):
    with app.app_context():
        return db.session.scalars(select(MessageLog).where(MessageLog.outbox_id == row_id)).one()


def remaining(app, user_id, template_id="TPL_ORDER_PAID"):
    with app.app_context():
        return db.session.scalar(select(SubscribeGrant.remaining).where(
            SubscribeGrant.user_id == user_id, SubscribeGrant.template_id == template_id)) or 0


# --- POST /api/messages/subscriptions -----------------------------------------------------

def test_acceptances_are_counted_per_template(client, sandbox):
    _, _, headers = buyer(client, sandbox)
    first = client.post(SUBS, headers=headers, json={"accepted": ["TPL_ORDER_PAID", "TPL_PICKUP_READY"]})
    assert first.status_code == 200
    assert first.json["grants"]["TPL_ORDER_PAID"] == 1 and first.json["grants"]["TPL_PICKUP_READY"] == 1
    # The same template twice in one prompt is one acceptance.
    again = client.post(SUBS, headers=headers, json={"accepted": ["TPL_ORDER_PAID", "TPL_ORDER_PAID"]})
    assert again.json["grants"]["TPL_ORDER_PAID"] == 2 and again.json["grants"]["TPL_REFUND"] == 0
    # Nothing accepted (all rejected in the prompt): the counts as they are.
    none = client.post(SUBS, headers=headers, json={"accepted": []})
    assert none.status_code == 200 and none.json == again.json


def test_grants_list_every_configured_template(app, client, sandbox):
    _, _, headers = buyer(client, sandbox)
    grants = client.post(SUBS, headers=headers, json={"accepted": []}).json["grants"]
    with app.app_context():
        assert set(grants) == tpl.template_ids() and set(grants.values()) == {0}
    listed = client.get("/api/messages/templates").json["templates"]
    assert listed["order_paid"] == "TPL_ORDER_PAID" and set(listed) == set(tpl.EVENTS)


def test_unknown_template_refuses_the_whole_report(app, client, sandbox):
    user_id, _, headers = buyer(client, sandbox)
    err = assert_error(client.post(SUBS, headers=headers, json={"accepted": ["TPL_ORDER_PAID", "TPL_NOPE"]}),
                       422, "unknown_template")
    assert err["details"]["unknown"] == ["TPL_NOPE"]
    assert remaining(app, user_id) == 0


@pytest.mark.parametrize("body", [
    {}, {"accepted": "TPL_ORDER_PAID"}, {"accepted": [1]}, {"accepted": [""]},
    {"accepted": ["x" * 65]}, {"accepted": ["TPL_ORDER_PAID"] * 11},
    {"accepted": ["TPL_ORDER_PAID"], "extra": 1}, {"accepted": None},
])
def test_bad_reports_are_400(client, sandbox, body):
    _, _, headers = buyer(client, sandbox)
    assert_error(client.post(SUBS, headers=headers, json=body), 400, "invalid_request")


def test_reporting_needs_a_shopper(client, app):
    assert client.post(SUBS, json={"accepted": []}).status_code == 401
    with app.app_context():
        from tests.factories import make_staff, staff_token

        staff = bearer(staff_token(client, make_staff("admin")))
    assert_error(client.post(SUBS, headers=staff, json={"accepted": []}), 401, "unauthorized")


def test_grants_are_capped(app, client, sandbox):
    from models.notifications.subscribe import MAX_GRANTS

    user_id, _, headers = buyer(client, sandbox)
    client.post(SUBS, headers=headers, json={"accepted": ["TPL_ORDER_PAID"]})
    with app.app_context():
        db.session.execute(update(SubscribeGrant).values(remaining=MAX_GRANTS))
        db.session.commit()
    assert client.post(SUBS, headers=headers, json={"accepted": ["TPL_ORDER_PAID"]}).json["grants"][
        "TPL_ORDER_PAID"] == MAX_GRANTS


def test_first_reports_at_once_all_count(app, client, sandbox):
    user_id, _, headers = buyer(client, sandbox)
    barrier = threading.Barrier(6)

    def report(_):
        barrier.wait(timeout=10)
        return app.test_client().post(SUBS, headers=headers, json={"accepted": ["TPL_REFUND"]}).status_code

    with ThreadPoolExecutor(6) as pool:
        assert list(pool.map(report, range(6))) == [200] * 6
    assert remaining(app, user_id, "TPL_REFUND") == 6


# --- one grant per send -------------------------------------------------------------------

def test_a_send_uses_one_grant_and_is_logged(app, client, sandbox):
    user_id, openid, headers = buyer(client, sandbox)
    order_id = place_order(app, client, headers)
    grant(client, sandbox, openid, headers, count=2)
    row_id = enqueue(app, {"event": "order_paid", "order_id": order_id})
    assert dispatch(app) == {"sent": 1}
    assert remaining(app, user_id) == 1
    [msg] = sent_messages(sandbox, openid)
    assert msg["template_id"] == "TPL_ORDER_PAID" and msg["page"].startswith("pages/order/detail?order_no=TH")
    entry = log_row(app, row_id)
    assert (entry.status, entry.user_id, entry.openid, entry.msgid, entry.grant_held) == (
        ("sent", user_id, openid, str(msg["msgid"]), False))
    row = outbox_row(app, row_id)
    assert row.status == "sent" and row.sent_at is not None and row.attempts == 1


def test_a_shoppers_own_news_is_sent_without_an_order(app, client, sandbox):
    """Points about to expire and an inviter's tier reward name no order: rendered from the
    payload, sent on the shopper's grant, logged with no order."""
    user_id, openid, headers = buyer(client, sandbox)
    grant(client, sandbox, openid, headers, template_id="TPL_POINTS_EXPIRING")
    grant(client, sandbox, openid, headers, template_id="TPL_INVITE_REWARD")
    expiring = enqueue(app, {"event": "points_expiring", "user_id": user_id, "points": 1200,
                             "expires_at": "2027-01-31T16:00:00+00:00"})
    reward = enqueue(app, {"event": "invitation_reward", "user_id": user_id, "invitees": 5,
                           "reward": {"kind": "points", "points": 300}})
    grant(client, sandbox, openid, headers, template_id="TPL_CAMPAIGN")
    campaign = enqueue(app, {"event": "campaign_message", "user_id": user_id, "campaign": "回店有礼",
                             "note": "本周到店取货送小礼"})
    result = dispatch(app)
    assert result == {"sent": 3}, (outbox_row(app, expiring).last_error, log_row(app, expiring).reason)
    sent = {m["template_id"]: m for m in sent_messages(sandbox, openid)}
    assert sent["TPL_POINTS_EXPIRING"]["data"]["number1"]["value"] == "1200"
    assert sent["TPL_POINTS_EXPIRING"]["data"]["time2"]["value"].startswith("2027-02-01")  # China time
    assert "300积分" in sent["TPL_INVITE_REWARD"]["data"]["thing2"]["value"]
    assert (sent["TPL_CAMPAIGN"]["data"]["thing1"]["value"], sent["TPL_CAMPAIGN"]["data"]["thing2"]["value"]) == (
        "回店有礼", "本周到店取货送小礼")
    for row_id in (expiring, reward, campaign):
        entry = log_row(app, row_id)
        assert (entry.status, entry.order_id, entry.user_id) == ("sent", None, user_id)
    assert remaining(app, user_id, "TPL_POINTS_EXPIRING") == 0


def test_without_a_grant_the_message_is_skipped_and_wechat_not_called(app, client, sandbox):
    user_id, openid, headers = buyer(client, sandbox)
    order_id = place_order(app, client, headers)
    row_id = enqueue(app, {"event": "order_paid", "order_id": order_id})
    assert dispatch(app) == {"skipped": 1}
    assert sandbox_calls(sandbox) == [] and sent_messages(sandbox) == []
    entry = log_row(app, row_id)
    assert (entry.status, entry.reason, entry.template_id, entry.grant_held) == (
        ("skipped", "no_grant", "TPL_ORDER_PAID", False))
    assert outbox_row(app, row_id).status == "skipped" and outbox_row(app, row_id).last_error == "no_grant"


def test_43101_skips_and_zeroes_our_count(app, client, sandbox):
    user_id, openid, headers = buyer(client, sandbox)
    order_id = place_order(app, client, headers)
    # We were told of three acceptances; WeChat knows of none (the user cancelled).
    for _ in range(3):
        client.post(SUBS, headers=headers, json={"accepted": ["TPL_ORDER_PAID"]})
    row_id = enqueue(app, {"event": "order_paid", "order_id": order_id})
    assert dispatch(app) == {"skipped": 1}
    assert [c["errcode"] for c in sandbox_calls(sandbox)] == [43101]
    assert remaining(app, user_id) == 0
    entry = log_row(app, row_id)
    assert (entry.status, entry.errcode, entry.reason) == ("skipped", 43101, "43101")
    # No retry: the row is finished.
    assert dispatch(app, now=utcnow() + timedelta(days=1)) == {}


def test_a_message_with_no_template_configured_is_skipped(app, client, sandbox):
    user_id, openid, headers = buyer(client, sandbox)
    order_id = place_order(app, client, headers)
    grant(client, sandbox, openid, headers)
    saved = app.extensions["subscribe_templates"]
    app.extensions["subscribe_templates"] = {k: v for k, v in saved.items() if k != "order_paid"}
    try:
        row_id = enqueue(app, {"event": "order_paid", "order_id": order_id})
        assert dispatch(app) == {"skipped": 1}
    finally:
        app.extensions["subscribe_templates"] = saved
    assert log_row(app, row_id).reason == "no_template" and remaining(app, user_id) == 1


def test_unknown_event_and_missing_order_fail_for_staff(app, client, sandbox):
    user_id, openid, headers = buyer(client, sandbox)
    order_id = place_order(app, client, headers)
    bad_event = enqueue(app, {"event": "order_teleported", "order_id": order_id})
    no_order = enqueue(app, {"event": "order_paid", "order_id": 999999})
    assert dispatch(app) == {"failed": 2}
    assert outbox_row(app, bad_event).last_error.startswith("unknown event")
    assert outbox_row(app, no_order).last_error == "order_missing"


# --- every event, rendered -----------------------------------------------------------------

def _china(at: datetime) -> str:
    return at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")


def _set(app, order_id, **values):
    with app.app_context():
        db.session.execute(update(Order).where(Order.id == order_id).values(**values))
        db.session.commit()


def _refund(app, order_id, amount_fen, reason):
    from models.payments.tables import Payment, Refund

    with app.app_context():
        order = db.session.get(Order, order_id)
        payment = Payment(order_id=order_id, out_trade_no=order.order_no, amount_fen=order.payable_fen,
                          status="paid", transaction_id="4200000000000000001", paid_fen=order.payable_fen)
        db.session.add(payment)
        db.session.flush()
        refund = Refund(order_id=order_id, payment_id=payment.id, out_refund_no=f"{order.order_no}R1",
                        amount_fen=amount_fen, reason=reason, status="success",
                        succeeded_at=datetime(2024, 5, 2, 1, 30, tzinfo=timezone.utc))
        db.session.add(refund)
        db.session.commit()
        return refund.id


AT = datetime(2024, 5, 1, 4, 5, tzinfo=timezone.utc)  # 12:05 in Shanghai
DEADLINE = datetime(2024, 5, 3, 13, 0, tzinfo=timezone.utc)  # 21:00 in Shanghai


@pytest.mark.parametrize("event, template_id, setup, payload, expected", [
    ("order_paid", "TPL_ORDER_PAID", {"paid_at": AT}, {},
     {"amount2": "¥256.00", "thing3": "月饼 6枚×2", "time4": "2024-05-01 12:05"}),
    ("ready_for_pickup", "TPL_PICKUP_READY", {"ready_at": AT, "pickup_deadline": DEADLINE}, {},
     {"thing2": "人民广场店", "phrase3": "待取货", "time4": "2024-05-03 21:00"}),
    ("order_picked_up", "TPL_PICKED_UP", {"picked_up_at": AT}, {"partial": False},
     {"thing2": "月饼 6枚×2", "phrase3": "已取货", "time4": "2024-05-01 12:05"}),
    ("order_picked_up", "TPL_PICKED_UP", {}, {"partial": True},
     {"thing2": "月饼 6枚×2", "phrase3": "部分取货"}),
    ("pickup_expiring", "TPL_PICKUP_EXPIRING", {"pickup_deadline": DEADLINE}, {},
     {"thing2": "人民广场店", "time3": "2024-05-03 21:00", "thing4": "取货即将截止，请尽快到店"}),
    ("order_cancelled", "TPL_ORDER_CANCELLED", {"cancelled_at": AT}, {"reason": "pay_timeout"},
     {"thing2": "超时未支付，订单已自动取消", "time3": "2024-05-01 12:05"}),
    ("order_shipped", "TPL_ORDER_SHIPPED", {"shipped_at": AT, "carrier": "顺丰速运", "tracking_no": "SF1234567890"},
     {}, {"thing2": "顺丰速运", "character_string3": "SF1234567890", "time4": "2024-05-01 12:05"}),
])
def test_each_event_renders_what_wechat_accepts(app, client, sandbox, event, template_id, setup,
                                                 payload, expected):
    user_id, openid, headers = buyer(client, sandbox)
    order_id = place_order(app, client, headers)
    if setup:
        _set(app, order_id, **setup)
    grant(client, sandbox, openid, headers, template_id)
    enqueue(app, {"event": event, "order_id": order_id, **payload})
    assert dispatch(app) == {"sent": 1}
    [msg] = sent_messages(sandbox, openid)
    with app.app_context():
        order_no = db.session.get(Order, order_id).order_no
    assert msg["template_id"] == template_id
    values = {k: v["value"] for k, v in msg["data"].items()}
    assert values["character_string1"] == order_no
    assert {k: values[k] for k in expected} == expected
    if "time4" in values and "time4" not in expected:  # partial pickup: when it was recorded
        assert values["time4"][:10] == _china(utcnow())[:10]


@pytest.mark.parametrize("event, reason, expected_reason", [
    ("refund_succeeded", "顾客申请退款：商品不想要了，麻烦尽快处理谢谢", "顾客申请退款：商品不想要了，麻烦尽快处…"),
    ("refund_succeeded", None, "退款已原路退回"),
    ("pickup_expired_refunded", "whatever staff typed", "超时未取货，款项将原路退回"),
])
def test_refund_events_show_the_refund(app, client, sandbox, event, reason, expected_reason):
    user_id, openid, headers = buyer(client, sandbox)
    order_id = place_order(app, client, headers)
    refund_id = _refund(app, order_id, 12800, reason)
    grant(client, sandbox, openid, headers, "TPL_REFUND")
    enqueue(app, {"event": event, "order_id": order_id, "refund_id": refund_id})
    assert dispatch(app) == {"sent": 1}
    [msg] = sent_messages(sandbox, openid)
    values = {k: v["value"] for k, v in msg["data"].items()}
    assert values["amount2"] == "¥128.00" and values["thing3"] == expected_reason
    assert len(values["thing3"]) <= 20
    if event == "refund_succeeded":
        assert values["time4"] == "2024-05-02 09:30"


def test_a_timed_out_order_queues_its_cancel_message(app, client, sandbox):
    from models.orders.deadlines import expire_if_overdue

    user_id, openid, headers = buyer(client, sandbox)
    order_id = place_order(app, client, headers)
    _set(app, order_id, pay_deadline=utcnow() - timedelta(seconds=1))
    with app.app_context():
        assert expire_if_overdue(db.session.get(Order, order_id)) is True
        db.session.commit()
        row = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "subscribe_message")).one()
        assert row.payload == {"event": "order_cancelled", "order_id": order_id, "reason": "pay_timeout"}
        assert row.dedupe_key == f"order_cancelled:{order_id}"
        # Expired once: a second look queues nothing more.
        assert expire_if_overdue(db.session.get(Order, order_id)) is False


def test_shipping_upload_body_follows_section_8(app, client, sandbox):
    from models.notifications.shipping import rfc3339_ms

    user_id, openid, headers = buyer(client, sandbox)
    order_id = place_order(app, client, headers, fulfillment="delivery", qty=1)
    _refund(app, order_id, 1, None)  # gives the order a paid payment with a transaction id
    _set(app, order_id, carrier="SF", tracking_no="SF998877")
    with app.app_context():
        store_id = db.session.get(Order, order_id).store_id
        db.session.execute(update(Store).where(Store.id == store_id).values(phone="02161234567"))
        db.session.commit()
    enqueue(app, {"order_id": order_id, "logistics_type": 1}, kind="shipping_upload")
    pickup = enqueue(app, {"order_id": order_id, "logistics_type": 4}, kind="shipping_upload")
    assert dispatch(app) == {"sent": 2}
    express, at_store = [u["payload"] for u in
                         requests.get(f"{sandbox.base_url}/_/shipping-uploads", timeout=5).json()["uploads"]]
    assert express["order_key"] == {"order_number_type": 2, "transaction_id": "4200000000000000001"}
    # 顺丰 wants the masked phones of sender (the store) and receiver (the address).
    assert express["shipping_list"] == [{"item_desc": "月饼 6枚×1", "tracking_no": "SF998877",
                                         "express_company": "SF", "contact": {
                                             "consignor_contact": "021****4567",
                                             "receiver_contact": "138****5678"}}]
    assert express["payer"] == {"openid": openid} and express["delivery_mode"] == 1
    assert express["upload_time"].endswith("+08:00") and len(express["upload_time"]) == 29
    assert at_store["logistics_type"] == 4 and at_store["shipping_list"] == [{"item_desc": "月饼 6枚×1"}]
    assert rfc3339_ms(AT) == "2024-05-01T12:05:00.000+08:00"
    assert outbox_row(app, pickup).status == "sent"


def test_shipping_upload_of_an_order_not_paid_by_wechat_is_skipped(app, client, sandbox):
    # A card-paid order has nothing held at WeChat: no upload, and nothing for staff to fix.
    user_id, openid, headers = buyer(client, sandbox)
    order_id = place_order(app, client, headers, fulfillment="delivery", qty=1)
    row_id = enqueue(app, {"order_id": order_id, "logistics_type": 1}, kind="shipping_upload")
    assert dispatch(app) == {"skipped": 1}
    assert outbox_row(app, row_id).last_error == "order_not_paid_by_wechat"


# --- values made to obey the keyword rules -------------------------------------------------

@pytest.mark.parametrize("kind, value, expected", [
    ("thing", "有机五常大米 5kg 真空包装 东北新米 限时特价", "有机五常大米 5kg 真空包装 东北新…"),
    ("thing", "line\nbreak\tand  more", "line break and more"),
    ("thing", tpl.Fen(12800), "¥128.00"),
    ("thing", AT, "2024-05-01 12:05"),
    ("number", tpl.Fen(12805), "128.05"),
    ("number", 42, "42"),
    ("letter", "Order-ABC 123 xyz", "OrderABCxyz"),
    ("symbol", "a%b#c@d!e&f", "%#@!&"),
    ("character_string", "TH2024 订单 0501-12/3" + "9" * 40, ("TH20240501-12/3" + "9" * 40)[:32]),
    ("time", AT, "2024-05-01 12:05"),
    ("time", "12:05～13:00", "12:05~13:00"),
    ("date", AT, "2024-05-01 12:05"),
    ("date", AT.date(), "2024-05-01"),
    ("amount", tpl.Fen(5), "¥0.05"),
    ("amount", "12.3", "¥12.30"),
    ("phone_number", "（021）6666 8888", "(021)6666 8888"),
    ("car_number", "粤a 8y0x8", "粤A8Y0X8"),
    ("name", "张三123丰", "张三丰"),
    ("name", "Jean-Luc Picard the Captain of Enterprise", "Jean-Luc Picard the"),
    ("phrase", "待取货 ready!", "待取货"),
    ("phrase", "已经完成了取货", "已经完成了"),
    ("enum", "some value", "some value"),
])
def test_every_keyword_kind_is_made_valid(kind, value, expected):
    template = tpl.Template("x", "T", None, {f"{kind}1": "f"})
    out = tpl.render(template, {"f": value})[f"{kind}1"]["value"]
    assert out == expected
    assert validate_value(kind, out) is None


@pytest.mark.parametrize("kind, value", [("phrase", "ready"), ("time", "tomorrow"), ("amount", -5),
                                         ("thing", None), ("thing", "")])
def test_values_that_cannot_be_made_valid_are_refused_before_sending(kind, value):
    template = tpl.Template("x", "T", None, {f"{kind}1": "f"})
    with pytest.raises(ValueError, match=f"{kind}1"):
        tpl.render(template, {"f": value})


def test_a_value_that_cannot_be_rendered_fails_without_calling_wechat(app, client, sandbox):
    user_id, openid, headers = buyer(client, sandbox)
    order_id = place_order(app, client, headers)
    grant(client, sandbox, openid, headers, "TPL_PICKUP_READY")
    row_id = enqueue(app, {"event": "ready_for_pickup", "order_id": order_id})  # no pickup_deadline
    assert dispatch(app) == {"failed": 1}
    assert outbox_row(app, row_id).last_error.startswith("render: time4: no deadline")
    assert sandbox_calls(sandbox) == [] and remaining(app, user_id, "TPL_PICKUP_READY") == 1


# --- templates are configuration ------------------------------------------------------------

def _spec(**data):
    return {"template_id": "T1", "page": "pages/order/detail?order_no={order_no}",
            "data": data or {"character_string1": "order_no"}}


@pytest.mark.parametrize("raw, message", [
    ({"order_exploded": _spec()}, "unknown event"),
    ({"order_paid": _spec(thingy1="order_no")}, "not a keyword"),
    ({"order_paid": _spec(thing1="colour")}, "unknown field"),
    ({"order_paid": _spec(phrase1="order_no")}, "phrase1"),
    ({"order_paid": _spec(amount1="store_name")}, "amount1"),
    ({"order_paid": {**_spec(), "page": "pages/x?id={order_id}"}}, "order_id"),
])
def test_templates_that_cannot_work_refuse_to_start(raw, message):
    with pytest.raises(ConfigError, match=message):
        tpl.load(raw, "development")


def test_templates_come_from_json_and_default_by_environment(monkeypatch):
    monkeypatch.setenv("SUBSCRIBE_TEMPLATES", '{"order_paid": {"template_id": "abcDEF123", '
                                              '"data": {"thing1": "items", "amount2": "amount"}}}')
    settings = Settings(_env_file=None)
    loaded = tpl.load(settings.model_dump()["SUBSCRIBE_TEMPLATES"], "development")
    assert set(loaded) == {"order_paid"} and loaded["order_paid"].template_id == "abcDEF123"
    assert loaded["order_paid"].page is None
    assert set(tpl.load(None, "development")) == set(tpl.EVENTS)
    assert tpl.load(None, "production") == {}  # production sends none until configured
    monkeypatch.setenv("SUBSCRIBE_TEMPLATES", '{"order_paid": {"template_id": "x", "data": {}}}')
    with pytest.raises(ValueError):
        Settings(_env_file=None)
