"""Subscribe messages (one grant = one send, per-keyword 47003) and OA template messages."""
from __future__ import annotations

import pytest

from tests.wechat.conftest import GOOD_ORDER_PAID, ORDER_PAID
from wechat.errors import WeChatAPIError
from wechat.subscribe_rules import coerce_value, keyword_type


@pytest.fixture
def openid(wx):
    return wx.login("alice")["openid"]


def errcode_of(fn, *args, **kwargs) -> WeChatAPIError:
    with pytest.raises(WeChatAPIError) as exc:
        fn(*args, **kwargs)
    return exc.value


def test_each_grant_allows_exactly_one_send(mp, wx, openid):
    assert wx.grant(openid, count=2) == 2
    first = mp.send_subscribe_message(openid, ORDER_PAID, GOOD_ORDER_PAID,
                                      page="pages/order/detail?id=5")
    second = mp.send_subscribe_message(openid, ORDER_PAID, GOOD_ORDER_PAID)
    assert isinstance(first, int) and first > 2 ** 32 and first != second
    assert errcode_of(mp.send_subscribe_message, openid, ORDER_PAID,
                      GOOD_ORDER_PAID).errcode == 43101
    assert wx.get("/_/subscribe-grants", openid=openid)["grants"] == [
        {"openid": openid, "template_id": ORDER_PAID, "remaining": 0}]
    sent = wx.get("/_/messages", kind="subscribe", touser=openid)["messages"]
    assert [m["msgid"] for m in sent] == [first, second]
    assert sent[0]["page"] == "pages/order/detail?id=5" and sent[0]["data"] == GOOD_ORDER_PAID


def test_no_grant_is_43101(mp, openid):
    assert errcode_of(mp.send_subscribe_message, openid, ORDER_PAID,
                      GOOD_ORDER_PAID).errcode == 43101


def test_grant_is_per_template(mp, wx, openid):
    wx.grant(openid, "TPL_REFUND")
    assert errcode_of(mp.send_subscribe_message, openid, ORDER_PAID,
                      GOOD_ORDER_PAID).errcode == 43101


def test_unknown_template_is_40037(mp, wx, openid):
    wx.grant(openid)
    assert errcode_of(mp.send_subscribe_message, openid, "TPL_NOPE",
                      GOOD_ORDER_PAID).errcode == 40037


@pytest.mark.parametrize("touser", ["", "o_not_a_user_of_this_app_000000"])
def test_unknown_openid_is_40003(mp, wx, touser):
    assert errcode_of(mp.send_subscribe_message, touser, ORDER_PAID,
                      GOOD_ORDER_PAID).errcode == 40003


@pytest.mark.parametrize("keyword, bad", [
    ("character_string1", "订单123"),
    ("character_string1", "X" * 33),
    ("amount2", "十二元"),
    ("thing3", "很" * 21),
    ("thing3", "line one\nline two"),
    ("time4", "tomorrow"),
    ("time4", "25:00"),
])
def test_bad_keyword_value_is_47003_naming_it(mp, wx, openid, keyword, bad):
    wx.grant(openid)
    data = {**GOOD_ORDER_PAID, keyword: {"value": bad}}
    err = errcode_of(mp.send_subscribe_message, openid, ORDER_PAID, data)
    assert err.errcode == 47003
    assert f"data.{keyword}.value invalid" in err.errmsg
    # A rejected send does not use the grant up.
    assert mp.send_subscribe_message(openid, ORDER_PAID, GOOD_ORDER_PAID) > 0


def test_missing_and_extra_keywords_are_47003(mp, wx, openid):
    wx.grant(openid)
    missing = {k: v for k, v in GOOD_ORDER_PAID.items() if k != "thing3"}
    err = errcode_of(mp.send_subscribe_message, openid, ORDER_PAID, missing)
    assert err.errcode == 47003 and "data.thing3.value is empty" in err.errmsg
    extra = {**GOOD_ORDER_PAID, "thing9": {"value": "x"}}
    err = errcode_of(mp.send_subscribe_message, openid, ORDER_PAID, extra)
    assert err.errcode == 47003 and "data.thing9" in err.errmsg
    empty = {**GOOD_ORDER_PAID, "thing3": {"value": ""}}
    assert "is empty" in errcode_of(mp.send_subscribe_message, openid, ORDER_PAID, empty).errmsg


def test_coerced_values_are_accepted(mp, wx, openid):
    from datetime import datetime, timezone

    wx.grant(openid)
    raw = {"character_string1": "订单 T-0001", "amount2": 1230,
           "thing3": "人民广场旗舰店（地铁1号线2号口出站右转100米）",
           "time4": datetime(2024, 5, 1, 4, 0, tzinfo=timezone.utc)}
    data = {k: {"value": coerce_value(keyword_type(k), v)} for k, v in raw.items()}
    assert mp.send_subscribe_message(openid, ORDER_PAID, data) > 0
    sent = wx.get("/_/messages", kind="subscribe")["messages"][-1]["data"]
    assert sent["time4"]["value"] == "2024-05-01 12:00" and sent["amount2"]["value"] == "¥12.30"


def test_state_lang_and_page_rules(mp, wx, openid):
    wx.grant(openid, count=3)
    mp.send_subscribe_message(openid, ORDER_PAID, GOOD_ORDER_PAID,
                              miniprogram_state="trial", lang="en_US", page="pages/new/page")
    sent = wx.get("/_/messages")["messages"][-1]
    assert (sent["miniprogram_state"], sent["lang"]) == ("trial", "en_US")
    assert errcode_of(mp.send_subscribe_message, openid, ORDER_PAID, GOOD_ORDER_PAID,
                      page="pages/new/page").errcode == 41030
    assert errcode_of(mp.send_subscribe_message, openid, ORDER_PAID, GOOD_ORDER_PAID,
                      lang="fr_FR").errcode == 47003
    assert errcode_of(mp.send_subscribe_message, openid, ORDER_PAID, GOOD_ORDER_PAID,
                      miniprogram_state="beta").errcode == 47003


def test_template_message_is_recorded(mp, wx):
    data = {"first": {"value": "Your order is ready", "color": "#173177"}}
    msgid = mp.send_template_message("oa_openid_1", "OA_TPL", data,
                                     miniprogram={"appid": "wx1", "pagepath": "pages/index/index"})
    sent = wx.get("/_/messages", kind="template")["messages"]
    assert [(m["msgid"], m["touser"], m["data"]) for m in sent] == [(msgid, "oa_openid_1", data)]
    assert wx.get("/_/messages", kind="subscribe")["messages"] == []


def test_template_message_errors_and_dedup(mp, wx, state):
    data = {"first": {"value": "x"}}
    assert errcode_of(mp.send_template_message, "", "OA_TPL", data).errcode == 40003
    first = mp.send_template_message("oa1", "OA_TPL", data, client_msg_id="m-1")
    again = mp.send_template_message("oa1", "OA_TPL", data, client_msg_id="m-1")
    assert first == again and len(wx.get("/_/messages", kind="template")["messages"]) == 1
    state.advance(601)
    assert mp.send_template_message("oa1", "OA_TPL", data, client_msg_id="m-1") != first


def test_template_whitelist_when_configured(mp, state):
    state.oa_templates = {"OA_ONLY"}
    try:
        assert errcode_of(mp.send_template_message, "oa1", "OA_TPL", {}).errcode == 40037
        assert mp.send_template_message("oa1", "OA_ONLY", {}) > 0
    finally:
        state.oa_templates = None
