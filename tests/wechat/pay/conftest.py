"""WeChat Pay client tests: no app, no sandbox. A tiny WSGI server on 127.0.0.1 plays
WeChat Pay; whatever it signs is signed independently of the code under test (with
`cryptography`), and wechatpayv3 is the counterpart for interop checks."""
from __future__ import annotations

import base64
import datetime as dt
import threading
import time
import uuid
from dataclasses import dataclass, field

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID
from werkzeug.serving import make_server

from wechat.pay import WeChatPayClient, generate_rsa_keypair

MCHID = "1900000109"
APPID = "wx1234567890abcdef"
MERCHANT_SERIAL = "3775B6A45ACD588826D15E583A95F5DD12345678"
APIV3_KEY = "0123456789abcdefGHIJKLMNOPQRSTUV"
PUB_KEY_ID = "PUB_KEY_ID_0000000000000024101100397200000006"
SIG_TYPE = "WECHATPAY2-SHA256-RSA2048"


@pytest.fixture(autouse=True)
def _clean_state():
    """Overrides the root fixture that boots the whole app: nothing to clean here."""
    yield


# --- keys and certificates ----------------------------------------------------------------

def _pem_private(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _pem_public(key) -> str:
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@dataclass
class Keys:
    private_pem: str
    public_pem: str
    private: object  # cryptography key
    public: object


def _keys(private) -> Keys:
    return Keys(_pem_private(private), _pem_public(private.public_key()), private,
                private.public_key())


@pytest.fixture(scope="session")
def merchant() -> Keys:
    """The merchant's API key, made by the helper under test."""
    private_pem, public_pem = generate_rsa_keypair()
    private = serialization.load_pem_private_key(private_pem.encode(), None)
    return Keys(private_pem, public_pem, private, private.public_key())


def _new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def platform() -> Keys:
    """WeChat Pay's public-key-mode key."""
    return _keys(_new_key())


@pytest.fixture(scope="session")
def stranger() -> Keys:
    return _keys(_new_key())


@dataclass
class Cert:
    key: object
    pem: str
    serial: str  # upper-case hex, as in Wechatpay-Serial


def _cert(key, not_before: dt.datetime, not_after: dt.datetime) -> Cert:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA test")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .sign(key, hashes.SHA256()))
    return Cert(key, cert.public_bytes(serialization.Encoding.PEM).decode(),
                format(cert.serial_number, "X"))


@pytest.fixture(scope="session")
def certs(platform, stranger) -> dict[str, Cert]:
    """Two valid platform certificates (a rotation) and an expired one."""
    now = dt.datetime.now(dt.timezone.utc)
    day = dt.timedelta(days=1)
    return {"old": _cert(platform.private, now - 300 * day, now + 30 * day),
            "new": _cert(stranger.private, now - day, now + 700 * day),
            "expired": _cert(_new_key(), now - 400 * day, now - day)}


# --- independent signing / encryption (WeChat's side) ----------------------------------

def sign_message(private_key, message: bytes) -> str:
    return base64.b64encode(private_key.sign(message, padding.PKCS1v15(),
                                             hashes.SHA256())).decode()


def signed_headers(body: bytes, private_key, serial: str, ts: int | str, *,
                   nonce: str | None = None, signature: str | None = None,
                   sig_type: str | None = SIG_TYPE) -> dict[str, str]:
    nonce = nonce or uuid.uuid4().hex
    message = f"{ts}\n{nonce}\n".encode() + body + b"\n"
    headers = {"Wechatpay-Timestamp": str(ts), "Wechatpay-Nonce": nonce,
               "Wechatpay-Serial": serial,
               "Wechatpay-Signature": signature or sign_message(private_key, message)}
    if sig_type is not None:
        headers["Wechatpay-Signature-Type"] = sig_type
    return headers


def encrypt(plaintext: bytes, key: str = APIV3_KEY, nonce: str = "fdasflkja484",
            associated_data: str = "transaction") -> dict:
    ciphertext = AESGCM(key.encode()).encrypt(nonce.encode(), plaintext, associated_data.encode())
    return {"algorithm": "AEAD_AES_256_GCM", "nonce": nonce,
            "associated_data": associated_data,
            "ciphertext": base64.b64encode(ciphertext).decode()}


class Clock:
    def __init__(self):
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


# --- the fake WeChat Pay server -----------------------------------------------------------

@dataclass
class Seen:
    method: str
    uri: str  # the raw request target: path?query exactly as sent
    headers: dict
    body: bytes


@dataclass
class Answer:
    status: int
    body: bytes = b""
    headers: dict = field(default_factory=dict)


class FakePay:
    def __init__(self):
        self.seen: list[Seen] = []
        self.handler = lambda req: Answer(500, b"{}")
        self.url = ""

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items()
                   if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        req = Seen(environ["REQUEST_METHOD"], environ["RAW_URI"], headers,
                   environ["wsgi.input"].read(length))
        self.seen.append(req)
        answer = self.handler(req)
        start_response(f"{answer.status} X", list(answer.headers.items()))
        return [answer.body]


@pytest.fixture(scope="session")
def _server():
    app = FakePay()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.url = f"http://127.0.0.1:{server.server_port}"
    yield app
    server.shutdown()


@pytest.fixture
def server(_server) -> FakePay:
    _server.seen.clear()
    _server.handler = lambda req: Answer(500, b"{}")
    return _server


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    """The backoff sleeps the clients asked for (none actually happen)."""
    return Sleeps()


@pytest.fixture
def make_client(server, merchant, platform, clock, sleeps):
    """A client in public-key mode (unless public_key=None) talking to `server`."""
    def make(**overrides) -> WeChatPayClient:
        kwargs = dict(mchid=MCHID, appid=APPID, merchant_serial=MERCHANT_SERIAL,
                      merchant_private_key=merchant.private_pem, apiv3_key=APIV3_KEY,
                      api_base=server.url, public_key=platform.public_pem,
                      public_key_id=PUB_KEY_ID, timeout=3.0, retries=2, clock=clock,
                      backoff=0.0, sleep=sleeps)
        kwargs.update(overrides)
        if kwargs["public_key"] is None:
            kwargs["public_key_id"] = None
        return WeChatPayClient(**kwargs)
    return make


@pytest.fixture
def respond(server, platform, clock):
    """`respond(status, body)` → an Answer signed with the platform key as WeChat would."""
    def answer(status: int, body: bytes = b"", *, key=None, serial: str = PUB_KEY_ID,
               ts: int | None = None, **sign_kw) -> Answer:
        headers = {"Content-Type": "application/json; charset=utf-8", "Request-ID": "req-1"}
        headers.update(signed_headers(body, key or platform.private, serial,
                                      int(clock()) if ts is None else ts, **sign_kw))
        return Answer(status, body, headers)
    return answer
