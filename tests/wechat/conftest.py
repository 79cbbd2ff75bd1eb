"""A real sandbox server on 127.0.0.1 for the whole session, reset before each test,
and clients that talk to it exactly as they would to api.weixin.qq.com."""
from __future__ import annotations

import socket

import fakeredis
import pytest
import requests

from wechat.miniprogram import MiniProgramClient
from wechat.sandbox.server import start_sandbox_server
from wechat.sandbox.state import SandboxState

APPID = "wx1111111111111111"
SECRET = "test-secret-one"
OTHER_APPID = "wx2222222222222222"
OTHER_SECRET = "test-secret-two"

ORDER_PAID = "TPL_ORDER_PAID"
GOOD_ORDER_PAID = {
    "character_string1": {"value": "T20240501000123"},
    "amount2": {"value": "¥12.30"},
    "thing3": {"value": "人民广场店"},
    "time4": {"value": "2024-05-01 12:00"},
}


class Wx:
    """The user's and the tester's side of the sandbox (its `_/` endpoints)."""

    def __init__(self, server):
        self.server = server
        self.base = server.base_url
        self.state = server.state

    def _post(self, path, body):
        res = requests.post(self.base + path, json=body, timeout=5)
        assert res.status_code == 200, res.text
        return res.json()

    def login(self, user="alice", appid=None):
        body = {"user": user} if appid is None else {"user": user, "appid": appid}
        return self._post("/_/login-codes", body)

    def phone_code(self, phone="13800138000", country_code=None):
        body = {"phone": phone}
        if country_code:
            body["country_code"] = country_code
        return self._post("/_/phone-codes", body)["code"]

    def grant(self, openid, template_id=ORDER_PAID, count=1):
        body = {"openid": openid, "template_id": template_id, "count": count}
        return self._post("/_/subscribe-grants", body)["remaining"]

    def fail_next(self, **spec):
        return self._post("/_/fail-next", spec)

    def get(self, url_path, **params):
        res = requests.get(self.base + url_path, params=params, timeout=5)
        assert res.status_code == 200, res.text
        return res.json()

    def calls(self, path):
        return [c["errcode"] for c in self.get("/_/calls", path=path)["calls"]]


@pytest.fixture(scope="session")
def sandbox_server():
    server = start_sandbox_server(SandboxState(apps={APPID: SECRET, OTHER_APPID: OTHER_SECRET}))
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _clean_state():
    """Overrides the root conftest's autouse fixture of this name, which boots the whole
    app and its database: wechat/ depends on neither, and these tests use their own
    sandbox (reset by `fresh_sandbox`)."""
    yield


@pytest.fixture
def fresh_sandbox(sandbox_server):
    sandbox_server.state.reset()
    return sandbox_server


@pytest.fixture
def state(fresh_sandbox):
    return fresh_sandbox.state


@pytest.fixture
def wx(fresh_sandbox):
    return Wx(fresh_sandbox)


@pytest.fixture
def redis():
    # An explicit server: FakeRedis() instances with default arguments share data.
    return fakeredis.FakeRedis(server=fakeredis.FakeServer())


@pytest.fixture
def make_client(fresh_sandbox, redis):
    def make(redis=redis, appid=APPID, secret=SECRET, base=None, timeout=2.0):
        base = base or fresh_sandbox.base_url
        return MiniProgramClient(appid, secret, base, redis, timeout=timeout)
    return make


@pytest.fixture
def mp(make_client):
    return make_client()


@pytest.fixture
def closed_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


# The WeChat Pay sandbox's fixtures: pay_server, mounted_server, pay, wxpay, keys, receiver.
from tests.wechat.pay_support import (  # noqa: E402,F401
    _receiver, keys, merchant_keys, mounted_server, pay, pay_server, receiver, wxpay)
