"""Answers of the API: verification of 2xx, errors, retries, and the endpoint shapes."""
from __future__ import annotations

import json
import socket
import time
from datetime import datetime, timedelta, timezone

import pytest

from tests.wechat.pay.conftest import MCHID, Answer
from tests.wechat.pay.test_signing import auth_params, signature_ok
from wechat.pay import (ResponseSignatureInvalid, WeChatPayError, WeChatPayUnavailable)

EXPIRE = datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=8)))
PREPAY = dict(description="提货券", out_trade_no="T20240501_0001", amount_fen=100,
              payer_openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
              notify_url="https://shop.example.com/pay/notify", time_expire=EXPIRE)
OK = b'{"prepay_id":"wx1"}'


def test_2xx_with_a_bad_signature_is_a_security_error(make_client, server, respond, stranger):
    server.handler = lambda req: respond(200, OK, key=stranger.private)
    with pytest.raises(ResponseSignatureInvalid, match="does not verify"):
        make_client().prepay_jsapi(**PREPAY)
    assert len(server.seen) == 1  # not retried


def test_2xx_with_a_changed_body_is_rejected(make_client, server, respond):
    def handler(req):
        answer = respond(200, OK)
        answer.body = b'{"prepay_id":"wx2"}'
        return answer
    server.handler = handler
    with pytest.raises(ResponseSignatureInvalid):
        make_client().prepay_jsapi(**PREPAY)


@pytest.mark.parametrize("change, reason", [
    (dict(signature="WECHATPAY/SIGNTEST/abc"), "probe"),
    (dict(sig_type=None), "Signature-Type"),
    (dict(ts_shift=-301), "window")])
def test_2xx_probe_type_and_stale_answers_are_rejected(make_client, server, respond, clock,
                                                       change, reason):
    shift = change.pop("ts_shift", 0)
    server.handler = lambda req: respond(200, OK, ts=int(clock()) + shift, **change)
    with pytest.raises(ResponseSignatureInvalid) as info:
        make_client().prepay_jsapi(**PREPAY)
    assert reason in info.value.reason and isinstance(info.value, WeChatPayUnavailable)


def test_2xx_without_signature_headers_is_rejected(make_client, server):
    server.handler = lambda req: Answer(200, OK, {"Content-Type": "application/json"})
    with pytest.raises(ResponseSignatureInvalid, match="missing"):
        make_client().prepay_jsapi(**PREPAY)


def test_4xx_becomes_wechatpayerror_and_is_not_retried(make_client, server, sleeps):
    body = {"code": "PARAM_ERROR", "message": "输入源“/body/time_expire”格式错误",
            "detail": {"location": "body", "value": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}}
    server.handler = lambda req: Answer(400, json.dumps(body).encode(),
                                        {"Content-Type": "application/json"})  # unsigned
    client = make_client()
    with pytest.raises(WeChatPayError) as info:
        client.prepay_jsapi(**PREPAY)
    err = info.value
    assert (err.status, err.code, err.detail) == (400, "PARAM_ERROR", body["detail"])
    assert "time_expire" in err.message
    assert "oUpF8u" not in str(err)  # the detail's value (personal data) stays out
    assert len(server.seen) == 1 and sleeps == []


def test_429_is_not_retried(make_client, server):
    server.handler = lambda req: Answer(429, b'{"code":"FREQUENCY_LIMITED","message":"slow"}')
    with pytest.raises(WeChatPayError, match="FREQUENCY_LIMITED"):
        make_client().query(out_trade_no="T20240501_0001")
    assert len(server.seen) == 1


def test_4xx_without_an_error_body_is_unavailable(make_client, server):
    server.handler = lambda req: Answer(404, b"<html>nginx</html>", {"Content-Type": "text/html"})
    with pytest.raises(WeChatPayUnavailable) as info:
        make_client().query(out_trade_no="T20240501_0001")
    assert info.value.status == 404 and "nginx" not in str(info.value)


def test_502_is_retried_with_the_same_body_then_succeeds(make_client, server, respond, merchant,
                                                          sleeps):
    answers = [Answer(502, b"<html>bad gateway</html>"), None]
    server.handler = lambda req: answers.pop(0) or respond(200, OK)
    client = make_client()
    assert client.prepay_jsapi(**PREPAY) == "wx1"
    first, second = server.seen
    assert first.body == second.body and first.uri == second.uri
    assert signature_ok(first, merchant.public) and signature_ok(second, merchant.public)
    assert auth_params(first)["nonce_str"] != auth_params(second)["nonce_str"]
    assert sleeps == [0.0]


def test_5xx_exhausts_the_retries(make_client, server, sleeps):
    server.handler = lambda req: Answer(500, b'{"code":"SYSTEM_ERROR","message":"busy"}')
    client = make_client(retries=2, backoff=0.5)
    with pytest.raises(WeChatPayUnavailable) as info:
        client.refund(out_refund_no="R20240501_1", amount_fen=100, total_fen=100,
                      out_trade_no="T20240501_0001")
    assert (info.value.status, info.value.code) == (500, "SYSTEM_ERROR")
    assert len(server.seen) == 3 and len({r.body for r in server.seen}) == 1
    assert sleeps == [0.5, 1.0]  # exponential backoff


def test_connection_refused_is_unavailable_after_the_retries(make_client, sleeps):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = make_client(api_base=f"http://127.0.0.1:{port}", retries=2)
    with pytest.raises(WeChatPayUnavailable) as info:
        client.query(out_trade_no="T20240501_0001")
    assert "ConnectionError after 3 attempt" in info.value.reason
    assert str(port) not in str(info.value)  # no URL in the message
    assert len(sleeps) == 2


def test_read_timeout_is_retried(make_client, server, respond):
    calls = []

    def handler(req):
        calls.append(1)
        if len(calls) == 1:
            time.sleep(0.6)
        return respond(200, b'{"trade_state":"NOTPAY"}')
    server.handler = handler
    client = make_client(timeout=0.3, retries=1)
    assert client.query(out_trade_no="T20240501_0001") == {"trade_state": "NOTPAY"}
    assert len(calls) == 2


# --- endpoints --------------------------------------------------------------------------------

def test_query_returns_the_transaction_or_none(make_client, server, respond):
    tx = {"out_trade_no": "T20240501_0001", "trade_state": "SUCCESS",
          "transaction_id": "4200002297202405011234567890", "amount": {"total": 100}}
    server.handler = lambda req: respond(200, json.dumps(tx).encode())
    client = make_client()
    assert client.query(transaction_id="4200002297202405011234567890") == tx
    assert server.seen[-1].uri == f"/v3/pay/transactions/id/4200002297202405011234567890?mchid={MCHID}"
    server.handler = lambda req: Answer(404, b'{"code":"ORDER_NOT_EXIST","message":"no"}')
    assert client.query(out_trade_no="T20240501_0002") is None


def test_close_of_a_paid_order_raises_orderpaid(make_client, server):
    server.handler = lambda req: Answer(400, b'{"code":"ORDERPAID","message":"\\u8be5\\u8ba2\\u5355\\u5df2\\u652f\\u4ed8"}')
    with pytest.raises(WeChatPayError) as info:
        make_client().close("T20240501_0001")
    assert info.value.code == "ORDERPAID" and info.value.message == "该订单已支付"


def test_refund_sends_the_refund_object(make_client, server, respond):
    refund = {"refund_id": "50000000382019052709732678859", "out_refund_no": "R20240501_1",
              "status": "PROCESSING", "amount": {"refund": 30, "total": 100}}
    server.handler = lambda req: respond(200, json.dumps(refund).encode())
    client = make_client()
    assert client.refund(out_refund_no="R20240501_1", amount_fen=30, total_fen=100,
                         transaction_id="4200002297202405011234567890", reason="缺货",
                         notify_url="https://shop.example.com/pay/refund-notify") == refund
    [req] = server.seen
    assert req.uri == "/v3/refund/domestic/refunds"
    assert json.loads(req.body) == {
        "out_refund_no": "R20240501_1", "transaction_id": "4200002297202405011234567890",
        "reason": "缺货", "notify_url": "https://shop.example.com/pay/refund-notify",
        "amount": {"refund": 30, "total": 100, "currency": "CNY"}}


def test_refund_leaves_out_empty_optional_fields(make_client, server, respond):
    server.handler = lambda req: respond(200, b'{"status":"SUCCESS"}')
    make_client().refund(out_refund_no="R2", amount_fen=100, total_fen=100,
                         out_trade_no="T20240501_0001", reason="", notify_url=None)
    assert json.loads(server.seen[0].body) == {
        "out_refund_no": "R2", "out_trade_no": "T20240501_0001",
        "amount": {"refund": 100, "total": 100, "currency": "CNY"}}


def test_query_refund_returns_the_refund_or_none(make_client, server, respond):
    server.handler = lambda req: respond(200, b'{"out_refund_no":"R1","status":"SUCCESS"}')
    client = make_client()
    assert client.query_refund("R1")["status"] == "SUCCESS"
    assert server.seen[-1].uri == "/v3/refund/domestic/refunds/R1"
    server.handler = lambda req: Answer(404, '{"code":"RESOURCE_NOT_EXISTS","message":"退款单不存在"}'.encode())
    assert client.query_refund("R2") is None


@pytest.mark.parametrize("change", [
    dict(out_trade_no="T1234"), dict(out_trade_no="T" * 33), dict(out_trade_no="T2024 0501"),
    dict(out_trade_no="订单20240501"), dict(description=""), dict(description="x" * 128),
    dict(amount_fen=0), dict(amount_fen=-1), dict(amount_fen=1.0), dict(amount_fen=True),
    dict(amount_fen="100"), dict(time_expire=datetime(2024, 5, 1, 12, 0)),
    dict(notify_url="https://shop.example.com/notify?x=1"), dict(attach="a" * 129),
    dict(payer_openid="")])
def test_prepay_validates_locally_before_sending(make_client, server, change):
    with pytest.raises(ValueError):
        make_client().prepay_jsapi(**{**PREPAY, **change})
    assert server.seen == []


def test_refund_and_query_validate_locally(make_client, server):
    client = make_client()
    for kwargs in (dict(out_refund_no="R1", amount_fen=101, total_fen=100, out_trade_no="T20240501_0001"),
                   dict(out_refund_no="R1", amount_fen=1, total_fen=100),
                   dict(out_refund_no="R1", amount_fen=1, total_fen=100, out_trade_no="T20240501_0001",
                        transaction_id="42"),
                   dict(out_refund_no="R 1", amount_fen=1, total_fen=100, out_trade_no="T20240501_0001"),
                   dict(out_refund_no="R1", amount_fen=1, total_fen=100, out_trade_no="T20240501_0001",
                        reason="x" * 81)):
        with pytest.raises(ValueError):
            client.refund(**kwargs)
    with pytest.raises(ValueError):
        client.query()
    with pytest.raises(ValueError):
        client.query(out_trade_no="T20240501_0001", transaction_id="42")
    assert server.seen == []


def test_time_expire_is_china_time_without_microseconds(make_client, server, respond):
    server.handler = lambda req: respond(200, OK)
    moment = datetime(2024, 12, 31, 20, 0, 1, 999999, tzinfo=timezone(timedelta(hours=-5)))
    make_client().prepay_jsapi(**{**PREPAY, "time_expire": moment})
    assert json.loads(server.seen[0].body)["time_expire"] == "2025-01-01T09:00:01+08:00"
