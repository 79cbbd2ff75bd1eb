"""The trade bill: download (signed GET, unsigned answer, SHA-1, gzip) and parsing."""
from __future__ import annotations

import gzip
import hashlib
import json
from datetime import date
from decimal import Decimal

import pytest

from tests.wechat.pay.conftest import Answer
from tests.wechat.pay.test_signing import signature_ok
from wechat.pay import BillHashMismatch, WeChatPayError, parse_trade_bill, yuan_to_fen

HEADER = ("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,"
          "交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,"
          "充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注")
ROWS = [
    "`2024-07-09 16:47:58,`wx1234567890abcdef,`1900000109,`0,`,`4200002297202407091234567890,"
    "`T20240709_0001,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`JSAPI,`SUCCESS,`OTHERS,`CNY,`0.10,`0.00,`0,`0,"
    "`0.00,`0.00,`,`,`提货券,`store=7,`0.00000,`0.60%,`0.10,`0.00,`",
    "`2024-07-09 18:02:11,`wx1234567890abcdef,`1900000109,`0,`,`4200002297202407091234567890,"
    "`T20240709_0001,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`JSAPI,`REFUND,`OTHERS,`CNY,`0.00,`0.00,"
    "`50300000382024070912345678901,`R20240709_0001,`0.10,`0.00,`ORIGINAL,`SUCCESS,`提货券,`store=7,"
    "`0.00000,`0.60%,`0.00,`0.10,`",
    "`2024-07-09 20:15:40,`wx1234567890abcdef,`1900000109,`0,`,`4200002298202407094567890123,"
    "`T20240709_0002,`oUpF8uFwqK8tXk_Mu3oZbPzFfv2Y,`JSAPI,`SUCCESS,`ICBC_DEBIT,`CNY,`1234.56,`0.00,"
    "`0,`0,`0.00,`0.00,`,`,`礼盒 A, B 两款,`,`7.41000,`0.60%,`1234.56,`0.00,`",
]
SUMMARY = ["总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额",
           "`3,`1234.66,`0.10,`0.00,`7.41000,`1234.66,`0.10"]
BILL = "\r\n".join([HEADER, *ROWS, *SUMMARY]) + "\r\n"


def test_parse_all_bill():
    rows, summary = parse_trade_bill(BILL)
    assert len(rows) == 3
    first, refund, big = rows
    assert first["trade_time"] == "2024-07-09 16:47:58"
    assert (first["appid"], first["mchid"], first["openid"]) == (
        "wx1234567890abcdef", "1900000109", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
    assert (first["transaction_id"], first["out_trade_no"]) == (
        "4200002297202407091234567890", "T20240709_0001")
    assert (first["trade_type"], first["trade_state"], first["bank_type"]) == ("JSAPI", "SUCCESS", "OTHERS")
    assert first["total_fen"] == 10 and type(first["total_fen"]) is int
    assert first["device_info"] == "" and first["fee_fen"] == 0 and first["fee_rate"] == "0.60%"
    assert first["attach"] == "store=7" and first["description"] == "提货券"
    assert (refund["trade_state"], refund["refund_id"], refund["out_refund_no"]) == (
        "REFUND", "50300000382024070912345678901", "R20240709_0001")
    assert (refund["refund_fen"], refund["requested_refund_fen"], refund["refund_state"],
            refund["refund_type"]) == (10, 10, "SUCCESS", "ORIGINAL")
    assert big["total_fen"] == 123456 and big["order_amount_fen"] == 123456
    assert big["description"] == "礼盒 A, B 两款"  # a comma inside a value
    assert big["fee_fen"] == 741 and big["fee_rate_note"] == ""
    assert summary == {"total_count": 3, "total_fen": 123466, "refund_fen": 10,
                       "coupon_refund_fen": 0, "fee_fen": 741, "order_amount_fen": 123466,
                       "requested_refund_fen": 10}


def test_parse_with_plain_newlines_and_a_bom_gives_the_same():
    assert parse_trade_bill("\ufeff" + BILL.replace("\r\n", "\n")) == parse_trade_bill(BILL)


def test_success_bill_without_refund_columns_and_unknown_columns():
    header = "交易时间,商户订单号,应结订单金额,新列"
    rows, summary = parse_trade_bill(f"{header}\n`2024-07-09 16:47:58,`T1,`19.90,`x\n")
    assert rows == [{"trade_time": "2024-07-09 16:47:58", "out_trade_no": "T1",
                     "total_fen": 1990, "新列": "x"}]
    assert summary == {}


@pytest.mark.parametrize("yuan, fen", [("0.10", 10), ("0.1", 10), ("1234.56", 123456),
                                       ("0.07", 7), ("0", 0), ("19.99", 1999),
                                       ("99999999.99", 9999999999), ("0.0", 0)])
def test_yuan_to_fen_is_exact(yuan, fen):
    assert yuan_to_fen(yuan) == fen


@pytest.mark.parametrize("bad", ["0.001", "abc", "", "NaN", "Infinity"])
def test_yuan_to_fen_refuses_what_is_not_whole_fen(bad):
    with pytest.raises(ValueError):
        yuan_to_fen(bad)


def test_sub_fen_fee_stays_exact_and_bad_rows_fail():
    rows, _ = parse_trade_bill("交易时间,手续费\n`2024-07-09 16:47:58,`0.00600\n")
    assert rows[0]["fee_fen"] == Decimal("0.6")
    with pytest.raises(ValueError):
        parse_trade_bill(f"{HEADER}\n`2024-07-09,`wx1\n")
    with pytest.raises(ValueError):
        parse_trade_bill(f"{HEADER}\n{ROWS[0]}\n{SUMMARY[0]}\n")


# --- download --------------------------------------------------------------------------------

@pytest.fixture
def bill_server(server, respond):
    """`state` controls what the fake announces and serves."""
    content = BILL.encode("utf-8")
    state = {"hash": hashlib.sha1(content).hexdigest(), "file": gzip.compress(content),
             "host": server.url}

    def handler(req):
        if req.uri.startswith("/v3/bill/tradebill"):
            body = {"hash_type": "SHA1", "hash_value": state["hash"],
                    "download_url": state["host"] + "/v3/billdownload/file?token=6XIv5TUPto7pByrTQKhd6kwvyKLG2uY2wMMR8cNXqaA_Cv_isgaUtBzp4QtiozLO"}
            return respond(200, json.dumps(body).encode())
        return Answer(200, state["file"], {"Content-Type": "application/octet-stream"})  # unsigned
    server.handler = handler
    return state


def test_trade_bill_downloads_gunzips_and_checks_sha1(make_client, server, bill_server, merchant):
    content = make_client().trade_bill(date(2024, 7, 9))
    assert content == BILL.encode("utf-8")
    assert parse_trade_bill(content.decode("utf-8"))[1]["total_count"] == 3
    info, download = server.seen
    assert info.uri == "/v3/bill/tradebill?bill_date=2024-07-09&bill_type=ALL&tar_type=GZIP"
    assert download.uri.startswith("/v3/billdownload/file?token=6XIv5")
    assert download.method == "GET" and download.body == b""
    assert signature_ok(info, merchant.public) and signature_ok(download, merchant.public)


def test_trade_bill_plain_file_and_foreign_host(make_client, server, bill_server):
    bill_server["file"] = BILL.encode("utf-8")
    bill_server["host"] = "https://api.mch.weixin.qq.com"  # rewritten to the configured host
    assert make_client().trade_bill(date(2024, 7, 9), "SUCCESS") == BILL.encode("utf-8")
    assert len(server.seen) == 2


def test_trade_bill_hash_mismatch_raises(make_client, bill_server):
    bill_server["hash"] = hashlib.sha1(b"another file").hexdigest()
    with pytest.raises(BillHashMismatch) as info:
        make_client().trade_bill(date(2024, 7, 9))
    assert "token" not in str(info.value)


def test_trade_bill_tampered_file_raises(make_client, bill_server):
    bill_server["file"] = gzip.compress(BILL.replace("1234.56", "1234.57").encode("utf-8"))
    with pytest.raises(BillHashMismatch):
        make_client().trade_bill(date(2024, 7, 9))


def test_trade_bill_not_ready_is_a_business_error(make_client, server):
    server.handler = lambda req: Answer(400, '{"code":"NO_STATEMENT_EXIST","message":"账单文件不存在"}'.encode())
    with pytest.raises(WeChatPayError, match="NO_STATEMENT_EXIST"):
        make_client().trade_bill(date(2024, 7, 9))


def test_trade_bill_validates_arguments(make_client, server):
    with pytest.raises(ValueError):
        make_client().trade_bill(date(2024, 7, 9), "EVERYTHING")
    with pytest.raises(ValueError):
        make_client().trade_bill("2024-07-09")
    assert server.seen == []
