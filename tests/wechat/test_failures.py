"""Failure injection, transport failures and the mapping onto WeChatAPIError /
WeChatUnavailable: nothing from requests or wechatpy escapes the client."""
from __future__ import annotations

import time

import pytest
import requests

from tests.wechat.conftest import GOOD_ORDER_PAID, ORDER_PAID, SECRET
from wechat.errors import WeChatAPIError, WeChatError, WeChatUnavailable


@pytest.mark.parametrize("errcode", [45011, 40226, -1])
def test_injected_errcode_on_login_is_an_api_error_once(mp, wx, errcode):
    code = wx.login()["code"]
    assert wx.fail_next(path="/sns/jscode2session", errcode=errcode) == {"pending": 1}
    with pytest.raises(WeChatAPIError) as exc:
        mp.code_to_session(code)
    assert exc.value.errcode == errcode and " rid: " in exc.value.errmsg
    assert mp.code_to_session(code)["openid"]  # once only; the code was not used up


def test_45009_is_converted_from_wechatpys_api_limited(mp, wx):
    wx.fail_next(path="/wxa/getwxacodeunlimit", errcode=45009)
    with pytest.raises(WeChatAPIError) as exc:
        mp.get_wxa_code_unlimited("x")
    assert exc.value.errcode == 45009


CALLS = {
    "/wxa/business/getuserphonenumber": lambda mp: mp.get_phone_number("c"),
    "/sns/jscode2session": lambda mp: mp.code_to_session("c"),
    "/cgi-bin/message/subscribe/send":
        lambda mp: mp.send_subscribe_message("o", ORDER_PAID, GOOD_ORDER_PAID),
    "/cgi-bin/message/template/send": lambda mp: mp.send_template_message("o", "T", {}),
    "/wxa/getwxacodeunlimit": lambda mp: mp.get_wxa_code_unlimited("x"),
    "/wxa/sec/order/upload_shipping_info": lambda mp: mp.upload_shipping_info({}),
    "/cgi-bin/stable_token": lambda mp: mp.access_token,
}


@pytest.mark.parametrize("path", list(CALLS))
@pytest.mark.parametrize("status", [502, 503, 404])
def test_http_errors_are_unavailable(mp, wx, path, status):
    mp.access_token  # the token is fetched first, except when it is the target
    if path == "/cgi-bin/stable_token":
        mp.session.delete(mp.access_token_key)
    wx.fail_next(path=path, http_status=status)
    with pytest.raises(WeChatUnavailable) as exc:
        CALLS[path](mp)
    assert str(status) in exc.value.reason


@pytest.mark.parametrize("path", ["/wxa/business/getuserphonenumber", "/cgi-bin/stable_token",
                                  "/sns/jscode2session", "/wxa/getwxacodeunlimit"])
def test_non_json_answer_is_unavailable(mp, wx, path):
    if path != "/cgi-bin/stable_token":
        mp.access_token
    wx.fail_next(path=path, http_status=200, body="<html>gateway says hi</html>")
    with pytest.raises(WeChatUnavailable):
        CALLS[path](mp)


def test_json_without_the_expected_fields_is_unavailable(mp, wx):
    mp.access_token
    wx.fail_next(path="/wxa/business/getuserphonenumber", http_status=200,
                 body='{"errcode": 0, "errmsg": "ok"}', content_type="application/json")
    with pytest.raises(WeChatUnavailable):
        mp.get_phone_number("c")


def test_unreachable_base_url_is_unavailable(make_client, closed_port):
    mp = make_client(base=f"http://127.0.0.1:{closed_port}")
    for call in (lambda: mp.access_token, lambda: mp.code_to_session("c"),
                 lambda: mp.get_wxa_code_unlimited("x")):
        with pytest.raises(WeChatUnavailable) as exc:
            call()
        assert "ConnectionError" in exc.value.reason
        assert SECRET not in exc.value.reason and str(closed_port) not in exc.value.reason


def test_unreachable_after_token_is_unavailable(mp, fresh_sandbox, closed_port, make_client, redis):
    mp.access_token  # cached in Redis
    broken = make_client(redis=redis, base=f"http://127.0.0.1:{closed_port}/")
    with pytest.raises(WeChatUnavailable) as exc:
        broken.code_to_session("c")
    assert exc.value.reason == "jscode2session: ConnectionError"


def test_timeout_is_unavailable(make_client, wx, state):
    mp = make_client(timeout=0.2)
    mp.access_token
    wx.fail_next(path="/wxa/sec/order/upload_shipping_info", delay=0.5)
    with pytest.raises(WeChatUnavailable) as exc:
        mp.upload_shipping_info({})
    assert "Timeout" in exc.value.reason
    # Let the abandoned request finish here, not in the next test's sandbox state.
    deadline = time.monotonic() + 5
    while not state.call_count("/wxa/sec/order/upload_shipping_info"):
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_errors_share_a_base_class():
    assert issubclass(WeChatAPIError, WeChatError) and issubclass(WeChatUnavailable, WeChatError)
    err = WeChatAPIError(47003, "argument invalid!")
    assert (err.errcode, err.errmsg) == (47003, "argument invalid!")


@pytest.mark.parametrize("spec", [
    {"path": "sns/jscode2session", "errcode": 1},
    {"path": "/sns/jscode2session"},
    {"path": "/sns/jscode2session", "errcode": "45011"},
    {"path": "/sns/jscode2session", "http_status": 99},
    {"path": "/sns/jscode2session", "errcode": 1, "http_status": 502},
    {"path": "/sns/jscode2session", "delay": 60},
])
def test_bad_fail_next_specs_are_400(fresh_sandbox, spec):
    res = requests.post(fresh_sandbox.base_url + "/_/fail-next", json=spec, timeout=5)
    assert res.status_code == 400 and res.json()["error"]
