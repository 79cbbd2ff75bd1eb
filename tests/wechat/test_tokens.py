"""access_token: stable_token only, shared through Redis, refreshed once on 40001/42001."""
from __future__ import annotations

import threading

import pytest
import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from tests.wechat.conftest import APPID, GOOD_ORDER_PAID, ORDER_PAID, SECRET
from wechat.errors import WeChatAPIError
from wechat.miniprogram import token_ttl

TOKEN_KEY = f"wechat:{APPID}_access_token"


def plain_token(server, appid=APPID, secret=SECRET):
    """/cgi-bin/token through wechatpy's own fetch code, pointed at the sandbox."""
    client = WeChatClient(appid, secret)
    return client._fetch_access_token(
        url=server.base_url + "/cgi-bin/token",
        params={"grant_type": "client_credential", "appid": appid, "secret": secret},
    )["access_token"]


def stable_raw(server, force=False, **override):
    body = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET,
            "force_refresh": force, **override}
    return requests.post(server.base_url + "/cgi-bin/stable_token", json=body, timeout=5).json()


def token_works(server, token):
    """errcode of a business call made with `token` (0 = accepted)."""
    res = requests.post(server.base_url + "/wxa/sec/order/upload_shipping_info",
                        params={"access_token": token}, json={}, timeout=5).json()
    return 0 if res["errcode"] == 47001 else res["errcode"]  # 47001: token fine, body not


def test_client_uses_stable_token_and_caches_it_in_redis(mp, wx, redis):
    token = mp.access_token
    assert wx.calls("/cgi-bin/stable_token") == [0]
    assert wx.calls("/cgi-bin/token") == []
    assert redis.get(TOKEN_KEY).decode() == f'"{token}"'
    assert 0 < redis.ttl(TOKEN_KEY) <= 7200 - 300
    assert mp.access_token == token
    assert wx.calls("/cgi-bin/stable_token") == [0]


def test_token_ttl_keeps_a_safety_margin():
    assert token_ttl(7200) == 6900
    assert token_ttl(600) == 540
    assert token_ttl(1) == 1


def test_two_clients_sharing_redis_fetch_once(make_client, redis, wx):
    first, second = make_client(redis=redis), make_client(redis=redis)
    assert first.access_token == second.access_token
    assert wx.state.call_count("/cgi-bin/stable_token") == 1


def test_concurrent_clients_do_not_stampede(make_client, redis, wx):
    wx.fail_next(path="/cgi-bin/stable_token", delay=0.3)  # the first fetch is slow
    clients = [make_client(redis=redis) for _ in range(6)]
    tokens = []
    threads = [threading.Thread(target=lambda c=c: tokens.append(c.access_token)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(tokens) == 6 and len(set(tokens)) == 1
    assert wx.state.call_count("/cgi-bin/stable_token") == 1


def test_plain_token_invalidates_previous_plain_token_only(fresh_sandbox, mp):
    stable = mp.access_token
    first = plain_token(fresh_sandbox)
    assert token_works(fresh_sandbox, first) == 0
    second = plain_token(fresh_sandbox)
    assert token_works(fresh_sandbox, first) == 40001
    assert token_works(fresh_sandbox, second) == 0
    assert token_works(fresh_sandbox, stable) == 0  # the two kinds are isolated


def test_force_refresh_invalidates_stable_but_not_plain_token(fresh_sandbox, state):
    plain = plain_token(fresh_sandbox)
    old = stable_raw(fresh_sandbox)["access_token"]
    new = stable_raw(fresh_sandbox, force=True)["access_token"]
    assert new != old
    assert token_works(fresh_sandbox, old) == 40001
    assert token_works(fresh_sandbox, new) == 0
    assert token_works(fresh_sandbox, plain) == 0
    assert stable_raw(fresh_sandbox, force=True)["errcode"] == 45009  # 30 s spacing
    state.advance(31)
    assert "access_token" in stable_raw(fresh_sandbox, force=True)


def test_stable_normal_mode_returns_current_token_with_remaining_time(fresh_sandbox, state):
    first = stable_raw(fresh_sandbox)
    assert first["expires_in"] == 7200
    state.advance(1000)
    again = stable_raw(fresh_sandbox)
    assert again["access_token"] == first["access_token"]
    assert 6195 <= again["expires_in"] <= 6200


def test_stable_normal_mode_renews_near_expiry_with_overlap(fresh_sandbox, state):
    old = stable_raw(fresh_sandbox)["access_token"]
    state.advance(7200 - 200)  # inside the 5-minute window
    new = stable_raw(fresh_sandbox)
    assert new["access_token"] != old and new["expires_in"] == 7200
    assert token_works(fresh_sandbox, old) == 0  # old and new overlap
    state.advance(201)
    assert token_works(fresh_sandbox, old) == 42001
    assert token_works(fresh_sandbox, new["access_token"]) == 0


def test_expired_token_is_refetched_and_the_call_retried(mp, wx, state, redis):
    openid = wx.login()["openid"]
    wx.grant(openid)
    stale = mp.access_token
    state.advance(7201)  # WeChat expired it; our Redis copy still lives
    assert mp.send_subscribe_message(openid, ORDER_PAID, GOOD_ORDER_PAID) > 0
    assert wx.calls("/cgi-bin/message/subscribe/send") == [42001, 0]
    assert wx.calls("/cgi-bin/stable_token") == [0, 0]
    assert mp.access_token != stale
    assert redis.get(TOKEN_KEY).decode() == f'"{mp.access_token}"'


def test_token_revoked_elsewhere_gives_40001_then_recovers(mp, wx, fresh_sandbox):
    openid = wx.login()["openid"]
    wx.grant(openid)
    stale = mp.access_token
    stable_raw(fresh_sandbox, force=True)  # another deployment force-refreshed
    mp.send_subscribe_message(openid, ORDER_PAID, GOOD_ORDER_PAID)
    assert wx.calls("/cgi-bin/message/subscribe/send") == [40001, 0]
    assert mp.access_token != stale


def test_persistent_40001_is_retried_only_once(mp, wx):
    openid = wx.login()["openid"]
    wx.fail_next(path="/cgi-bin/message/subscribe/send", errcode=40001)
    wx.fail_next(path="/cgi-bin/message/subscribe/send", errcode=40001)
    with pytest.raises(WeChatAPIError) as exc:
        mp.send_subscribe_message(openid, ORDER_PAID, GOOD_ORDER_PAID)
    assert exc.value.errcode == 40001
    assert wx.calls("/cgi-bin/message/subscribe/send") == [40001, 40001]


def test_wrong_secret_is_an_api_error(make_client):
    with pytest.raises(WeChatAPIError) as exc:
        make_client(secret="wrong").access_token
    assert exc.value.errcode == 40001


@pytest.mark.parametrize("override, errcode", [
    ({"appid": "wx_unknown"}, 40013),
    ({"secret": "wrong"}, 40001),
    ({"grant_type": "password"}, 40002),
    ({"force_refresh": "yes"}, 40097),
])
def test_stable_token_errors(fresh_sandbox, override, errcode):
    res = stable_raw(fresh_sandbox, **override)
    assert res["errcode"] == errcode and " rid: " in res["errmsg"]


def test_stable_token_takes_json_only(fresh_sandbox):
    url = fresh_sandbox.base_url + "/cgi-bin/stable_token"
    form = requests.post(url, data={"grant_type": "client_credential", "appid": APPID,
                                    "secret": SECRET}, timeout=5).json()
    assert form["errcode"] == 47001
    assert requests.get(url, timeout=5).json()["errcode"] == 43002


@pytest.mark.parametrize("params, errcode", [
    ({"grant_type": "client_credential", "appid": "wx_nope", "secret": SECRET}, 40013),
    ({"grant_type": "client_credential", "appid": APPID, "secret": "bad"}, 40001),
    ({"grant_type": "nope", "appid": APPID, "secret": SECRET}, 40002),
])
def test_plain_token_errors_through_wechatpy(fresh_sandbox, params, errcode):
    with pytest.raises(WeChatClientException) as exc:
        WeChatClient(APPID, SECRET)._fetch_access_token(
            url=fresh_sandbox.base_url + "/cgi-bin/token", params=params)
    assert exc.value.errcode == errcode


def test_business_endpoints_check_the_token(fresh_sandbox):
    assert token_works(fresh_sandbox, "not-a-token") == 40001
    res = requests.post(fresh_sandbox.base_url + "/wxa/getwxacodeunlimit", json={"scene": "a"},
                        timeout=5).json()
    assert res["errcode"] == 41001
