"""Our request signatures and paySign, checked by independent code: `cryptography`
directly on the raw bytes the server received, and wechatpayv3's own paySign."""
from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timezone

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from wechatpayv3 import WeChatPay, WeChatPayType

from tests.wechat.pay.conftest import APIV3_KEY, APPID, MCHID, MERCHANT_SERIAL, PUB_KEY_ID, SIG_TYPE
from wechat.pay import WeChatPayClient, generate_rsa_keypair

_PAIR = re.compile(r'(\w+)="([^"]*)"')


def auth_params(req) -> dict:
    schema, _, rest = req.headers["Authorization"].partition(" ")
    assert schema == SIG_TYPE
    return dict(_PAIR.findall(rest))


def signature_ok(req, public_key, *, body: bytes | None = None, uri: str | None = None) -> bool:
    """The server side of §4.2, written against `cryptography`, over the raw request."""
    p = auth_params(req)
    message = (f"{req.method}\n{uri or req.uri}\n{p['timestamp']}\n{p['nonce_str']}\n".encode()
               + (req.body if body is None else body) + b"\n")
    try:
        public_key.verify(base64.b64decode(p["signature"]), message, padding.PKCS1v15(),
                          hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def test_prepay_request_is_signed_over_the_exact_bytes_sent(make_client, server, respond,
                                                            merchant, clock):
    server.handler = lambda req: respond(200, b'{"prepay_id":"wx201410272009395522657a690389285100"}')
    client = make_client()
    prepay_id = client.prepay_jsapi(
        description="提货券 ×2，人民广场店", out_trade_no="T20240501_0001", amount_fen=1230,
        payer_openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", notify_url="https://shop.example.com/pay/notify",
        time_expire=datetime(2024, 5, 1, 4, 30, 15, 123456, tzinfo=timezone.utc), attach="store=7")
    assert prepay_id == "wx201410272009395522657a690389285100"

    [req] = server.seen
    assert (req.method, req.uri) == ("POST", "/v3/pay/transactions/jsapi")
    assert signature_ok(req, merchant.public)
    p = auth_params(req)
    assert (p["mchid"], p["serial_no"]) == (MCHID, MERCHANT_SERIAL)
    assert int(p["timestamp"]) == int(clock())
    assert req.headers["Wechatpay-Serial"] == PUB_KEY_ID
    assert req.headers["Content-Type"] == "application/json"
    assert req.headers["Accept"] == "application/json"
    assert json.loads(req.body) == {
        "appid": APPID, "mchid": MCHID, "description": "提货券 ×2，人民广场店",
        "out_trade_no": "T20240501_0001", "time_expire": "2024-05-01T12:30:15+08:00",
        "notify_url": "https://shop.example.com/pay/notify",
        "amount": {"total": 1230, "currency": "CNY"},
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}, "attach": "store=7"}
    # The same check fails on any other bytes, e.g. the body re-serialized or changed.
    assert not signature_ok(req, merchant.public, body=json.dumps(json.loads(req.body)).encode())
    assert not signature_ok(req, merchant.public, body=req.body.replace(b"1230", b"1231"))
    assert not signature_ok(req, merchant.public, uri="/v3/pay/transactions/native")


def test_get_with_query_and_encoded_path_is_signed_as_sent(make_client, server, respond, merchant):
    server.handler = lambda req: respond(200, b'{"trade_state":"NOTPAY"}')
    make_client().query(out_trade_no="T2024|05*01")
    [req] = server.seen
    assert req.uri == f"/v3/pay/transactions/out-trade-no/T2024%7C05%2A01?mchid={MCHID}"
    assert req.body == b"" and "Content-Type" not in req.headers
    assert signature_ok(req, merchant.public)
    assert not signature_ok(req, merchant.public, uri="/v3/pay/transactions/out-trade-no/T2024|05*01"
                                                        f"?mchid={MCHID}")


def test_close_signs_its_body_and_accepts_a_signed_204(make_client, server, respond, merchant):
    server.handler = lambda req: respond(204, b"")
    assert make_client().close("T20240501_0001") is None
    [req] = server.seen
    assert req.uri == "/v3/pay/transactions/out-trade-no/T20240501_0001/close"
    assert json.loads(req.body) == {"mchid": MCHID}
    assert signature_ok(req, merchant.public)


def test_pay_params_match_wechatpayv3(make_client, merchant, platform, clock):
    client = make_client()
    params = client.pay_params("wx201410272009395522657a690389285100")
    assert params["appId"] == APPID and params["signType"] == "RSA"
    assert params["timeStamp"] == str(int(clock())) and isinstance(params["timeStamp"], str)
    assert params["package"] == "prepay_id=wx201410272009395522657a690389285100"
    assert 0 < len(params["nonceStr"]) <= 32

    theirs = WeChatPay(wechatpay_type=WeChatPayType.MINIPROG, mchid=MCHID,
                       private_key=merchant.private_pem, cert_serial_no=MERCHANT_SERIAL,
                       appid=APPID, apiv3_key=APIV3_KEY, public_key=platform.public_pem,
                       public_key_id=PUB_KEY_ID)
    expected = theirs.sign([APPID, params["timeStamp"], params["nonceStr"], params["package"]])
    assert params["paySign"] == expected
    message = "\n".join([APPID, params["timeStamp"], params["nonceStr"], params["package"]]) + "\n"
    merchant.public.verify(base64.b64decode(params["paySign"]), message.encode(),
                           padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(InvalidSignature):  # the message without its final "\n" is not it
        merchant.public.verify(base64.b64decode(params["paySign"]), message[:-1].encode(),
                               padding.PKCS1v15(), hashes.SHA256())


def test_generated_keys_load_everywhere_and_pkcs1_works(merchant, platform, server):
    private = serialization.load_pem_private_key(merchant.private_pem.encode(), None)
    assert private.key_size == 2048 and merchant.private_pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert merchant.public_pem.startswith("-----BEGIN PUBLIC KEY-----")
    pkcs1 = private.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.TraditionalOpenSSL,
                                  serialization.NoEncryption()).decode()
    a = WeChatPayClient(mchid=MCHID, appid=APPID, merchant_serial=MERCHANT_SERIAL,
                        merchant_private_key=pkcs1, apiv3_key=APIV3_KEY, api_base=server.url,
                        public_key=platform.public_pem, public_key_id=PUB_KEY_ID, clock=lambda: 1.0)
    b = WeChatPayClient(mchid=MCHID, appid=APPID, merchant_serial=MERCHANT_SERIAL,
                        merchant_private_key=merchant.private_pem, apiv3_key=APIV3_KEY,
                        api_base=server.url, public_key=platform.public_pem,
                        public_key_id=PUB_KEY_ID, clock=lambda: 1.0)
    for client in (a, b):
        params = client.pay_params("wx1")
        message = f"{APPID}\n1\n{params['nonceStr']}\nprepay_id=wx1\n".encode()
        merchant.public.verify(base64.b64decode(params["paySign"]), message,
                               padding.PKCS1v15(), hashes.SHA256())
    assert "PRIVATE" not in repr(a) and APIV3_KEY not in repr(a)


@pytest.mark.parametrize("bad", [
    dict(apiv3_key="short"), dict(apiv3_key="密" * 32),
    dict(merchant_private_key="-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"),
    dict(public_key_id=None), dict(retries=-1)])
def test_constructor_rejects_bad_configuration_without_quoting_it(make_client, bad):
    with pytest.raises(ValueError) as info:
        make_client(**bad)
    assert "AAAA" not in str(info.value) and "密" not in str(info.value)


def test_keypair_helper_makes_distinct_usable_pairs():
    private_pem, public_pem = generate_rsa_keypair(1024)  # small: only the shape matters here
    private = serialization.load_pem_private_key(private_pem.encode(), None)
    public = serialization.load_pem_public_key(public_pem.encode())
    assert private.public_key().public_numbers() == public.public_numbers()
