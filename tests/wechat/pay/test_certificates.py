"""Platform-certificate mode: /v3/certificates, rotation, refetch limits, expiry, the
shared cert_store, and agreement with wechatpayv3 loaded from the same certificates."""
from __future__ import annotations

import json
import uuid

import pytest
from wechatpayv3 import WeChatPay, WeChatPayType

from tests.wechat.pay.conftest import APIV3_KEY, APPID, MCHID, MERCHANT_SERIAL, PUB_KEY_ID, encrypt
from tests.wechat.pay.test_notifications import TRANSACTION, notification
from tests.wechat.pay.test_signing import signature_ok
from wechat.pay import NotificationRejected, ResponseSignatureInvalid

PREFIX = f"wechatpay:{MCHID}:platform-cert:"
TX = b'{"out_trade_no":"T20240501_0001","trade_state":"NOTPAY"}'


class DictStore:
    def __init__(self):
        self.data, self.ttls = {}, {}

    def get(self, key):
        return self.data.get(key)

    def set(self, key, value, ttl):
        self.data[key], self.ttls[key] = value, ttl


class WeChat:
    """The fake's behaviour: which certificates it lists and which one signs answers."""

    def __init__(self, respond, certs):
        self.respond = respond
        self.listed = [certs["old"], certs["new"], certs["expired"]]
        self.cert_signer = certs["old"]
        self.signer = certs["new"]
        self.apiv3_key = APIV3_KEY

    def __call__(self, req):
        if req.uri == "/v3/certificates":
            data = [{"serial_no": c.serial, "effective_time": "2024-01-01T00:00:00+08:00",
                     "expire_time": "2029-01-01T00:00:00+08:00",
                     "encrypt_certificate": encrypt(c.pem.encode(), self.apiv3_key,
                                                    nonce=uuid.uuid4().hex[:12],
                                                    associated_data="certificate")}
                    for c in self.listed]
            return self.respond(200, json.dumps({"data": data}).encode(),
                                key=self.cert_signer.key, serial=self.cert_signer.serial)
        return self.respond(200, TX, key=self.signer.key, serial=self.signer.serial)


@pytest.fixture
def wechat(server, respond, certs):
    server.handler = WeChat(respond, certs)
    return server.handler


def cert_fetches(server) -> int:
    return sum(r.uri == "/v3/certificates" for r in server.seen)


def query(client):
    return client.query(out_trade_no="T20240501_0001")


def test_rotation_both_certificates_verify(make_client, server, wechat, certs, merchant, clock):
    store = DictStore()
    client = make_client(public_key=None, cert_store=store)
    assert query(client)["trade_state"] == "NOTPAY"  # signed by the new certificate
    wechat.signer = certs["old"]
    assert query(client)["trade_state"] == "NOTPAY"
    assert cert_fetches(server) == 1
    fetch = server.seen[0]
    assert signature_ok(fetch, merchant.public) and "Wechatpay-Serial" not in fetch.headers
    # Only the valid ones are kept, each for as long as it remains valid.
    assert set(store.data) == {PREFIX + certs["old"].serial, PREFIX + certs["new"].serial}
    assert 29 * 86400 < store.ttls[PREFIX + certs["old"].serial] <= 30 * 86400
    assert store.data[PREFIX + certs["new"].serial] == certs["new"].pem


def test_unknown_serial_refetches_once_per_minute(make_client, server, wechat, certs, clock):
    wechat.listed = [certs["old"]]  # the new certificate is not published yet
    client = make_client(public_key=None)
    wechat.signer = certs["old"]
    query(client)
    assert cert_fetches(server) == 1

    wechat.signer = certs["new"]
    with pytest.raises(ResponseSignatureInvalid, match="unknown Wechatpay-Serial"):
        query(client)  # within 60 s of the last download: no new download
    assert cert_fetches(server) == 1

    clock.now += 61
    wechat.listed = [certs["old"], certs["new"]]
    assert query(client)["trade_state"] == "NOTPAY"  # one refetch finds it
    assert cert_fetches(server) == 2

    wechat.signer = certs["expired"]  # a serial that never becomes usable
    clock.now += 61
    for _ in range(3):
        with pytest.raises(ResponseSignatureInvalid, match="unknown Wechatpay-Serial"):
            query(client)
    assert cert_fetches(server) == 3  # exactly one refetch for it


def test_expired_certificate_is_not_used(make_client, server, wechat, certs, clock):
    store = DictStore()
    store.data[PREFIX + certs["expired"].serial] = certs["expired"].pem  # even if a store has it
    client = make_client(public_key=None, cert_store=store)
    wechat.signer = certs["expired"]
    with pytest.raises(ResponseSignatureInvalid, match="unknown Wechatpay-Serial"):
        query(client)
    assert PREFIX + certs["expired"].serial not in store.ttls  # never stored by us

    # Once the old certificate's validity ends, it is dropped, cached or not.
    wechat.signer = wechat.cert_signer = certs["old"]
    assert query(client)
    fetches = cert_fetches(server)
    clock.now += 31 * 86400
    wechat.cert_signer = certs["new"]
    with pytest.raises(ResponseSignatureInvalid, match="^query: unknown Wechatpay-Serial"):
        query(client)
    assert cert_fetches(server) == fetches + 1  # refetched: it is still listed, but expired
    wechat.signer = certs["new"]
    assert query(client)


def test_shared_store_spares_other_processes_the_download(make_client, server, wechat):
    store = DictStore()
    query(make_client(public_key=None, cert_store=store))
    assert cert_fetches(server) == 1
    assert query(make_client(public_key=None, cert_store=store))
    assert cert_fetches(server) == 1


def test_certificates_answer_must_verify(make_client, server, wechat, certs, stranger):
    wechat.cert_signer = certs["expired"]  # not among the valid certificates it carries
    with pytest.raises(ResponseSignatureInvalid, match="certificates: unknown"):
        query(make_client(public_key=None))


def test_certificates_encrypted_with_another_key_are_ignored(make_client, server, wechat):
    wechat.apiv3_key = "Z" * 32
    with pytest.raises(ResponseSignatureInvalid, match="certificates: unknown"):
        query(make_client(public_key=None))


def test_migration_public_key_and_certificates_side_by_side(make_client, server, wechat,
                                                            respond, certs):
    client = make_client()  # public-key mode
    plain = wechat
    server.handler = lambda req: respond(200, TX) if req.uri != "/v3/certificates" else plain(req)
    assert query(client)
    assert cert_fetches(server) == 0  # the key id needs no certificate
    server.handler = plain  # now answers signed with a certificate
    assert query(client)
    assert cert_fetches(server) == 1


def test_notification_in_certificate_mode_agrees_with_wechatpayv3(
        make_client, server, wechat, certs, merchant, clock, tmp_path):
    for cert in (certs["old"], certs["new"]):
        (tmp_path / f"{cert.serial}.pem").write_text(cert.pem)
    theirs = WeChatPay(wechatpay_type=WeChatPayType.MINIPROG, mchid=MCHID,
                       private_key=merchant.private_pem, cert_serial_no=MERCHANT_SERIAL,
                       appid=APPID, apiv3_key=APIV3_KEY, cert_dir=str(tmp_path))
    client = make_client(public_key=None)
    headers, body = notification(certs["new"].key, certs["new"].serial, int(clock()))
    ours = client.parse_notification(headers, body)
    assert ours["resource"] == TRANSACTION
    assert ours == theirs.callback(headers, body)
    assert cert_fetches(server) == 1
    # Signed with the key of the other certificate: both refuse.
    headers, body = notification(certs["old"].key, certs["new"].serial, int(clock()))
    assert theirs.callback(headers, body) is None
    with pytest.raises(NotificationRejected, match="does not verify"):
        client.parse_notification(headers, body)
    assert PUB_KEY_ID not in headers.values()
