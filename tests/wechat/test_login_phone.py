"""jscode2session and getuserphonenumber, through MiniProgramClient."""
from __future__ import annotations

import base64
import json
import logging

import pytest
import requests

from tests.wechat.conftest import APPID, OTHER_APPID, OTHER_SECRET, SECRET
from wechat.errors import WeChatAPIError
from wechat.sandbox import openid_for


def test_login_code_gives_openid_and_fresh_session_key(mp, wx):
    issued = wx.login("alice")
    session = mp.code_to_session(issued["code"])
    assert session["openid"] == issued["openid"] == openid_for(APPID, "alice")
    assert len(session["openid"]) == 28 and session["openid"].startswith("o")
    assert len(base64.b64decode(session["session_key"])) == 16
    assert "unionid" not in session


def test_openid_is_stable_per_user_and_app(mp, wx, make_client):
    first = mp.code_to_session(wx.login("alice")["code"])
    second = mp.code_to_session(wx.login("alice")["code"])
    bob = mp.code_to_session(wx.login("bob")["code"])
    assert first["openid"] == second["openid"] != bob["openid"]
    assert first["session_key"] != second["session_key"]  # every login rotates it
    other = make_client(appid=OTHER_APPID, secret=OTHER_SECRET)
    elsewhere = other.code_to_session(wx.login("alice", appid=OTHER_APPID)["code"])
    assert elsewhere["openid"] != first["openid"]


@pytest.mark.parametrize("case", ["used", "unknown", "expired", "other_app", "phone_code"])
def test_bad_login_codes_are_40029(mp, wx, state, case):
    code = wx.login()["code"]
    if case == "used":
        mp.code_to_session(code)
    elif case == "unknown":
        code = "0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d"
    elif case == "expired":
        state.advance(301)
    elif case == "other_app":
        code = wx.login(appid=OTHER_APPID)["code"]
    else:
        code = wx.phone_code()
    with pytest.raises(WeChatAPIError) as exc:
        mp.code_to_session(code)
    assert exc.value.errcode == 40029


def test_jscode2session_checks_the_app(fresh_sandbox, wx):
    url = fresh_sandbox.base_url + "/sns/jscode2session"
    code = wx.login()["code"]
    base = {"appid": APPID, "secret": SECRET, "js_code": code, "grant_type": "authorization_code"}
    for override, errcode in (({"secret": "x"}, 40125), ({"appid": "wx0"}, 40013),
                              ({"grant_type": "x"}, 40002)):
        res = requests.get(url, params={**base, **override}, timeout=5).json()
        assert res["errcode"] == errcode
    # No access_token needed (wechatpy sends one anyway); success has no errcode.
    ok = requests.get(url, params=base, timeout=5).json()
    assert set(ok) == {"openid", "session_key"}


def test_phone_number(mp, wx):
    info = mp.get_phone_number(wx.phone_code("13800138000"))
    assert info["phoneNumber"] == info["purePhoneNumber"] == "13800138000"
    assert info["countryCode"] == "86"
    assert info["watermark"]["appid"] == APPID
    assert isinstance(info["watermark"]["timestamp"], int)


def test_foreign_phone_number(mp, wx):
    info = mp.get_phone_number(wx.phone_code("4155552671", country_code="1"))
    assert info["purePhoneNumber"] == "4155552671"
    assert info["phoneNumber"] == "+14155552671"
    assert info["countryCode"] == "1"


def test_phone_code_is_single_use(mp, wx):
    code = wx.phone_code()
    mp.get_phone_number(code)
    with pytest.raises(WeChatAPIError) as exc:
        mp.get_phone_number(code)
    assert exc.value.errcode == 40029
    with pytest.raises(WeChatAPIError) as exc:
        mp.get_phone_number(wx.login()["code"])  # a login code is not a phone code
    assert exc.value.errcode == 40029


def test_phone_code_in_query_string_is_40029(mp, wx, fresh_sandbox):
    code = wx.phone_code()
    res = requests.post(fresh_sandbox.base_url + "/wxa/business/getuserphonenumber",
                        params={"access_token": mp.access_token, "code": code},
                        json={"code": code}, timeout=5).json()
    assert res["errcode"] == 40029


def test_numeric_country_code_is_normalised(mp, wx):
    # The docs' example shows countryCode as a number: feed the client one.
    body = {"errcode": 0, "errmsg": "ok", "phone_info": {
        "phoneNumber": "13800138000", "purePhoneNumber": "13800138000", "countryCode": 86,
        "watermark": {"timestamp": 1700000000, "appid": APPID}}}
    wx.fail_next(path="/wxa/business/getuserphonenumber", http_status=200,
                 body=json.dumps(body), content_type="text/plain")
    assert mp.get_phone_number("any")["countryCode"] == "86"


def test_secrets_never_reach_the_logs(mp, wx, caplog):
    caplog.set_level(logging.DEBUG)
    session = mp.code_to_session(wx.login()["code"])
    info = mp.get_phone_number(wx.phone_code("13911112222"))
    text = caplog.text
    assert "urllib3" in text or "wechat" in text  # something was logged at DEBUG
    for secret in (SECRET, session["session_key"], info["purePhoneNumber"], mp.access_token):
        assert secret not in text
