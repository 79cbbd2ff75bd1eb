"""Platform certificates: /v3/certificates, certificate-mode signing, rotation, and the
public-key-only answer. wechatpayv3 in certificate mode fetches /v3/certificates in its
constructor, so its `requests` is pointed at the sandbox for these tests."""
from __future__ import annotations

import base64
import json
import re

import pytest
import requests
import wechatpayv3.core
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from wechatpayv3 import WeChatPay, WeChatPayType

from tests.wechat.conftest import APPID
from tests.wechat.pay_support import APIV3_KEY, MCHID, raw_call, wait_for

REAL_GATEWAY = "https://api.mch.weixin.qq.com"
PAYER = {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}


class _ToSandbox:
    """Stands in for the `requests` module inside wechatpayv3.core."""

    def __init__(self, base):
        self.base = base
        self.urls = []

    def __getattr__(self, name):
        fn = getattr(requests, name)
        if name not in ("get", "post", "put", "patch", "delete"):
            return fn

        def call(url, **kwargs):
            url = url.replace(REAL_GATEWAY, self.base, 1)
            self.urls.append(url)
            return fn(url, **kwargs)
        return call


@pytest.fixture
def to_sandbox(pay_server, monkeypatch):
    shim = _ToSandbox(pay_server.base_url)
    monkeypatch.setattr(wechatpayv3.core, "requests", shim)
    return shim


def cert_mode_client(keys):
    """wechatpayv3 without public_key: its constructor downloads the certificates."""
    return WeChatPay(wechatpay_type=WeChatPayType.MINIPROG, mchid=MCHID,
                     private_key=keys.private_pem, cert_serial_no=keys.serial, appid=APPID,
                     apiv3_key=APIV3_KEY, notify_url="https://merchant.example/pay/notify")


def decrypt(resource: dict) -> str:
    raw = base64.b64decode(resource["ciphertext"])
    return AESGCM(APIV3_KEY.encode()).decrypt(resource["nonce"].encode(), raw,
                                              resource["associated_data"].encode()).decode()


def test_public_key_only_merchants_have_no_certificates(wxpay, pay, keys, to_sandbox):
    code, text = wxpay._core.request("/v3/certificates")
    assert code == 404 and json.loads(text)["code"] == "RESOURCE_NOT_EXISTS"
    assert "无可用的平台证书" in json.loads(text)["message"]
    with pytest.raises(Exception, match="No wechatpay platform certificate"):
        cert_mode_client(keys)
    assert to_sandbox.urls[-1].endswith("/v3/certificates")
    pay.no_certificates_status = 500
    try:
        code, text = wxpay._core.request("/v3/certificates")
    finally:
        pay.no_certificates_status = 404
    assert (code, json.loads(text)["code"]) == (500, "SYSTEM_ERROR")


def test_certificate_mode_round_trip_and_rotation(pay, keys, to_sandbox):
    pay.verify_mode = "certificate"
    client = cert_mode_client(keys)  # fetched /v3/certificates through the sandbox
    assert [c.serial_number for c in client._core._certificates] == [
        int(pay.certificate_serial, 16)]
    assert re.fullmatch(r"[0-9A-F]{40}", pay.certificate_serial)

    code, _ = client.pay(description="提货", out_trade_no="T_CERT_01", amount={"total": 10},
                         payer=PAYER)
    assert code == 200  # verified by the certificate's key, or wechatpayv3 would raise

    old = pay.certificate_serial
    new = pay.rotate_certificate().serial
    assert new != old and pay.certificate_serial == new
    fetched = len(to_sandbox.urls)
    code, text = client.query(out_trade_no="T_CERT_01")
    assert code == 200 and json.loads(text)["trade_state"] == "NOTPAY"
    # An unknown serial in the answer: wechatpayv3 refetched the certificates to verify it.
    assert [u.split("?")[0].rsplit("/v3/", 1)[1] for u in to_sandbox.urls[fetched:]] == [
        "pay/transactions/out-trade-no/T_CERT_01", "certificates"]
    assert {c.serial_number for c in client._core._certificates} == {int(old, 16), int(new, 16)}

    code, text = client._core.request("/v3/certificates")
    data = json.loads(text)["data"]
    assert [d["serial_no"] for d in data] == [new, old]  # both valid, newest first
    for item in data:
        enc = item["encrypt_certificate"]
        assert enc["algorithm"] == "AEAD_AES_256_GCM" and enc["associated_data"] == "certificate"
        cert = x509.load_pem_x509_certificate(decrypt(enc).encode())
        assert cert.serial_number == int(item["serial_no"], 16)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", item["expire_time"])
    newest = x509.load_pem_x509_certificate(decrypt(data[0]["encrypt_certificate"]).encode())
    config = requests.get(to_sandbox.base + "/_/pay/config", timeout=5).json()
    assert config["verify_mode"] == "certificate"
    assert [c["serial_no"] for c in config["certificates"]] == [old, new]
    # The newest certificate's key signs answers now.
    res = raw_call(keys, to_sandbox.base, "GET",
                   f"/v3/pay/transactions/out-trade-no/T_CERT_01?mchid={MCHID}")
    assert res.headers["Wechatpay-Serial"] == new
    newest.public_key().verify(
        base64.b64decode(res.headers["Wechatpay-Signature"]),
        f"{res.headers['Wechatpay-Timestamp']}\n{res.headers['Wechatpay-Nonce']}\n{res.text}\n"
        .encode(), padding.PKCS1v15(), hashes.SHA256())


def test_certificate_mode_notifications(pay, keys, pay_server, receiver, to_sandbox):
    pay.verify_mode = "certificate"
    client = cert_mode_client(keys)
    receiver.verify = client
    code, _ = client.pay(description="提货", out_trade_no="T_CERT_02", amount={"total": 10},
                         payer=PAYER, notify_url=receiver.url)
    assert code == 200
    requests.post(pay_server.base_url + "/_/pay/transactions/T_CERT_02/pay", timeout=5)
    (got,) = wait_for(lambda: receiver.requests)
    assert got["headers"]["Wechatpay-Serial"] == pay.certificate_serial
    assert got["status"] == 204 and got["callback"]["resource"]["out_trade_no"] == "T_CERT_02"


def test_migration_serves_certificates_but_signs_with_the_public_key(wxpay, pay, keys,
                                                                     pay_server):
    pay.serve_certificates = True
    code, text = wxpay._core.request("/v3/certificates")  # verified with the public key
    assert code == 200
    assert [d["serial_no"] for d in json.loads(text)["data"]] == [
        c.serial for c in reversed(pay.certificates)]
    res = raw_call(keys, pay_server.base_url, "GET", "/v3/certificates")
    assert res.headers["Wechatpay-Serial"] == pay.public_key_id
    code, _ = wxpay.pay(description="提货", out_trade_no="T_MIGR_01", amount={"total": 1},
                        payer=PAYER)
    assert code == 200
