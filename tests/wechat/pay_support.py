"""Fixtures and helpers of the WeChat Pay sandbox tests. The client side is wechatpayv3
2.0.4 (an independent implementation that signs requests and verifies answers) and,
for what it cannot do, requests signed here with `cryptography`.

tests/wechat/conftest.py imports the fixtures (pay_server, pay, wxpay, receiver, ...)."""
from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import uuid

import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from flask import Flask
from wechatpayv3 import WeChatPay, WeChatPayType
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.wechat.conftest import APPID, OTHER_APPID, SECRET
from wechat.sandbox import Merchant, PaySandbox, SandboxState, create_blueprint
from wechat.sandbox.server import QuietRequestHandler, start_sandbox_server

MCHID = "1900000109"
OTHER_MCHID = "1900000222"
APIV3_KEY = "a12d3924fd499edac8a5efc0sandbox1"
OTHER_APIV3_KEY = "b12d3924fd499edac8a5efc0sandbox2"
NOTIFY_PATH = "/pay/notify"
SCALE = 0.001


class MerchantKeys:
    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_pem = self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode()
        self.public_pem = self.key.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        self.serial = secrets.token_hex(20).upper()

    def sign(self, message: str) -> str:
        sig = self.key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(sig).decode()


def configure(pay: PaySandbox) -> None:
    """The per-test configuration (tests may change it; this puts it back)."""
    pay.verify_mode = "public_key"
    pay.serve_certificates = None
    pay.allow_http_loopback_notify = True
    pay.notify_time_scale = SCALE
    pay.notify_timeout = 5.0
    pay.max_notify_attempts = 4
    pay.notify_sender = None


def make_pay(keys: MerchantKeys, other: MerchantKeys) -> PaySandbox:
    pay = PaySandbox({MCHID: Merchant(appids={APPID}, merchant_serial=keys.serial,
                                      merchant_public_key_pem=keys.public_pem,
                                      apiv3_key=APIV3_KEY)})
    pay.add_merchant(OTHER_MCHID, appids=[OTHER_APPID], merchant_serial=other.serial,
                     merchant_public_key_pem=other.private_pem, apiv3_key=OTHER_APIV3_KEY)
    configure(pay)
    return pay


class MountedServer:
    """The blueprint under /sandbox of a host app, served on 127.0.0.1."""

    def __init__(self, state: SandboxState):
        self.state = state
        app = Flask("host")
        app.register_blueprint(create_blueprint(state), url_prefix="/sandbox")
        self._server = make_server("127.0.0.1", 0, app, threaded=True,
                                   request_handler=QuietRequestHandler)
        self.root = f"http://127.0.0.1:{self._server.server_port}"
        self.base_url = self.root + "/sandbox"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self):
        self._server.shutdown()
        self._server.server_close()


class Receiver:
    """A merchant's notify_url on 127.0.0.1. `script` gives the status of each request
    (then `default`); with `verify` (a WeChatPay) it acts like a correct backend:
    204 when callback() accepts and the timestamp is fresh, else 401."""

    def __init__(self):
        self.requests: list[dict] = []
        self.script: list = []
        self.default = 204
        self.verify: WeChatPay | None = None
        self.delays: list[float] = []
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True,
                                   request_handler=QuietRequestHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}{NOTIFY_PATH}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _app(self, environ, start_response):
        req = Request(environ)
        body = req.get_data()
        headers = dict(req.headers)
        result = None
        with self._lock:
            delay = self.delays.pop(0) if self.delays else 0
            status = self.script.pop(0) if self.script else self.default
        if self.verify is not None:
            result = self.verify.callback(headers, body)
            fresh = abs(time.time() - int(headers.get("Wechatpay-Timestamp", 0))) < 300
            status = 204 if result is not None and fresh else 401
        if delay:
            time.sleep(delay)
        with self._lock:
            self.requests.append({"headers": headers, "body": body, "status": status,
                                  "callback": result, "at": time.monotonic()})
        payload = b"" if status < 300 else json.dumps({"code": "FAIL",
                                                       "message": "失败"}).encode()
        return Response(payload, status, content_type="application/json")(environ,
                                                                           start_response)

    def reset(self):
        with self._lock:
            self.requests.clear()
            self.script.clear()
            self.delays.clear()
        self.default, self.verify = 204, None

    def stop(self):
        self._server.shutdown()
        self._server.server_close()


def make_wxpay(keys: MerchantKeys, base_url: str, pay: PaySandbox, mchid=MCHID, appid=APPID,
               apiv3_key=APIV3_KEY, notify_url="https://merchant.example/pay/notify",
               public_key=True) -> WeChatPay:
    kwargs = ({"public_key": pay.platform_public_key_pem, "public_key_id": pay.public_key_id}
              if public_key else {})
    wxpay = WeChatPay(wechatpay_type=WeChatPayType.MINIPROG, mchid=mchid,
                      private_key=keys.private_pem, cert_serial_no=keys.serial, appid=appid,
                      apiv3_key=apiv3_key, notify_url=notify_url, timeout=(5, 10), **kwargs)
    wxpay._core._gate_way = base_url
    return wxpay


def authorization(keys: MerchantKeys, method: str, url: str, body: str = "", mchid=MCHID,
                  serial=None, timestamp=None, order=None) -> str:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = uuid.uuid4().hex.upper()
    signature = keys.sign(f"{method}\n{url}\n{ts}\n{nonce}\n{body}\n")
    pairs = {"mchid": mchid, "nonce_str": nonce, "signature": signature, "timestamp": ts,
             "serial_no": serial or keys.serial}
    order = order or list(pairs)
    return "WECHATPAY2-SHA256-RSA2048 " + ",".join(f'{k}="{pairs[k]}"' for k in order)


def raw_call(keys: MerchantKeys, root: str, method: str, url: str, body=None,
             sign_url=None, **auth) -> requests.Response:
    """Send `method root+url`, signed over `sign_url` (default: `url`), body as given."""
    text = "" if body is None else body if isinstance(body, str) else json.dumps(body)
    headers = {"Authorization": authorization(keys, method, sign_url or url, text, **auth),
               "Accept": "application/json", "Content-Type": "application/json"}
    return requests.request(method, root + url, data=text.encode() or None, headers=headers,
                            timeout=5)


def verify_response(pay: PaySandbox, res: requests.Response) -> bool:
    """Check a response's signature with `cryptography` against the platform key."""
    from cryptography.hazmat.primitives.serialization import load_pem_public_key
    key = load_pem_public_key(pay.platform_public_key_pem.encode())
    message = (f"{res.headers['Wechatpay-Timestamp']}\n{res.headers['Wechatpay-Nonce']}\n"
               f"{res.text}\n").encode()
    try:
        key.verify(base64.b64decode(res.headers["Wechatpay-Signature"]), message,
                   padding.PKCS1v15(), hashes.SHA256())
    except Exception:
        return False
    return True


def wait_for(predicate, timeout=5.0, interval=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


# -- fixtures -------------------------------------------------------------------------

@pytest.fixture(scope="session")
def merchant_keys():
    return MerchantKeys(), MerchantKeys()


@pytest.fixture(scope="session")
def pay_server(merchant_keys):
    state = SandboxState(apps={APPID: SECRET}, pay=make_pay(*merchant_keys))
    server = start_sandbox_server(state)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mounted_server(merchant_keys):
    server = MountedServer(SandboxState(apps={APPID: SECRET}, pay=make_pay(*merchant_keys)))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _receiver():
    receiver = Receiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def receiver(_receiver):
    _receiver.reset()
    return _receiver


@pytest.fixture
def pay(pay_server):
    pay_server.state.reset()
    configure(pay_server.state.pay)
    yield pay_server.state.pay
    pay_server.state.pay.notifier.reset()  # stop deliveries still retrying


@pytest.fixture
def keys(merchant_keys):
    return merchant_keys[0]


@pytest.fixture
def wxpay(pay, pay_server, keys):
    return make_wxpay(keys, pay_server.base_url, pay)
