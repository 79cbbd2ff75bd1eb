"""Trade bills: tradebill + billdownload round trips through wechatpayv3, the CSV
format (§4.9), injected rows, and the Asia/Shanghai day."""
from __future__ import annotations

import gzip
import hashlib
import json
import time
from datetime import datetime, timedelta, timezone

import requests

from tests.wechat.conftest import APPID
from tests.wechat.pay_support import MCHID, OTHER_MCHID, make_wxpay, raw_call
from wechat.sandbox.pay.bill import ALL_COLUMNS, REFUND_COLUMNS, SUCCESS_COLUMNS

PAYER = {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}
SHANGHAI = timezone(timedelta(hours=8))
SUMMARY = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"


def paid(wxpay, pay, out_trade_no, total, attach=None):
    extra = {"attach": attach} if attach else {}
    assert wxpay.pay(description="提货-人民广场店", out_trade_no=out_trade_no,
                     amount={"total": total}, payer=PAYER, **extra)[0] == 200
    return pay.mark_paid(pay.transaction(MCHID, out_trade_no))


def today(pay) -> str:
    return datetime.fromtimestamp(pay.now(), SHANGHAI).date().isoformat()


def fetch(wxpay, day, bill_type="ALL"):
    code, text = wxpay.trade_bill(bill_date=day, bill_type=bill_type)
    assert code == 200, text
    bill = json.loads(text)
    code, content = wxpay.download_bill(bill["download_url"])
    assert code == 200 and isinstance(content, bytes)
    plain = gzip.decompress(content)
    assert bill["hash_type"] == "SHA1" and hashlib.sha1(plain).hexdigest() == bill["hash_value"]
    text = plain.decode()
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    return [line.split(",") for line in text.split("\r\n")[:-1]]


def test_all_bill_has_payments_refunds_and_a_summary(wxpay, pay):
    a = paid(wxpay, pay, "T_BILL_001", 1230, attach="store=9")
    paid(wxpay, pay, "T_BILL_002", 99)
    assert wxpay.refund(out_refund_no="R_BILL_1", out_trade_no=a.out_trade_no,
                        amount={"refund": 230, "total": 1230, "currency": "CNY"})[0] == 200
    assert wxpay.pay(description="x", out_trade_no="T_BILL_003", amount={"total": 5},
                     payer=PAYER)[0] == 200  # unpaid: not in the bill

    header, *rows, summary_header, summary = fetch(wxpay, today(pay))
    assert header == ALL_COLUMNS
    assert len(rows) == 3 and all(f.startswith("`") for row in rows for f in row)
    rows = [dict(zip(header, (f[1:] for f in row))) for row in rows]
    pay_a = next(r for r in rows if r["商户订单号"] == "T_BILL_001" and r["交易状态"] == "SUCCESS")
    assert pay_a["微信订单号"] == a.transaction_id and pay_a["公众账号ID"] == APPID
    assert pay_a["商户号"] == MCHID and pay_a["用户标识"] == PAYER["openid"]
    assert pay_a["应结订单金额"] == "12.30" and pay_a["订单金额"] == "12.30"
    assert pay_a["手续费"] == "0.07" and pay_a["费率"] == "0.60%"
    assert pay_a["商户数据包"] == "store=9" and pay_a["特约商户号"] == ""
    assert datetime.strptime(pay_a["交易时间"], "%Y-%m-%d %H:%M:%S")
    refund = next(r for r in rows if r["交易状态"] == "REFUND")
    assert refund["商户退款单号"] == "R_BILL_1" and refund["退款金额"] == "2.30"
    assert refund["退款状态"] == "PROCESSING" and refund["应结订单金额"] == "0.00"

    assert ",".join(summary_header) == SUMMARY
    # Fees: 7 + 1 − 1 fen (0.6 % of 12.30, of 0.99, and back on the 2.30 refund).
    assert [f[1:] for f in summary] == ["3", "13.29", "2.30", "0.00", "0.07", "13.29", "2.30"]


def test_success_and_refund_bills_and_plain_download(wxpay, pay, pay_server, keys):
    a = paid(wxpay, pay, "T_BILL_011", 500)
    wxpay.refund(out_refund_no="R_BILL_11", out_trade_no=a.out_trade_no,
                 amount={"refund": 500, "total": 500, "currency": "CNY"})
    pay.finish_refund(pay.refund(MCHID, "R_BILL_11"), "SUCCESS")
    success = fetch(wxpay, today(pay), "SUCCESS")
    assert success[0] == SUCCESS_COLUMNS and len(success) == 4
    refund = fetch(wxpay, today(pay), "REFUND")
    assert refund[0] == REFUND_COLUMNS and len(refund) == 4
    row = dict(zip(REFUND_COLUMNS, (f[1:] for f in refund[1])))
    assert row["退款状态"] == "SUCCESS" and row["退款成功时间"] and row["退款申请时间"]

    # Without tar_type the file comes as it is; the download itself is not signed.
    code, text = wxpay._core.request(f"/v3/bill/tradebill?bill_date={today(pay)}")
    url = json.loads(text)["download_url"]
    res = raw_call(keys, "", "GET", url, sign_url=url[len(pay_server.base_url):])
    assert res.status_code == 200 and "Wechatpay-Signature" not in res.headers
    assert hashlib.sha1(res.content).hexdigest() == json.loads(text)["hash_value"]
    assert res.content.decode().startswith("交易时间,公众账号ID")


def test_injected_rows_show_up(wxpay, pay, pay_server):
    day = (datetime.fromtimestamp(pay.now(), SHANGHAI) - timedelta(days=1)).date().isoformat()
    code, text = wxpay.trade_bill(bill_date=day)
    assert json.loads(text)["code"] == "NO_STATEMENT_EXIST"
    res = requests.post(pay_server.base_url + "/_/pay/bill-rows", timeout=5, json={
        "bill_date": day, "kind": "payment", "fields": {
            "交易时间": f"{day} 10:00:00", "商户号": MCHID, "微信订单号": "4200000000000000000000000001",
            "商户订单号": "T_MISSING_HERE", "交易状态": "SUCCESS", "应结订单金额": "8.80",
            "订单金额": "8.80", "手续费": "0.05"}})
    assert res.json() == {"rows": 1}
    header, row, _, summary = fetch(wxpay, day)
    assert dict(zip(header, row))["商户订单号"] == "`T_MISSING_HERE"
    assert dict(zip(header, row))["商户退款单号"] == "`"  # an empty field: a lone backtick
    assert [f[1:] for f in summary] == ["1", "8.80", "0.00", "0.00", "0.05", "8.80", "0.00"]
    assert len(fetch(wxpay, day, "SUCCESS")) == 4
    code, text = wxpay.trade_bill(bill_date=day, bill_type="REFUND")
    assert json.loads(text)["code"] == "NO_STATEMENT_EXIST"


def test_bill_days_are_shanghai_days(wxpay, pay, pay_server):
    # Move the sandbox clock to 00:30 Shanghai (16:30 UTC of the day before).
    now = datetime.now(SHANGHAI)
    target = now.replace(hour=0, minute=30, second=0, microsecond=0) - timedelta(days=1)
    pay_server.state.advance(target.timestamp() - time.time())
    paid(wxpay, pay, "T_BILL_021", 100)
    assert fetch(wxpay, target.date().isoformat())[1][6] == "`T_BILL_021"
    code, text = wxpay.trade_bill(bill_date=(target - timedelta(days=1)).date().isoformat())
    assert (code, json.loads(text)["code"]) == (400, "NO_STATEMENT_EXIST")


def test_bill_errors(wxpay, pay, pay_server, keys, merchant_keys):
    paid(wxpay, pay, "T_BILL_031", 100)
    old = (datetime.fromtimestamp(pay.now(), SHANGHAI) - timedelta(days=93)).date()
    code, text = wxpay.trade_bill(bill_date=old.isoformat())
    assert (code, json.loads(text)["code"]) == (400, "INVALID_REQUEST")  # 3 months at most
    for bad in ("20240501", "2024-13-01", "2024-5-1"):
        code, text = wxpay.trade_bill(bill_date=bad)
        assert (code, json.loads(text)["detail"]) == (400, {"location": "query", "value": bad})
    code, text = wxpay.trade_bill(bill_date=today(pay), bill_type="FUNDS")
    assert json.loads(text)["code"] == "PARAM_ERROR"
    future = (datetime.fromtimestamp(pay.now(), SHANGHAI) + timedelta(days=1)).date()
    assert json.loads(wxpay.trade_bill(bill_date=future.isoformat())[1])["code"] == (
        "NO_STATEMENT_EXIST")

    url = json.loads(wxpay.trade_bill(bill_date=today(pay))[1])["download_url"]
    path = url[len(pay_server.base_url):]
    other = make_wxpay(merchant_keys[1], pay_server.base_url, pay, mchid=OTHER_MCHID)
    code, text = other.download_bill(url)
    assert (code, json.loads(text)["code"]) == (403, "NO_AUTH")
    assert requests.get(url, timeout=5).status_code == 401  # the download is a signed request
    code, text = wxpay.download_bill(path.split("token=")[0] + "token=nope")
    assert (code, json.loads(text)["code"]) == (400, "INVALID_REQUEST")
    assert wxpay.download_bill(url)[0] == 200
