"""The blueprint under a prefix, the standalone app and server, and the `_/` endpoints."""
from __future__ import annotations

import argparse
import json

import fakeredis
import pytest
import requests
from flask import Flask

from tests.wechat.conftest import APPID, GOOD_ORDER_PAID, ORDER_PAID, SECRET
from wechat.miniprogram import MiniProgramClient
from wechat.sandbox import DEMO_APPID, DEMO_SECRET, SandboxState, create_app, create_blueprint
from wechat.sandbox.__main__ import _app_pair
from wechat.sandbox.server import start_sandbox_server


@pytest.fixture
def mounted():
    state = SandboxState(apps={APPID: SECRET})
    app = Flask("host")
    app.register_blueprint(create_blueprint(state), url_prefix="/sandbox")
    return app.test_client(), state


def test_blueprint_works_under_a_prefix(mounted):
    http, state = mounted
    token = http.post("/sandbox/cgi-bin/stable_token", json={
        "grant_type": "client_credential", "appid": APPID, "secret": SECRET}).get_json()
    assert token["expires_in"] == 7200
    user = http.post("/sandbox/_/login-codes", json={"user": "alice"}).get_json()
    http.post("/sandbox/_/subscribe-grants", json={"openid": user["openid"],
                                                   "template_id": ORDER_PAID})
    # Failure paths and the call log are relative to the mount point.
    http.post("/sandbox/_/fail-next", json={"path": "/cgi-bin/message/subscribe/send",
                                            "errcode": -1})
    body = {"touser": user["openid"], "template_id": ORDER_PAID, "data": GOOD_ORDER_PAID}
    url = f"/sandbox/cgi-bin/message/subscribe/send?access_token={token['access_token']}"
    assert http.post(url, json=body).get_json()["errcode"] == -1
    sent = http.post(url, json=body).get_json()
    assert sent["errcode"] == 0 and sent["msgid"] > 0
    assert state.call_count("/cgi-bin/message/subscribe/send") == 2
    assert http.get("/sandbox/cgi-bin/token").get_json()["errcode"] == 40002
    assert http.get("/cgi-bin/token").status_code == 404


def test_error_envelope_is_http_200_with_rid(mounted):
    http, _ = mounted
    res = http.get("/sandbox/sns/jscode2session?appid=nope")
    assert res.status_code == 200 and res.content_type.startswith("application/json")
    body = res.get_json()
    assert body["errcode"] == 40002 and " rid: " in body["errmsg"]
    assert http.get("/sandbox/wxa/getwxacodeunlimit").get_json()["errcode"] == 43002


def test_inspection_never_exposes_secrets(mp, wx, fresh_sandbox):
    session = mp.code_to_session(wx.login()["code"])
    mp.get_phone_number(wx.phone_code("13912345678"))
    wx.phone_code("13700000000")
    wx.grant(session["openid"])
    mp.send_subscribe_message(session["openid"], ORDER_PAID, GOOD_ORDER_PAID)
    dumps = "".join(json.dumps(wx.get(path)) for path in (
        "/_/config", "/_/codes", "/_/messages", "/_/calls", "/_/subscribe-grants",
        "/_/wxacodes", "/_/shipping-uploads"))
    for secret in (SECRET, session["session_key"], "13912345678", "13700000000",
                   mp.access_token):
        assert secret not in dumps
    codes = wx.get("/_/codes")["codes"]
    assert [(c["kind"], c["used"]) for c in codes] == [
        ("login", True), ("phone", True), ("phone", False)]
    assert codes[2]["phone_masked"] == "137****0000"
    assert wx.get("/_/config")["apps"] == [APPID, "wx2222222222222222"]


def test_inspection_input_errors_are_400(fresh_sandbox):
    base = fresh_sandbox.base_url
    for path, body in (("/_/login-codes", {}), ("/_/login-codes", {"user": "a", "appid": "wx0"}),
                       ("/_/phone-codes", {"phone": "12ab"}),
                       ("/_/subscribe-grants", {"openid": "o", "template_id": "NOPE"}),
                       ("/_/subscribe-grants", {"openid": "o", "template_id": ORDER_PAID,
                                                "count": 0})):
        res = requests.post(base + path, json=body, timeout=5)
        assert res.status_code == 400, (path, body)
    assert requests.post(base + "/_/login-codes", data="x", timeout=5).status_code == 400


def test_reset_forgets_everything_but_the_config(wx, fresh_sandbox, mp):
    openid = wx.login()["openid"]
    wx.grant(openid)
    wx.fail_next(path="/sns/jscode2session", errcode=-1)
    token = mp.access_token
    assert requests.post(fresh_sandbox.base_url + "/_/reset", timeout=5).json() == {"ok": True}
    assert wx.get("/_/codes")["codes"] == [] and wx.get("/_/subscribe-grants")["grants"] == []
    assert wx.get("/_/calls")["calls"] == []
    assert ORDER_PAID in wx.get("/_/config")["templates"]
    res = requests.post(fresh_sandbox.base_url + "/wxa/sec/order/upload_shipping_info",
                        params={"access_token": token}, json={}, timeout=5).json()
    assert res["errcode"] == 40001  # tokens are forgotten too


def test_standalone_server_and_app():
    with start_sandbox_server() as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        assert DEMO_APPID in server.state.apps
        redis = fakeredis.FakeRedis(server=fakeredis.FakeServer())
        client = MiniProgramClient(DEMO_APPID, server.state.apps[DEMO_APPID],
                                   server.base_url, redis)
        code = requests.post(server.base_url + "/_/login-codes", json={"user": "demo"},
                             timeout=5).json()["code"]
        assert client.code_to_session(code)["openid"].startswith("o")
    with pytest.raises(requests.ConnectionError):
        requests.get(server.base_url + "/_/config", timeout=1)
    app = create_app()
    config = app.test_client().get("/_/config")
    assert config.get_json()["apps"] == [DEMO_APPID]
    assert DEMO_SECRET.encode() not in config.data
    assert isinstance(app.extensions["wechat_sandbox"], SandboxState)


def test_main_parses_app_pairs():
    assert _app_pair("wxabc:s3cr:et") == ("wxabc", "s3cr:et")
    with pytest.raises(argparse.ArgumentTypeError):
        _app_pair("wxabc")


def test_state_needs_an_app():
    with pytest.raises(ValueError):
        SandboxState(apps={})


def test_non_ascii_secret_is_rejected_not_a_crash(fresh_sandbox):
    res = requests.get(fresh_sandbox.base_url + "/cgi-bin/token", timeout=5, params={
        "grant_type": "client_credential", "appid": APPID, "secret": "密钥"})
    assert res.status_code == 200 and res.json()["errcode"] == 40001
