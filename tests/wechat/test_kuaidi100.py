"""快递100's imitation and our client (wechat/kuaidi100.py) check each other: the
sandbox signs pushes with hashlib on its own, the client verifies them; the client signs
real-time queries, the sandbox verifies them. Plus WeChat's logistics calls (§9)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import requests

from wechat.errors import WeChatAPIError
from wechat.kuaidi100 import Kuaidi100Client, Kuaidi100Error, push_signature, push_signed

KEY, CUSTOMER = "sandboxKuaidi100Key", "SANDBOXCUSTOMER0000000000000000"


@pytest.fixture
def k100(fresh_sandbox):
    return Kuaidi100Client(KEY, CUSTOMER, fresh_sandbox.base_url, timeout=2)


@pytest.fixture
def pushes(state):
    """What the sandbox pushes, caught instead of sent."""
    caught = []
    state.kuaidi100.sender = lambda url, form: (caught.append((url, form)) or (200, json.dumps(
        {"result": True, "returnCode": "200", "message": "成功"})))
    yield caught
    state.kuaidi100.sender = None


def test_subscribe_then_again_is_already_subscribed(k100, state):
    args = dict(company="shunfeng", number="SF1234567890", callback_url="http://127.0.0.1:9/cb", salt="s" * 32,
                phone="13812345678")
    assert k100.subscribe(**args) == "200"
    assert k100.subscribe(**args) == "501"  # still polling: as good as accepted (§10.1)
    [sub] = state.kuaidi100.subscriptions()
    assert (sub["company"], sub["salt"], sub["phone_given"], sub["status"]) == ("shunfeng", "s" * 32, True, "polling")


@pytest.mark.parametrize("change, code", [
    ({"company": "SHUNFENG"}, "700"),          # codes are lower case
    ({"company": "nosuchco"}, "700"),
    ({"callback_url": "ftp://x"}, "700"),
    ({"company": "", "number": "XX123"}, "702"),  # autoCom cannot tell the carrier
])
def test_subscribe_refusals(k100, change, code):
    args = dict(company="yuantong", number="YT1234567890", callback_url="http://127.0.0.1:9/cb", salt="x")
    with pytest.raises(Kuaidi100Error) as err:
        k100.subscribe(**{**args, **change})
    assert err.value.return_code == code and err.value.permanent


def test_a_bad_key_is_refused_for_good(fresh_sandbox):
    with pytest.raises(Kuaidi100Error) as err:
        Kuaidi100Client("wrong", CUSTOMER, fresh_sandbox.base_url).subscribe(
            company="ems", number="E1234", callback_url="http://127.0.0.1:9/cb", salt="x")
    assert err.value.return_code == "600" and err.value.permanent


def test_autocom_guesses_the_carrier(k100, state):
    k100.subscribe(company="", number="ZT9999", callback_url="http://127.0.0.1:9/cb", salt="x")
    assert state.kuaidi100.subscriptions()[0]["company"] == "zhongtong"


def test_pushes_are_signed_as_the_client_verifies_them(k100, state, pushes):
    k100.subscribe(company="shunfeng", number="SF1", callback_url="http://127.0.0.1:9/cb", salt="salty")
    state.kuaidi100.add_event("SF1", state=1, context="已揽收")
    state.kuaidi100.send(state.kuaidi100.build_push("SF1"))
    state.kuaidi100.send(state.kuaidi100.build_push("SF1", forge=True))
    state.kuaidi100.send(state.kuaidi100.build_push("SF1", tamper=True))
    (url, good), (_, forged), (_, tampered) = pushes
    assert url == "http://127.0.0.1:9/cb" and push_signed(good["param"], good["sign"], "salty")
    assert good["sign"] == push_signature(good["param"], "salty") and good["sign"].isupper()
    assert not push_signed(forged["param"], forged["sign"], "salty")
    assert not push_signed(tampered["param"], tampered["sign"], "salty")
    param = json.loads(good["param"])
    assert param["status"] == "polling" and param["lastResult"]["state"] == "1"
    assert param["lastResult"]["data"][0]["context"] == "已揽收"
    state.kuaidi100.add_event("SF1", state=3, context="已签收")
    state.kuaidi100.send(state.kuaidi100.build_push("SF1"))
    signed = json.loads(pushes[-1][1]["param"])
    assert signed["status"] == "shutdown" and signed["lastResult"]["ischeck"] == "1"
    assert [n["context"] for n in signed["lastResult"]["data"]] == ["已签收", "已揽收"]  # newest first


def test_the_real_time_query_is_signed_and_answered(k100, state, fresh_sandbox):
    k100.subscribe(company="yunda", number="YD1", callback_url="http://127.0.0.1:9/cb", salt="x")
    with pytest.raises(Kuaidi100Error) as err:
        k100.query(company="yunda", number="YD1")  # nothing known yet
    assert err.value.return_code == "500" and not err.value.permanent
    state.kuaidi100.add_event("YD1", state=5, context="派件中")
    answer = k100.query(company="yunda", number="YD1")
    assert answer["state"] == "5" and answer["data"][0]["context"] == "派件中"
    with pytest.raises(Kuaidi100Error) as err:
        Kuaidi100Client(KEY + "x", CUSTOMER, fresh_sandbox.base_url).query(company="yunda", number="YD1")
    assert err.value.return_code == "400"  # the signature does not match


def test_trace_waybill_and_confirm_receive(mp, state):
    goods = {"detail_list": [{"goods_name": "月饼 6枚", "goods_img_url": "https://example.invalid/a.png"}]}
    body = {"openid": "o1", "receiver_phone": "13812345678", "waybill_id": "SF1", "goods_info": goods}
    with pytest.raises(WeChatAPIError) as err:
        mp.trace_waybill({**body, "receiver_phone": ""})
    assert err.value.errcode == 47001 and "receiver_phone" in err.value.errmsg
    token = mp.trace_waybill(body)
    assert mp.trace_waybill(body) == token  # the same waybill, the token it was given
    key = {"transaction_id": "4200000001"}
    received = int(datetime.now(timezone.utc).timestamp())
    with pytest.raises(WeChatAPIError) as err:
        mp.notify_confirm_receive({**key, "received_time": received})
    assert err.value.errcode == 10060001  # never uploaded as shipped by express
    shipped_at = datetime.now(timezone(timedelta(hours=8))) - timedelta(hours=1)
    state.record("shipping_uploads", {"appid": mp.appid, "payload": {
        "logistics_type": 1, "order_key": {"order_number_type": 2, **key},
        "upload_time": shipped_at.isoformat(timespec="milliseconds")}})
    for bad in (received * 1000, int(shipped_at.timestamp()) - 60):
        with pytest.raises(WeChatAPIError) as err:
            mp.notify_confirm_receive({**key, "received_time": bad})
        assert err.value.errcode == 10060029
    mp.notify_confirm_receive({**key, "received_time": received})
    with pytest.raises(WeChatAPIError) as err:
        mp.notify_confirm_receive({**key, "received_time": received})
    assert err.value.errcode == 10060030  # each order is reminded once


def test_query_trace_follows_the_carrier(mp, state, k100):
    goods = {"detail_list": [{"goods_name": "月饼", "goods_img_url": "https://example.invalid/a.png"}]}
    token = mp.trace_waybill({"openid": "o1", "receiver_phone": "138", "waybill_id": "JT1", "goods_info": goods})
    k100.subscribe(company="jtexpress", number="JT1", callback_url="http://127.0.0.1:9/cb", salt="x")
    state.kuaidi100.add_event("JT1", state=5)
    res = mp._post_json("query_trace", "cgi-bin/express/delivery/open_msg/query_trace", {"waybill_token": token})
    assert res["waybill_info"] == {"waybill_id": "JT1", "status": 3}
    with pytest.raises(WeChatAPIError) as err:
        mp._post_json("query_trace", "cgi-bin/express/delivery/open_msg/query_trace", {"waybill_token": "nope"})
    assert err.value.errcode == 9300507


def test_control_endpoints_refuse_unknown_numbers(fresh_sandbox):
    res = requests.post(fresh_sandbox.base_url + "/_/kuaidi100/push", json={"number": "nope"}, timeout=5)
    assert res.status_code == 404
