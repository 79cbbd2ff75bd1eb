"""Notifications signed and encrypted by independent code (`cryptography`), checked by
`parse_notification`, and our verdicts compared with wechatpayv3's `callback()`."""
from __future__ import annotations

import json

import pytest
from wechatpayv3 import WeChatPay, WeChatPayType

from tests.wechat.pay.conftest import (APIV3_KEY, APPID, MCHID, MERCHANT_SERIAL, PUB_KEY_ID,
                                       encrypt, signed_headers)
from wechat.pay import NotificationRejected

TRANSACTION = {
    "mchid": MCHID, "appid": APPID, "out_trade_no": "T20240501_0001",
    "transaction_id": "4200002297202405011234567890", "trade_type": "JSAPI",
    "trade_state": "SUCCESS", "trade_state_desc": "支付成功", "bank_type": "OTHERS",
    "attach": "store=7", "success_time": "2024-05-01T12:01:02+08:00",
    "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
    "amount": {"total": 1230, "payer_total": 1230, "currency": "CNY", "payer_currency": "CNY"},
}


def notification(key, serial: str, ts, *, plain: dict = TRANSACTION, apiv3_key: str = APIV3_KEY,
                 **sign_kw) -> tuple[dict, bytes]:
    envelope = {"id": "EV-2018022511223320873", "create_time": "2024-05-01T12:01:03+08:00",
                "resource_type": "encrypt-resource", "event_type": "TRANSACTION.SUCCESS",
                "summary": "支付成功",
                "resource": {**encrypt(json.dumps(plain, ensure_ascii=False).encode(), apiv3_key),
                             "original_type": "transaction"}}
    # WeChat's spacing, not ours: the signature covers these exact bytes.
    body = json.dumps(envelope, ensure_ascii=False, indent=2).encode()
    return signed_headers(body, key, serial, ts, **sign_kw), body


@pytest.fixture
def theirs(merchant, platform):
    return WeChatPay(wechatpay_type=WeChatPayType.MINIPROG, mchid=MCHID,
                     private_key=merchant.private_pem, cert_serial_no=MERCHANT_SERIAL,
                     appid=APPID, apiv3_key=APIV3_KEY, public_key=platform.public_pem,
                     public_key_id=PUB_KEY_ID)


def test_independent_notification_is_accepted_and_decrypted(make_client, platform, clock, theirs):
    headers, body = notification(platform.private, PUB_KEY_ID, int(clock()))
    ours = make_client().parse_notification(headers, body)
    assert ours["resource"] == TRANSACTION
    assert ours["id"] == "EV-2018022511223320873" and ours["event_type"] == "TRANSACTION.SUCCESS"
    assert ours == theirs.callback(headers, body)


def test_header_names_are_case_insensitive(make_client, platform, clock):
    headers, body = notification(platform.private, PUB_KEY_ID, int(clock()))
    lower = {k.lower(): v for k, v in headers.items()}
    assert make_client().parse_notification(lower, body)["resource"] == TRANSACTION


def test_refund_notification_with_empty_associated_data(make_client, platform, clock):
    refund = {"mchid": MCHID, "out_refund_no": "R1", "refund_status": "SUCCESS",
              "amount": {"total": 1230, "refund": 230, "payer_total": 1230, "payer_refund": 230}}
    envelope = {"id": "EV-1", "resource_type": "encrypt-resource", "event_type": "REFUND.SUCCESS",
                "resource": encrypt(json.dumps(refund).encode(), associated_data="")}
    body = json.dumps(envelope).encode()
    headers = signed_headers(body, platform.private, PUB_KEY_ID, int(clock()))
    assert make_client().parse_notification(headers, body)["resource"] == refund


def _tampered(key, clock):
    headers, body = notification(key, PUB_KEY_ID, int(clock()))
    return headers, body.replace(b"EV-2018", b"EV-2019")


def _wrong_apiv3(key, clock):
    return notification(key, PUB_KEY_ID, int(clock()), apiv3_key="X" * 32)


def _probe(key, clock):
    headers, body = notification(key, PUB_KEY_ID, int(clock()))
    return {**headers, "Wechatpay-Signature": "WECHATPAY/SIGNTEST/" + headers["Wechatpay-Signature"]}, body


def _no_type(key, clock):
    return notification(key, PUB_KEY_ID, int(clock()), sig_type=None)


def _other_type(key, clock):
    return notification(key, PUB_KEY_ID, int(clock()), sig_type="WECHATPAY2-SM2-WITH-SM3")


def _unknown_serial(key, clock):
    return notification(key, "PUB_KEY_ID_0000000000000099999999999999999999", int(clock()))


def _old(key, clock):
    return notification(key, PUB_KEY_ID, int(clock()) - 301)


def _future(key, clock):
    return notification(key, PUB_KEY_ID, int(clock()) + 301)


def _edge(key, clock):
    return notification(key, PUB_KEY_ID, int(clock()) - 300)


@pytest.mark.parametrize("forge, reason", [
    (_tampered, "does not verify"), (_wrong_apiv3, "decrypt"), (_probe, "probe"),
    (_no_type, "Signature-Type"), (_other_type, "Signature-Type"),
    (_unknown_serial, "unknown Wechatpay-Serial"), (_old, "window"), (_future, "window"),
    (_edge, "window")])
def test_rejections(make_client, server, platform, clock, forge, reason):
    headers, body = forge(platform.private, clock)
    with pytest.raises(NotificationRejected) as info:
        make_client().parse_notification(headers, body)
    assert reason in info.value.reason
    assert server.seen == []  # a non-hex serial never triggers a certificate download


def test_wrong_signing_key_is_rejected(make_client, stranger, clock):
    headers, body = notification(stranger.private, PUB_KEY_ID, int(clock()))
    with pytest.raises(NotificationRejected, match="does not verify"):
        make_client().parse_notification(headers, body)


def test_just_inside_the_window_is_accepted(make_client, platform, clock):
    for ts in (int(clock()) - 299, int(clock()) + 299):
        headers, body = notification(platform.private, PUB_KEY_ID, ts)
        assert make_client().parse_notification(headers, body)["resource"] == TRANSACTION


def test_unknown_certificate_serial_in_public_key_mode_asks_certificates_once(
        make_client, server, respond, platform, clock):
    # A merchant with only a public key: /v3/certificates has nothing for it.
    server.handler = lambda req: respond(404, b'{"code":"RESOURCE_NOT_EXISTS","message":"no cert"}')
    client = make_client()
    headers, body = notification(platform.private, "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
                                 int(clock()))
    for _ in range(2):
        with pytest.raises(NotificationRejected, match="unknown Wechatpay-Serial"):
            client.parse_notification(headers, body)
    assert [r.uri for r in server.seen] == ["/v3/certificates"]


@pytest.mark.parametrize("forge", [None, _tampered, _wrong_apiv3, _probe])
def test_verdicts_agree_with_wechatpayv3(make_client, platform, stranger, clock, theirs, forge):
    """Where wechatpayv3 checks the same thing (it skips the time window), we agree."""
    headers, body = (forge(platform.private, clock) if forge
                     else notification(platform.private, PUB_KEY_ID, int(clock())))
    expected = theirs.callback(headers, body)
    try:
        ours = make_client().parse_notification(headers, body)
    except NotificationRejected:
        ours = None
    assert ours == expected
    assert (ours is None) == (forge is not None)


def test_bodies_that_verify_but_are_not_notifications(make_client, platform, clock):
    client = make_client()
    for body in (b"not json", b'{"resource_type":"encrypt-resource","resource":"x"}',
                 json.dumps({"resource_type": "plain", "resource": encrypt(b"{}")}).encode()):
        headers = signed_headers(body, platform.private, PUB_KEY_ID, int(clock()))
        with pytest.raises(NotificationRejected):
            client.parse_notification(headers, body)
