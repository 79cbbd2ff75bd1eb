"""WeChat Pay APIv3 sandbox, driven by wechatpayv3 (which verifies every 2xx answer and
raises on a bad signature): prepay, query, close, refunds, Authorization checks and
field validation."""
from __future__ import annotations

import base64
import json
import re
import time

import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from wechatpayv3.type import RequestType

from tests.wechat.conftest import APPID, OTHER_APPID
from tests.wechat.pay_support import MCHID, OTHER_MCHID, raw_call, verify_response

PAYER = {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}
JSAPI = "/v3/pay/transactions/jsapi"


def prepay(wxpay, out_trade_no="T20240501000123", total=1230, **extra):
    return wxpay.pay(description="提货-人民广场店", out_trade_no=out_trade_no,
                     amount={"total": total}, payer=PAYER, **extra)


def body_of(wxpay, out_trade_no="T20240501000123", **changes) -> dict:
    body = {"appid": APPID, "mchid": MCHID, "description": "提货-人民广场店",
            "out_trade_no": out_trade_no, "notify_url": "https://merchant.example/pay/notify",
            "amount": {"total": 1230, "currency": "CNY"}, "payer": dict(PAYER)}
    for path, value in changes.items():  # amount__total=0; payer__openid=... deletes
        *parents, leaf = path.split("__")
        target = body[parents[0]] if parents else body
        if value is ...:
            del target[leaf]
        else:
            target[leaf] = value
    return body


def post(wxpay, path, body):
    code, text = wxpay._core.request(path, method=RequestType.POST, data=body)
    return code, json.loads(text) if text else None


def paid_order(wxpay, pay, out_trade_no="T20240501000123", total=1230):
    assert prepay(wxpay, out_trade_no, total)[0] == 200
    pay.mark_paid(pay.transaction(MCHID, out_trade_no))
    return pay.transaction(MCHID, out_trade_no)


def test_prepay_query_close_and_order_closed(wxpay, pay):
    code, text = prepay(wxpay, attach="store=9", time_expire="2030-05-01T12:15:00+08:00")
    assert code == 200
    prepay_id = json.loads(text)["prepay_id"]
    assert re.fullmatch(r"wx\d{14}[0-9a-f]{22}", prepay_id)

    code, text = wxpay.query(out_trade_no="T20240501000123")
    assert code == 200
    tx = json.loads(text)
    assert tx == {"appid": APPID, "mchid": MCHID, "out_trade_no": "T20240501000123",
                  "trade_type": "JSAPI", "trade_state": "NOTPAY",
                  "trade_state_desc": "订单未支付", "attach": "store=9",
                  "amount": {"total": 1230, "currency": "CNY", "payer_currency": "CNY"},
                  "promotion_detail": []}

    assert wxpay.close(out_trade_no="T20240501000123") == (204, "")
    assert json.loads(wxpay.query(out_trade_no="T20240501000123")[1])["trade_state"] == "CLOSED"
    assert wxpay.close(out_trade_no="T20240501000123")[0] == 204  # closing twice is fine
    code, text = prepay(wxpay, attach="store=9", time_expire="2030-05-01T12:15:00+08:00")
    assert (code, json.loads(text)["code"]) == (400, "ORDER_CLOSED")
    res = requests.post(wxpay._core._gate_way + "/_/pay/transactions/T20240501000123/pay",
                        timeout=5)
    assert res.status_code == 409 and res.json() == {"error": "the order is CLOSED"}


def test_same_params_give_a_fresh_prepay_id_changed_params_conflict(wxpay, pay):
    first = json.loads(prepay(wxpay)[1])["prepay_id"]
    second = json.loads(prepay(wxpay)[1])["prepay_id"]
    assert first != second
    assert list(pay.transaction(MCHID, "T20240501000123").prepay_ids) == [first, second]
    code, text = prepay(wxpay, total=1231)
    assert (code, json.loads(text)["code"]) == (403, "OUT_TRADE_NO_USED")


def test_query_a_paid_order_by_both_ids(wxpay, pay):
    tx = paid_order(wxpay, pay)
    assert re.fullmatch(r"42000\d{5}\d{8}\d{10}", tx.transaction_id)
    by_no = json.loads(wxpay.query(out_trade_no=tx.out_trade_no)[1])
    by_id = json.loads(wxpay.query(transaction_id=tx.transaction_id)[1])
    assert by_no == by_id
    assert by_no["trade_state"] == "SUCCESS" and by_no["trade_state_desc"] == "支付成功"
    assert by_no["transaction_id"] == tx.transaction_id and by_no["bank_type"] == "OTHERS"
    assert by_no["payer"] == PAYER
    assert by_no["amount"] == {"total": 1230, "payer_total": 1230, "currency": "CNY",
                               "payer_currency": "CNY"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", by_no["success_time"])
    code, text = wxpay.query(transaction_id="4200000000000000000000000000")
    assert (code, json.loads(text)["code"]) == (404, "ORDER_NOT_EXIST")


def test_closing_a_paid_order_is_orderpaid_and_unknown_is_204(wxpay, pay):
    paid_order(wxpay, pay)
    code, text = wxpay.close(out_trade_no="T20240501000123")
    assert (code, json.loads(text)) == (400, {"code": "ORDERPAID", "message": "该订单已支付"})
    assert wxpay.close(out_trade_no="NEVER_SEEN_1")[0] == 204
    code, text = prepay(wxpay)
    assert (code, json.loads(text)["code"]) == (400, "ORDERPAID")


def test_every_answer_carries_the_signed_header_set(pay, pay_server, keys):
    res = raw_call(keys, pay_server.base_url, "POST", JSAPI, body_of(None))
    assert res.status_code == 200
    assert res.headers["Content-Type"] == "application/json; charset=utf-8"
    assert re.fullmatch(r"[0-9a-f]{32}", res.headers["Wechatpay-Nonce"])
    assert res.headers["Wechatpay-Serial"] == pay.public_key_id
    assert re.fullmatch(r"PUB_KEY_ID_\d{34}", pay.public_key_id)
    assert res.headers["Wechatpay-Signature-Type"] == "WECHATPAY2-SHA256-RSA2048"
    assert abs(int(res.headers["Wechatpay-Timestamp"]) - time.time()) < 5
    assert res.headers["Request-ID"] and verify_response(pay, res)

    close = raw_call(keys, pay_server.base_url, "POST",
                     "/v3/pay/transactions/out-trade-no/T20240501000123/close", {"mchid": MCHID})
    assert close.status_code == 204 and close.content == b""
    key = load_pem_public_key(pay.platform_public_key_pem.encode())
    key.verify(base64.b64decode(close.headers["Wechatpay-Signature"]),
               f"{close.headers['Wechatpay-Timestamp']}\n{close.headers['Wechatpay-Nonce']}\n\n"
               .encode(), padding.PKCS1v15(), hashes.SHA256())

    error = raw_call(keys, pay_server.base_url, "GET", "/v3/pay/transactions/out-trade-no/XX")
    assert error.status_code == 400 and verify_response(pay, error)  # errors are signed too


def test_authorization_pairs_in_any_order(pay, pay_server, keys):
    order = ["mchid", "nonce_str", "timestamp", "serial_no", "signature"]  # wechatpay-go's
    res = raw_call(keys, pay_server.base_url, "POST", JSAPI, body_of(None), order=order)
    assert res.status_code == 200
    res = raw_call(keys, pay_server.base_url, "POST", JSAPI, body_of(None),
                   order=list(reversed(order)))
    assert res.status_code == 200


@pytest.mark.parametrize("case", ["tampered_body", "other_key", "wrong_serial", "stale",
                                  "unknown_mchid", "no_header", "other_path"])
def test_bad_authorization_is_401_sign_error(case, pay, pay_server, keys, merchant_keys):
    base, body = pay_server.base_url, body_of(None)
    if case == "tampered_body":  # signed one body, sent another
        from tests.wechat.pay_support import authorization
        auth = authorization(keys, "POST", JSAPI, json.dumps(body))
        res = requests.post(base + JSAPI, data=json.dumps(body, separators=(",", ":")),
                            headers={"Authorization": auth}, timeout=5)
    elif case == "no_header":
        res = requests.post(base + JSAPI, json=body, timeout=5)
    else:
        signer, kwargs = keys, {}
        if case == "other_key":
            signer = merchant_keys[1]
            kwargs["serial"] = keys.serial
        elif case == "wrong_serial":
            kwargs["serial"] = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
        elif case == "stale":
            kwargs["timestamp"] = int(time.time()) - 301
        elif case == "unknown_mchid":
            kwargs["mchid"] = "1234567890"
        elif case == "other_path":
            kwargs["sign_url"] = "/v3/pay/transactions/native"
        res = raw_call(signer, base, "POST", JSAPI, body, **kwargs)
    assert res.status_code == 401
    err = res.json()
    assert err["code"] == "SIGN_ERROR" and err["detail"]["location"] == "authorization"
    info = err["detail"]["sign_information"]
    assert info["method"] == "POST" and info["url"] == JSAPI
    assert "Wechatpay-Signature" not in res.headers  # the request was not authenticated
    assert pay.transactions() == []
    assert pay.calls[-1]["code"] == "SIGN_ERROR" and pay.calls[-1]["http_status"] == 401


LONG = "长" * 128


@pytest.mark.parametrize("changes, field, value", [
    ({"out_trade_no": "T1234"}, "out_trade_no", "T1234"),
    ({"out_trade_no": "T1234567890123456789012345678901X"}, "out_trade_no",
     "T1234567890123456789012345678901X"),
    ({"out_trade_no": "T2024#0001"}, "out_trade_no", "T2024#0001"),
    ({"description": LONG}, "description", LONG),
    ({"attach": "a" * 129}, "attach", "a" * 129),
    ({"amount__total": 0}, "amount/total", 0),
    ({"amount__total": 12.3}, "amount/total", 12.3),
    ({"amount__total": "1230"}, "amount/total", "1230"),
    ({"amount__currency": "USD"}, "amount/currency", "USD"),
    ({"time_expire": "20220421191948"}, "time_expire", "20220421191948"),
    ({"time_expire": "2022-04-21T19:19:48"}, "time_expire", "2022-04-21T19:19:48"),
    ({"notify_url": "http://merchant.example/pay/notify"}, "notify_url",
     "http://merchant.example/pay/notify"),
    ({"notify_url": "https://merchant.example/pay/notify?o=1"}, "notify_url",
     "https://merchant.example/pay/notify?o=1"),
    ({"payer__openid": ...}, "payer/openid", None),
    ({"description": ...}, "description", None),
])
def test_prepay_field_rules(changes, field, value, wxpay, pay):
    code, err = post(wxpay, JSAPI, body_of(wxpay, **changes))
    assert code == 400 and err["code"] == "PARAM_ERROR"
    assert err["detail"] == {"location": "body", "value": value}
    assert f"/body/{field}”" in err["message"]
    assert pay.transactions() == []


def test_prepay_accepts_the_edges(wxpay, pay):
    ok = body_of(wxpay, out_trade_no="a_b-c|d*e", description="长" * 127, attach="a" * 128,
                 time_expire="2030-01-01T00:00:00Z")
    assert post(wxpay, JSAPI, ok)[0] == 200
    assert post(wxpay, JSAPI, body_of(wxpay, out_trade_no="X" * 32))[0] == 200


def test_http_notify_url_only_on_loopback_and_only_when_allowed(wxpay, pay):
    local = body_of(wxpay, notify_url="http://127.0.0.1:8000/api/pay/notify")
    assert post(wxpay, JSAPI, local)[0] == 200
    assert post(wxpay, JSAPI, body_of(wxpay, "T2", notify_url="http://localhost/n"))[0] == 400
    assert post(wxpay, JSAPI, body_of(wxpay, "T000002", notify_url="http://localhost/n"))[0] == 200
    pay.allow_http_loopback_notify = False
    code, err = post(wxpay, JSAPI, body_of(wxpay, "T000003",
                                           notify_url="http://127.0.0.1:8000/api/pay/notify"))
    assert (code, err["detail"]["value"]) == (400, "http://127.0.0.1:8000/api/pay/notify")


def test_appid_and_mchid_must_belong_to_the_signer(wxpay, pay):
    code, err = post(wxpay, JSAPI, body_of(wxpay, appid=OTHER_APPID))
    assert (code, err["code"]) == (400, "APPID_MCHID_NOT_MATCH")
    code, err = post(wxpay, JSAPI, body_of(wxpay, mchid=OTHER_MCHID))
    assert (code, err["code"]) == (403, "NO_AUTH")
    code, text = wxpay._core.request("/v3/pay/transactions/out-trade-no/T20240501000123")
    assert (code, json.loads(text)["detail"]["location"]) == (400, "query")
    assert pay.transactions() == []


def test_refund_is_idempotent_by_out_refund_no(wxpay, pay):
    tx = paid_order(wxpay, pay)
    code, text = wxpay.refund(out_refund_no="R20240501-1", out_trade_no=tx.out_trade_no,
                              amount={"refund": 500, "total": 1230, "currency": "CNY"},
                              reason="缺货", notify_url="https://merchant.example/refund")
    assert code == 200
    refund = json.loads(text)
    assert refund["status"] == "PROCESSING" and refund["out_refund_no"] == "R20240501-1"
    assert refund["transaction_id"] == tx.transaction_id
    assert refund["out_trade_no"] == tx.out_trade_no and refund["channel"] == "ORIGINAL"
    assert re.fullmatch(r"\d{29}", refund["refund_id"]) and "success_time" not in refund
    assert refund["amount"]["refund"] == 500 and refund["amount"]["total"] == 1230
    assert refund["amount"]["payer_refund"] == 500 and refund["amount"]["currency"] == "CNY"

    again = wxpay.refund(out_refund_no="R20240501-1", transaction_id=tx.transaction_id,
                         amount={"refund": 500, "total": 1230, "currency": "CNY"})
    assert again[0] == 200 and json.loads(again[1])["refund_id"] == refund["refund_id"]
    assert len(pay.refunds()) == 1
    changed = wxpay.refund(out_refund_no="R20240501-1", out_trade_no=tx.out_trade_no,
                           amount={"refund": 501, "total": 1230, "currency": "CNY"})
    assert (changed[0], json.loads(changed[1])["code"]) == (400, "INVALID_REQUEST")

    code, text = wxpay.query_refund(out_refund_no="R20240501-1")
    assert code == 200 and json.loads(text) == refund
    assert json.loads(wxpay.query(out_trade_no=tx.out_trade_no)[1])["trade_state"] == "REFUND"
    code, text = wxpay.query_refund(out_refund_no="R-unknown")
    assert (code, json.loads(text)["code"]) == (404, "RESOURCE_NOT_EXISTS")


def test_refund_limits(wxpay, pay):
    tx = paid_order(wxpay, pay)
    amount = {"refund": 1000, "total": 1230, "currency": "CNY"}
    assert wxpay.refund(out_refund_no="R1", out_trade_no=tx.out_trade_no, amount=amount)[0] == 200
    over = wxpay.refund(out_refund_no="R2", out_trade_no=tx.out_trade_no,
                        amount={**amount, "refund": 231})
    assert over[0] == 400 and json.loads(over[1]) == {
        "code": "INVALID_REQUEST", "message": "申请退款金额超过订单可退金额"}
    assert wxpay.refund(out_refund_no="R3", out_trade_no=tx.out_trade_no,
                        amount={**amount, "refund": 230})[0] == 200
    pay.finish_refund(pay.refund(MCHID, "R1"), "CLOSED")  # a failed refund frees its amount
    assert wxpay.refund(out_refund_no="R4", out_trade_no=tx.out_trade_no,
                        amount={**amount, "refund": 1000})[0] == 200

    wrong_total = wxpay.refund(out_refund_no="R5", out_trade_no=tx.out_trade_no,
                               amount={"refund": 1, "total": 1000, "currency": "CNY"})
    assert json.loads(wrong_total[1])["code"] == "INVALID_REQUEST"
    no_currency = wxpay.refund(out_refund_no="R6", out_trade_no=tx.out_trade_no,
                               amount={"refund": 1, "total": 1230})
    assert json.loads(no_currency[1])["detail"] == {"location": "body", "value": None}
    bad_no = wxpay.refund(out_refund_no="R#7", out_trade_no=tx.out_trade_no, amount=amount)
    assert json.loads(bad_no[1])["code"] == "PARAM_ERROR"
    unknown = wxpay.refund(out_refund_no="R8", out_trade_no="NOSUCHORDER", amount=amount)
    assert (unknown[0], json.loads(unknown[1])["code"]) == (404, "RESOURCE_NOT_EXISTS")
    assert prepay(wxpay, "T_UNPAID_1")[0] == 200
    unpaid = wxpay.refund(out_refund_no="R9", out_trade_no="T_UNPAID_1", amount=amount)
    assert json.loads(unpaid[1])["code"] == "INVALID_REQUEST"
    assert sorted(r.out_refund_no for r in pay.refunds()) == ["R1", "R3", "R4"]


def test_fail_next_answers_a_signed_5xx_once(wxpay, pay, pay_server):
    res = requests.post(pay_server.base_url + "/_/pay/fail-next", timeout=5,
                        json={"path": JSAPI, "http_status": 500})
    assert res.json() == {"pending": 1}
    code, text = prepay(wxpay)
    assert (code, json.loads(text)["code"]) == (500, "SYSTEM_ERROR")
    assert pay.transactions() == []
    assert prepay(wxpay)[0] == 200  # retried with the same parameters
    calls = requests.get(pay_server.base_url + "/_/pay/calls", params={"path": JSAPI},
                         timeout=5).json()["calls"]
    assert [(c["http_status"], c["code"]) for c in calls] == [(500, "SYSTEM_ERROR"), (200, None)]
