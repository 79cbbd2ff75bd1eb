"""消费者投诉2.0 in the sandbox (protocol §11), driven by wechatpayv3 — which verifies
every 2xx answer, the 204s too, and decrypts payer_phone with its own RSA-OAEP — and by
our client (wechat/pay/complaints.py) against the same server."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
import requests

from tests.wechat.pay_support import MCHID, wait_for
from tests.wechat.test_pay_api import paid_order
from wechat.pay import WeChatPayClient, WeChatPayError
from wechat.pay.validate import CHINA_TZ

PHONE = "13912345678"


def complain(pay_server, out_trade_no, **body):
    res = requests.post(f"{pay_server.base_url}/_/pay/complaints", timeout=5,
                        json={"out_trade_no": out_trade_no, "phone": PHONE, **body})
    assert res.status_code == 200, res.text
    return res.json()


def answer(result):
    code, text = result
    return code, (json.loads(text) if text else None)


@pytest.fixture
def ours(pay, pay_server, keys):
    return WeChatPayClient(mchid=MCHID, appid="wx1111111111111111", merchant_serial=keys.serial,
                           merchant_private_key=keys.private_pem, apiv3_key="a12d3924fd499edac8a5efc0sandbox1",
                           api_base=pay_server.base_url, public_key=pay.platform_public_key_pem,
                           public_key_id=pay.public_key_id, retries=0)


def test_notification_url_lifecycle_and_the_notification(wxpay, pay, pay_server, receiver):
    assert answer(wxpay.complaint_notification_query())[1]["code"] == "RESOURCE_NOT_EXISTS"
    code, body = answer(wxpay.complaint_notification_create(receiver.url))
    assert code == 200 and body == {"mchid": MCHID, "url": receiver.url}
    code, body = answer(wxpay.complaint_notification_create(receiver.url))
    assert (code, body["code"]) == (400, "INVALID_REQUEST")
    assert answer(wxpay.complaint_notification_create("https://x.example/n?a=1"))[0] == 400
    receiver.verify = wxpay  # a correct backend: wechatpayv3's callback() must accept it
    tx = paid_order(wxpay, pay)
    made = complain(pay_server, tx.out_trade_no, problem_type="REFUND")
    assert made["notified"] is True
    wait_for(lambda: receiver.requests)
    [got] = receiver.requests
    assert got["status"] == 204
    resource = got["callback"]["resource"]
    assert got["callback"]["event_type"] == "COMPLAINT.CREATE"
    assert resource["complaint_id"] == made["complaint"]["complaint_id"]
    assert resource["action_type"] == "CREATE_COMPLAINT" and resource["amount"] == 1230
    assert datetime.fromisoformat(resource["complaint_time"]).utcoffset() == timedelta(hours=8)
    assert answer(wxpay.complaint_notification_delete())[0] == 204
    assert answer(wxpay.complaint_notification_update(receiver.url))[0] == 404


def test_list_detail_history_and_actions_through_wechatpayv3(wxpay, pay, pay_server):
    tx = paid_order(wxpay, pay)
    cid = complain(pay_server, tx.out_trade_no, problem_type="REFUND")["complaint"]["complaint_id"]
    today = datetime.now(CHINA_TZ).date()
    code, page = answer(wxpay.complaint_list_query(begin_date=str(today - timedelta(days=3)),
                                                   end_date=str(today), complainted_mchid=MCHID))
    assert code == 200 and page["total_count"] == 1 and page["data"][0]["complaint_id"] == cid
    assert "payer_openid" not in page["data"][0]
    code, err = answer(wxpay.complaint_list_query(begin_date=str(today - timedelta(days=40)),
                                                  end_date=str(today), complainted_mchid=MCHID))
    assert (code, err["code"]) == (400, "PARAM_ERROR")
    code, detail = answer(wxpay.complaint_detail_query(cid))
    assert code == 200 and detail["payer_openid"] == tx.openid
    assert detail["complaint_order_info"] == [{"transaction_id": tx.transaction_id,
                                               "out_trade_no": tx.out_trade_no, "amount": 1230}]
    assert wxpay.decrypt(detail["payer_phone"]) == PHONE  # RSA-OAEP as the SDK does it
    code, err = answer(wxpay.complaint_complete(cid))
    assert (code, err["code"]) == (400, "INVALID_REQUEST")  # no response yet
    assert answer(wxpay.complaint_response(cid, "已安排退款"))[0] == 204
    assert answer(wxpay.complaint_update_refund(cid, "APPROVE", launch_refund_day=2))[0] == 204
    assert answer(wxpay.complaint_update_refund(cid, "REJECT"))[1]["code"] == "PARAM_ERROR"
    assert answer(wxpay.complaint_complete(cid))[0] == 204
    assert answer(wxpay.complaint_complete(cid))[1]["code"] == "INVALID_REQUEST"  # twice
    code, history = answer(wxpay.complaint_history_query(cid))
    assert [h["operate_type"] for h in history["data"]] == [
        "USER_CREATE_COMPLAINT", "USER_CREATE_COMPLAINT_SYSTEM_MESSAGE", "MERCHANT_RESPONSE",
        "MERCHANT_APPROVE_REFUND", "MERCHANT_CONFIRM_COMPLETE"]
    assert answer(wxpay.complaint_detail_query("200201820990101000000000000"))[1]["code"] == "RESOURCE_NOT_EXISTS"


def test_our_client(ours, wxpay, pay, pay_server):
    assert ours.complaint_notification_url() is None
    held = ours.register_complaint_notification_url("https://merchant.example/wechat/pay/complaint-notify")
    assert held["url"].endswith("/complaint-notify")
    again = ours.register_complaint_notification_url("https://merchant.example/v2/complaint-notify")
    assert again["url"].endswith("/v2/complaint-notify")  # a PUT, not a second POST
    txs = [paid_order(wxpay, pay, f"T2024050100012{i}") for i in range(3)]
    ids = [complain(pay_server, tx.out_trade_no, images=1)["complaint"]["complaint_id"] for tx in txs]
    today = datetime.now(CHINA_TZ).date()
    listed = list(ours.iter_complaints(today - timedelta(days=1), today))
    assert [c["complaint_id"] for c in listed] == ids
    with pytest.raises(ValueError):
        ours.list_complaints(date(2024, 1, 1), date(2024, 3, 1))  # over 30 days: not sent
    assert ours.decrypt_field(listed[0]["payer_phone"]) == PHONE
    image = listed[0]["complaint_media_list"][0]["media_url"][0]
    assert ours.download_complaint_image(image).startswith(b"\x89PNG")
    with pytest.raises(WeChatPayError) as refused:
        ours.complete_complaint(ids[0])
    assert refused.value.code == "INVALID_REQUEST"
    ours.respond_complaint(ids[0], "您好")
    ours.complete_complaint(ids[0])  # 204, its signature verified
    assert [h["operate_type"] for h in ours.iter_negotiation_history(ids[0])][-1] == "MERCHANT_CONFIRM_COMPLETE"
    assert ours.complaint("200201820990101000000000000") is None
    ours.delete_complaint_notification_url()
    assert ours.complaint_notification_url() is None
