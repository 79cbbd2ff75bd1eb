"""Payment and refund notifications: wechatpayv3's callback() must accept and decrypt
them; probes must fail it; failures are retried on the (accelerated) schedule."""
from __future__ import annotations

import json
import re
import time
from urllib.parse import urlsplit

import requests
from flask import Flask, request
from wechatpayv3.type import RequestType

from tests.wechat.conftest import APPID
from tests.wechat.pay_support import MCHID, SCALE, wait_for

PAYER = {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}
HEADERS = ("Wechatpay-Serial", "Wechatpay-Signature", "Wechatpay-Timestamp", "Wechatpay-Nonce",
           "Wechatpay-Signature-Type")


def order(wxpay, receiver, out_trade_no="T20240501000123", total=1230):
    code, _ = wxpay.pay(description="提货-人民广场店", out_trade_no=out_trade_no,
                        amount={"total": total}, payer=PAYER, notify_url=receiver.url)
    assert code == 200
    return out_trade_no


def act(pay_server, path, **body):
    res = requests.post(pay_server.base_url + path, json=body, timeout=5)
    assert res.status_code == 200, res.text
    return res.json()


def deliveries(pay_server, **filters):
    return requests.get(pay_server.base_url + "/_/pay/notifications",
                        params={"wait": 5, **filters}, timeout=10).json()


def test_payment_notification_verifies_and_decrypts_with_wechatpayv3(wxpay, receiver,
                                                                    pay_server, pay):
    receiver.verify = wxpay
    no = order(wxpay, receiver)
    paid = act(pay_server, f"/_/pay/transactions/{no}/pay")
    assert paid["notified"] is True and paid["transaction"]["trade_state"] == "SUCCESS"
    log = deliveries(pay_server)
    assert log["pending"] == 0
    assert [(n["variant"], n["attempt"], n["status_code"], n["accepted"])
            for n in log["notifications"]] == [("normal", 1, 204, True)]

    (got,) = receiver.requests
    assert all(h in got["headers"] for h in HEADERS)
    assert got["headers"]["Wechatpay-Serial"] == pay.public_key_id
    assert got["headers"]["Wechatpay-Signature-Type"] == "WECHATPAY2-SHA256-RSA2048"
    envelope = json.loads(got["body"])
    assert re.fullmatch(r"EV-\d{19}", envelope["id"])
    assert envelope["event_type"] == "TRANSACTION.SUCCESS" and envelope["summary"] == "支付成功"
    assert envelope["resource_type"] == "encrypt-resource"
    resource = envelope["resource"]
    assert resource["original_type"] == "transaction"
    assert resource["algorithm"] == "AEAD_AES_256_GCM"
    assert resource["associated_data"] == "transaction" and len(resource["nonce"]) == 12

    decrypted = got["callback"]["resource"]
    assert decrypted == json.loads(wxpay.query(out_trade_no=no)[1])
    assert decrypted["trade_state"] == "SUCCESS" and decrypted["payer"] == PAYER
    assert decrypted["amount"]["total"] == 1230 and decrypted["mchid"] == MCHID
    assert decrypted["appid"] == APPID


def test_signtest_and_stale_probes_come_first_and_must_be_rejected(wxpay, receiver, pay_server):
    receiver.verify = wxpay  # a correct backend: callback() plus the 5-minute window
    no = order(wxpay, receiver)
    act(pay_server, f"/_/pay/transactions/{no}/pay", signtest=True, stale=True)
    log = deliveries(pay_server, out_trade_no=no)["notifications"]
    assert [(n["variant"], n["status_code"]) for n in log] == [
        ("signtest", 401), ("stale", 401), ("normal", 204)]
    probe, stale, normal = receiver.requests
    assert probe["headers"]["Wechatpay-Signature"].startswith("WECHATPAY/SIGNTEST/")
    assert probe["callback"] is None  # wechatpayv3 rejects the probe's signature
    # The stale copy is correctly signed: only the timestamp check can reject it.
    assert stale["callback"] is not None
    assert int(normal["headers"]["Wechatpay-Timestamp"]) - int(
        stale["headers"]["Wechatpay-Timestamp"]) >= 599
    assert normal["callback"]["resource"]["out_trade_no"] == no


def test_duplicates_follow_an_accepted_delivery(wxpay, receiver, pay_server):
    no = order(wxpay, receiver)
    act(pay_server, f"/_/pay/transactions/{no}/pay", duplicates=2)
    log = deliveries(pay_server)["notifications"]
    assert [(n["variant"], n["attempt"]) for n in log] == [
        ("normal", 1), ("duplicate", 1), ("duplicate", 2)]
    bodies = [json.loads(r["body"]) for r in receiver.requests]
    assert len({b["id"] for b in bodies}) == 1  # the same event each time
    assert len({r["headers"]["Wechatpay-Nonce"] for r in receiver.requests}) == 3  # re-signed
    assert all(wxpay.callback(r["headers"], r["body"]) for r in receiver.requests)


def test_a_delayed_notification_comes_after_the_query(wxpay, receiver, pay_server):
    no = order(wxpay, receiver)
    act(pay_server, f"/_/pay/transactions/{no}/pay", delay=0.3)
    assert json.loads(wxpay.query(out_trade_no=no)[1])["trade_state"] == "SUCCESS"
    pending = requests.get(pay_server.base_url + "/_/pay/notifications", timeout=5).json()
    assert pending == {"notifications": [], "pending": 1} and receiver.requests == []
    assert deliveries(pay_server)["notifications"][0]["accepted"] is True


def test_failures_are_retried_on_the_scaled_schedule(wxpay, receiver, pay_server):
    receiver.script = [500, 503, 204]
    no = order(wxpay, receiver)
    act(pay_server, f"/_/pay/transactions/{no}/pay")
    log = deliveries(pay_server)["notifications"]
    assert [(n["attempt"], n["status_code"], n["accepted"]) for n in log] == [
        (1, 500, False), (2, 503, False), (3, 204, True)]
    at = [r["at"] for r in receiver.requests]
    assert at[1] - at[0] >= 15 * SCALE * 0.9 and at[2] - at[1] >= 15 * SCALE * 0.9
    assert receiver.requests[0]["body"] == receiver.requests[2]["body"]


def test_retries_end_with_the_schedule(wxpay, receiver, pay_server, pay):
    pay.max_notify_attempts = 3  # the full schedule is 16 sends over 24 h 4 min
    receiver.default = 500
    no = order(wxpay, receiver)
    act(pay_server, f"/_/pay/transactions/{no}/pay", duplicates=1)
    log = deliveries(pay_server)["notifications"]
    assert [(n["attempt"], n["accepted"]) for n in log] == [(1, False), (2, False), (3, False)]
    assert len(receiver.requests) == 3  # no duplicate after a failed delivery


def test_a_slow_answer_counts_as_a_failure(wxpay, receiver, pay_server, pay):
    pay.notify_timeout = 0.3  # WeChat waits 5 s
    receiver.delays = [0.6]
    no = order(wxpay, receiver)
    act(pay_server, f"/_/pay/transactions/{no}/pay")
    log = deliveries(pay_server)["notifications"]
    assert [n["accepted"] for n in log] == [False, True]
    assert log[0]["error"] and log[0]["status_code"] is None
    assert wait_for(lambda: len(receiver.requests) == 2)  # the slow one finishes too


def test_lost_notification_and_wrong_amount(wxpay, receiver, pay_server):
    lost = order(wxpay, receiver, "T_LOST_01")
    act(pay_server, f"/_/pay/transactions/{lost}/pay", notify=False)
    assert json.loads(wxpay.query(out_trade_no=lost)[1])["trade_state"] == "SUCCESS"
    wrong = order(wxpay, receiver, "T_WRONG_1")
    act(pay_server, f"/_/pay/transactions/{wrong}/pay", amount=1)
    deliveries(pay_server)
    (got,) = receiver.requests  # nothing was sent for the lost one
    assert wxpay.callback(got["headers"], got["body"])["resource"]["amount"]["total"] == 1


def test_refund_notifications(wxpay, receiver, pay_server, pay):
    receiver.verify = wxpay
    no = order(wxpay, receiver)
    act(pay_server, f"/_/pay/transactions/{no}/pay")
    deliveries(pay_server)  # each delivery runs in its own thread: keep them in order
    amount = {"refund": 230, "total": 1230, "currency": "CNY"}
    assert wxpay.refund(out_refund_no="R1", out_trade_no=no, amount=amount,
                        notify_url=receiver.url)[0] == 200
    assert wxpay.refund(out_refund_no="R2", out_trade_no=no, amount=amount,
                        notify_url=receiver.url)[0] == 200
    no_url = {"out_refund_no": "R3", "out_trade_no": no, "amount": amount}
    assert wxpay._core.request("/v3/refund/domestic/refunds", method=RequestType.POST,
                               data=no_url)[0] == 200
    done = act(pay_server, "/_/pay/refunds/R1/finish", status="SUCCESS")
    assert done["notified"] is True and done["refund"]["status"] == "SUCCESS"
    deliveries(pay_server)
    act(pay_server, "/_/pay/refunds/R2/finish", status="CLOSED")
    assert act(pay_server, "/_/pay/refunds/R3/finish", status="ABNORMAL")["notified"] is False
    log = deliveries(pay_server, kind="refund")["notifications"]
    assert [(n["out_refund_no"], n["event_type"], n["accepted"]) for n in log] == [
        ("R1", "REFUND.SUCCESS", True), ("R2", "REFUND.CLOSED", True)]

    refunds = [r["callback"] for r in receiver.requests[1:]]
    success = refunds[0]["resource"]
    assert refunds[0]["event_type"] == "REFUND.SUCCESS" and refunds[0]["summary"] == "退款成功"
    assert set(success) == {"mchid", "transaction_id", "out_trade_no", "refund_id",
                            "out_refund_no", "refund_status", "success_time",
                            "user_received_account", "amount"}
    assert success["refund_status"] == "SUCCESS" and success["out_refund_no"] == "R1"
    assert success["amount"] == {"total": 1230, "refund": 230, "payer_total": 1230,
                                 "payer_refund": 230}
    assert json.loads(receiver.requests[1]["body"])["resource"]["original_type"] == "refund"
    assert refunds[1]["resource"]["refund_status"] == "CLOSED"
    assert "success_time" not in refunds[1]["resource"]
    assert json.loads(wxpay.query_refund(out_refund_no="R1")[1])["status"] == "SUCCESS"
    res = requests.post(pay_server.base_url + "/_/pay/refunds/R1/finish", timeout=5,
                        json={"status": "CLOSED"})
    assert res.status_code == 409  # SUCCESS is final


def test_request_payment_checks_pay_sign(wxpay, receiver, pay_server, pay):
    receiver.verify = wxpay
    code, text = wxpay.pay(description="提货", out_trade_no="T_RP_0001", amount={"total": 99},
                           payer=PAYER, notify_url=receiver.url)
    package = "prepay_id=" + json.loads(text)["prepay_id"]
    ts, nonce = str(int(time.time())), "5K8264ILTKCH16CQ2502SI8ZNMTM67VS"
    params = {"appId": APPID, "timeStamp": ts, "nonceStr": nonce, "package": package,
              "signType": "RSA", "paySign": wxpay.sign([APPID, ts, nonce, package])}
    url = pay_server.base_url + "/_/pay/request-payment"
    for bad in ({"timeStamp": int(ts)}, {"appId": "wx2222222222222222"},
                {"paySign": wxpay.sign([APPID, ts, nonce, package, "RSA"])}):
        res = requests.post(url, json={**params, **bad}, timeout=5)
        assert res.status_code == 400 and res.json()["errMsg"].startswith("requestPayment:fail")
    assert pay.transaction(MCHID, "T_RP_0001").trade_state == "NOTPAY"
    res = requests.post(url, json=params, timeout=5)
    assert res.status_code == 200 and res.json()["errMsg"] == "requestPayment:ok"
    assert wait_for(lambda: receiver.requests)[0]["callback"]["resource"]["amount"]["total"] == 99
    assert requests.post(url, json=params, timeout=5).status_code == 400  # paid already


def test_reset_stops_pending_retries(wxpay, receiver, pay_server, pay):
    pay.notify_time_scale = 0.05  # 0.75 s before the second attempt
    receiver.default = 500
    no = order(wxpay, receiver)
    act(pay_server, f"/_/pay/transactions/{no}/pay")
    wait_for(lambda: receiver.requests)
    act(pay_server, "/_/reset")
    assert pay.notifier.wait(3)
    assert len(receiver.requests) == 1 and pay.notifier.log == []
    assert pay.transactions() == []



def test_deliveries_go_to_loopback_hosts_only(wxpay, pay_server, pay):
    code, _ = wxpay.pay(description="提货", out_trade_no="T_FAR_001", amount={"total": 5},
                        payer=PAYER, notify_url="https://merchant.example/pay/notify")
    assert code == 200
    act(pay_server, "/_/pay/transactions/T_FAR_001/pay")
    log = deliveries(pay_server)["notifications"]
    assert len(log) == pay.max_notify_attempts
    assert all(n["status_code"] is None and "loopback" in n["error"] for n in log)


def test_a_notify_sender_hook_replaces_http(wxpay, pay, pay_server):
    """For app tests that run no server: hand the notification to a Flask test client."""
    app = Flask("backend")
    got = []

    @app.post("/api/pay/notify")
    def notify():
        got.append(wxpay.callback(request.headers, request.get_data()))
        return "", 204 if got[-1] else 401

    http = app.test_client()
    pay.notify_sender = lambda url, headers, body, timeout: http.post(
        urlsplit(url).path, data=body, headers=headers).status_code
    code, _ = wxpay.pay(description="提货", out_trade_no="T_HOOK_01", amount={"total": 7},
                        payer=PAYER, notify_url="https://shop.example/api/pay/notify")
    assert code == 200
    act(pay_server, "/_/pay/transactions/T_HOOK_01/pay", signtest=True)
    log = deliveries(pay_server)["notifications"]
    assert [(n["variant"], n["status_code"]) for n in log] == [("signtest", 401),
                                                                ("normal", 204)]
    assert got[0] is None and got[1]["resource"]["amount"]["total"] == 7
