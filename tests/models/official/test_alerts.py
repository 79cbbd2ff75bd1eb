"""Staff alerts as official-account template messages: who gets which event, what the
message says, never twice to one person (retries after partial failures), and WeChat's
error codes surfacing as wechat.errors types for the outbox dispatcher."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from models.stock import holds as stock
from models.stock.tables import StockLevelEvent
from models.official.alerts import alert_key, deliver_staff_alert
from models.official.tables import OfficialBinding, StaffAlertDelivery
from models.orders.status import SYSTEM, transition
from models.orders.tables import Order
from models.outbox.tables import OutboxMessage
from models.payments.apply import open_case
from tests.factories import make_product, make_shopper, make_staff, make_store
from tests.factories import stock as set_stock
from tests.models.official.support import bind, follow, oa_openid, sandbox_get, sandbox_post
from tests.models.orders.test_placement import order_body
from wechat.errors import WeChatAPIError, WeChatUnavailable

SEND = "/cgi-bin/message/template/send"


def staff_following(sandbox, role, stores=(), user=None, **kw):
    """A staff member bound to an OA follower named `user`."""
    member = make_staff(role, stores, **kw)
    user = user or f"{role}-{member.id}"
    follow(sandbox, user)
    bind(member, user)
    return member


@pytest.fixture
def team(ctx, sandbox):
    jingan, lujiazui = make_store(name="静安寺店"), make_store(name="陆家嘴店")
    t = {"jingan": jingan, "lujiazui": lujiazui}
    t["clerk"] = staff_following(sandbox, "clerk", [jingan], user="clerk")
    t["manager"] = staff_following(sandbox, "manager", [jingan], user="manager")
    t["other_clerk"] = staff_following(sandbox, "clerk", [lujiazui], user="other-clerk")
    t["admin"] = staff_following(sandbox, "admin", user="admin")
    staff_following(sandbox, "analyst", [jingan], user="analyst")
    gone = staff_following(sandbox, "manager", [jingan], user="gone-manager")
    gone.active = False
    make_staff("clerk", [jingan])  # never bound: cannot be reached
    db.session.commit()
    return t


@pytest.fixture
def paid_order(client, team):
    rice = make_product("五常大米", skus=[("5kg", 8900)]).skus[0]
    set_stock(team["jingan"], rice, 50)
    _, shopper = make_shopper()
    resp = client.post("/api/orders", headers=shopper, json=order_body(team["jingan"], (rice, 2)))
    order = db.session.scalars(select(Order).where(Order.order_no == resp.json["order_no"])).one()
    transition(order, "pay", SYSTEM)
    db.session.commit()
    return order


def sent(sandbox, touser=None) -> list[dict]:
    params = {"touser": touser} if touser else {}
    return sandbox_get(sandbox, "/_/official/templates", **params)["messages"]


def recipients_of(sandbox) -> list[str]:
    return sorted(m["touser"] for m in sent(sandbox))


def openids(*users) -> list[str]:
    return sorted(oa_openid(u) for u in users)


def new_paid_order(order, outbox_id=1) -> dict:
    payload = {"event": "new_paid_order", "order_id": order.id, "store_id": order.store_id}
    return payload if outbox_id is None else {**payload, "outbox_id": outbox_id}


def test_a_new_paid_order_goes_to_its_stores_clerks_and_managers(sandbox, team, paid_order):
    deliver_staff_alert(new_paid_order(paid_order))
    assert recipients_of(sandbox) == openids("clerk", "manager")
    message = sent(sandbox, oa_openid("clerk"))[0]
    assert message["template_id"] == "OA_TPL_NEW_ORDER"
    data = {k: v["value"] for k, v in message["data"].items()}
    assert data["character_string1"] == paid_order.order_no
    assert data["thing2"] == "静安寺店" and data["amount3"] == "¥178.00"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", data["time4"])
    rows = db.session.scalars(select(StaffAlertDelivery).order_by(StaffAlertDelivery.staff_id)).all()
    assert [(r.staff_id, r.status, r.alert_key) for r in rows] == [
        (team["clerk"].id, "sent", "outbox:1"), (team["manager"].id, "sent", "outbox:1")]
    assert all(r.msgid for r in rows)


def test_who_gets_each_event(sandbox, team, paid_order):
    sku = paid_order.items[0].sku_id
    case = open_case("amount_mismatch", paid_order, {"amount": {"total": 1, "payer_total": 1}}, "test")
    db.session.commit()
    events = {
        "pickup_locked": ({"order_id": paid_order.id, "store_id": paid_order.store_id},
                          ["clerk", "manager"]),
        "stock_level": ({"store_id": team["jingan"].id, "sku_id": sku, "level": "closed",
                         "available": 2, "baseline": 50}, ["admin", "manager"]),
        "payment_case": ({"case_id": case.id, "kind": "amount_mismatch"}, ["admin", "manager"]),
        "reconciliation_differences": ({"report_id": 1, "bill_date": "2026-11-21", "count": 3},
                                       ["admin"]),
    }
    for n, (event, (payload, users)) in enumerate(events.items(), start=10):
        sandbox_post(sandbox, "/_/reset", {})
        for user in ("clerk", "manager", "other-clerk", "admin", "analyst", "gone-manager"):
            follow(sandbox, user)
        deliver_staff_alert({"event": event, "outbox_id": n, **payload})
        assert recipients_of(sandbox) == openids(*users), event
    # What the money alerts say.
    case_msg = {k: v["value"] for k, v in sent(sandbox)[0]["data"].items()}
    assert case_msg == {"date1": "2026-11-21", "number2": "3", "thing3": "对账差异待处理",
                        "time4": case_msg["time4"]}


def test_values_are_made_to_fit_their_keywords(sandbox, team, paid_order):
    team["jingan"].name = "上海市静安区南京西路一千六百九十九号旗舰店"  # 21 characters
    db.session.commit()
    deliver_staff_alert(new_paid_order(paid_order))
    thing = sent(sandbox)[0]["data"]["thing2"]["value"]
    assert len(thing) == 20 and thing.endswith("…")  # WeChat would refuse 21 (47003)


def test_a_retry_never_sends_twice_to_the_same_person(sandbox, team, paid_order):
    for payload in (new_paid_order(paid_order), new_paid_order(paid_order, outbox_id=None)):
        deliver_staff_alert(payload)
        deliver_staff_alert(payload)
    # Two alerts (the outbox row's and the bare payload's), each once to each of two people.
    assert len(sent(sandbox)) == 4
    assert alert_key(new_paid_order(paid_order, None)) == alert_key(new_paid_order(paid_order, None))
    assert alert_key(new_paid_order(paid_order, 1)) != alert_key(new_paid_order(paid_order, 2))


def test_after_a_partial_failure_the_retry_serves_only_the_rest(sandbox, team, paid_order):
    db.session.delete(db.session.get(OfficialBinding, team["manager"].id))
    db.session.commit()
    payload = new_paid_order(paid_order)
    deliver_staff_alert(payload)                                    # the clerk only
    bind(team["manager"], "manager")                                # the manager binds meanwhile
    sandbox_post(sandbox, "/_/fail-next", {"path": SEND, "errcode": -1})
    with pytest.raises(WeChatAPIError) as exc:
        deliver_staff_alert(payload)                                # busy for the manager
    assert exc.value.errcode == -1
    assert recipients_of(sandbox) == openids("clerk")
    deliver_staff_alert(payload)
    assert recipients_of(sandbox) == openids("clerk", "manager")    # the clerk still once


def test_a_recipient_who_left_is_skipped_for_good(sandbox, team, paid_order):
    sandbox.state.official.unfollow(sandbox.state.official.account(None).appid, oa_openid("clerk"))
    payload = new_paid_order(paid_order)
    deliver_staff_alert(payload)  # 43004 for the clerk: the manager is served all the same
    assert recipients_of(sandbox) == openids("manager")
    failed = db.session.scalars(select(StaffAlertDelivery).where(
        StaffAlertDelivery.staff_id == team["clerk"].id)).one()
    assert failed.status == "failed" and "43004" in failed.error
    calls = len(sandbox_get(sandbox, "/_/calls", path=SEND)["calls"])
    deliver_staff_alert(payload)
    assert len(sandbox_get(sandbox, "/_/calls", path=SEND)["calls"]) == calls  # nobody retried


@pytest.mark.parametrize("errcode", [47003, 40037, -1, 45009, 40001])
def test_wechat_errors_surface_as_api_errors_and_nothing_is_recorded(sandbox, team, paid_order,
                                                                     errcode):
    for _ in range(2 if errcode == 40001 else 1):  # 40001 twice: after our one refresh
        sandbox_post(sandbox, "/_/fail-next", {"path": SEND, "errcode": errcode})
    with pytest.raises(WeChatAPIError) as exc:
        deliver_staff_alert(new_paid_order(paid_order))
    assert exc.value.errcode == errcode
    assert db.session.scalars(select(StaffAlertDelivery)).all() == []


@pytest.mark.parametrize("status", [500, 502])
def test_http_failures_surface_as_unavailable(sandbox, team, paid_order, status):
    sandbox_post(sandbox, "/_/fail-next", {"path": SEND, "http_status": status})
    with pytest.raises(WeChatUnavailable):
        deliver_staff_alert(new_paid_order(paid_order))


def test_a_stale_token_is_refreshed_once_and_the_alert_goes_out(sandbox, team, paid_order):
    sandbox_post(sandbox, "/_/fail-next", {"path": SEND, "errcode": 40001})
    deliver_staff_alert(new_paid_order(paid_order))
    assert recipients_of(sandbox) == openids("clerk", "manager")


def test_unknown_events_and_vanished_subjects_send_nothing(sandbox, team, app, monkeypatch):
    deliver_staff_alert({"event": "mystery", "outbox_id": 1})
    deliver_staff_alert({"event": "new_paid_order", "order_id": 987654, "store_id": 1})
    monkeypatch.setitem(app.config, "WECHAT_OA_ALERT_TEMPLATES", {})
    deliver_staff_alert({"event": "reconciliation_differences", "bill_date": "2026-11-21", "count": 1})
    assert sent(sandbox) == []


def test_a_stock_level_turning_red_or_closed_is_queued_and_delivered(sandbox, team):
    jingan = team["jingan"]
    sku = make_product("月饼", skus=[("6枚", 12800)]).skus[0]
    set_stock(jingan, sku, 100, baseline=100)

    def alerts():
        return [m.payload for m in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "staff_alert").order_by(OutboxMessage.id))]

    stock.reserve(jingan.id, [(sku.id, 80)], order_id=None)   # 20 %: tight, no alert
    db.session.commit()
    assert alerts() == []
    stock.reserve(jingan.id, [(sku.id, 12)], order_id=None)   # 8 %: red
    db.session.commit()
    stock.reserve(jingan.id, [(sku.id, 5)], order_id=None)    # 3 %: closed
    db.session.commit()
    stock.release(jingan.id, [(sku.id, 90)], order_id=None, reason="test")  # 93 %: normal
    db.session.commit()
    red, closed = alerts()
    assert {k: red[k] for k in ("event", "store_id", "sku_id", "level", "available", "baseline")} == {
        "event": "stock_level", "store_id": jingan.id, "sku_id": sku.id, "level": "red",
        "available": 8, "baseline": 100}
    assert closed["level"] == "closed" and closed["available"] == 3

    deliver_staff_alert({**red, "outbox_id": 1})
    assert recipients_of(sandbox) == openids("admin", "manager")
    data = {k: v["value"] for k, v in sent(sandbox)[0]["data"].items()}
    assert data["thing1"] == "月饼 6枚" and data["thing2"] == "静安寺店"
    assert data["phrase3"] == "库存告急" and data["number4"] == "8"
    event = db.session.get(StockLevelEvent, red["level_event_id"])
    db.session.refresh(event)
    assert event.to_level == "red" and event.notified_at is not None


def test_the_dispatcher_delivers_a_paid_orders_alert_once(app, client, sandbox, team):
    """The wiring: a `staff_alert` outbox row (as a verified payment writes it) goes out
    through the dispatcher to the store's bound clerk and manager, and a second pass sends
    nothing more."""
    from models.outbox.dispatch import dispatch_due
    from models.payments.apply import apply_transaction

    rice = make_product("五常大米", skus=[("5kg", 8900)]).skus[0]
    set_stock(team["jingan"], rice, 5)
    user, shopper = make_shopper()
    order = db.session.scalars(select(Order).where(Order.order_no == client.post(
        "/api/orders", headers=shopper, json=order_body(team["jingan"], (rice, 1))).json["order_no"])).one()
    cfg = app.config
    assert apply_transaction({
        "trade_state": "SUCCESS", "out_trade_no": order.order_no, "transaction_id": "4200000000202611220001",
        "mchid": cfg["WECHATPAY_MCHID"], "appid": cfg["WECHAT_APPID"],
        "amount": {"total": order.payable_fen, "payer_total": order.payable_fen, "currency": "CNY"},
        "success_time": "2026-11-22T10:00:00+08:00"}, source="notify") == "applied"
    db.session.commit()
    dispatch_due()
    dispatch_due()
    assert recipients_of(sandbox) == openids("clerk", "manager")
    row = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "staff_alert")).one()
    assert row.status == "sent"
