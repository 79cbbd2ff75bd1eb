"""getwxacodeunlimit (a real PNG) and upload_shipping_info validation."""
from __future__ import annotations

import copy

import png
import pytest
import qrcode
import requests

from wechat.errors import WeChatAPIError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def qr_matrix_of(img: bytes) -> list[list[bool]]:
    """Read the modules back out of the PNG (black = True), one sample per module."""
    width, height, rows, _ = png.Reader(bytes=img).read()
    rows = [list(r) for r in rows]
    # The first black pixel on the diagonal is the top-left finder pattern's corner.
    start = next(i for i in range(width) if rows[i][i] == 0)
    modules = (width - 2 * start)
    box = next(i for i in range(start, width) if rows[start][i] == 1) - start  # finder is 7 wide
    box //= 7
    count = modules // box
    return [[rows[start + r * box + box // 2][start + c * box + box // 2] == 0
             for c in range(count)] for r in range(count)]


def expected_matrix(data: str) -> list[list[bool]]:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    qr.add_data(data)
    qr.make(fit=True)
    return qr.get_matrix()


def test_wxacode_is_a_png_encoding_page_and_scene(mp, wx):
    img = mp.get_wxa_code_unlimited("o=123&s=9", page="pages/staff/verify", width=430)
    assert img.startswith(PNG_SIGNATURE)
    width, height, _, info = png.Reader(bytes=img).read()
    assert width == height and 0.8 * 430 <= width <= 430
    assert qr_matrix_of(img) == expected_matrix("pages/staff/verify?scene=o%3D123%26s%3D9")
    (issued,) = wx.get("/_/wxacodes")["wxacodes"]
    assert isinstance(issued.pop("at"), int)
    assert issued == {"appid": mp.appid, "scene": "o=123&s=9", "page": "pages/staff/verify",
                      "width": 430, "check_path": True, "env_version": "release"}


def test_wxacode_width_and_default_page(mp, wx):
    big = mp.get_wxa_code_unlimited("x", width=1280)
    small = mp.get_wxa_code_unlimited("x", width=280)
    assert png.Reader(bytes=big).read()[0] > 2 * png.Reader(bytes=small).read()[0]
    assert wx.get("/_/wxacodes")["wxacodes"][0]["page"] == "pages/index/index"


def test_unknown_page_is_41030_unless_check_path_is_off(mp):
    with pytest.raises(WeChatAPIError) as exc:
        mp.get_wxa_code_unlimited("x", page="pages/not/released")
    assert exc.value.errcode == 41030
    img = mp.get_wxa_code_unlimited("x", page="pages/not/released", check_path=False,
                                    env_version="develop")
    assert img.startswith(PNG_SIGNATURE)


@pytest.mark.parametrize("page", ["/pages/index/index", "pages/index/index?id=1", "scancode_time"])
def test_malformed_page_is_41030(mp, page):
    with pytest.raises(WeChatAPIError) as exc:
        mp.get_wxa_code_unlimited("x", page=page, check_path=False)
    assert exc.value.errcode == 41030


@pytest.mark.parametrize("kwargs", [
    {"scene": "x" * 33}, {"scene": ""}, {"scene": "100%"}, {"scene": "取货"},
    {"scene": "a b"}, {"scene": "x", "width": 100}, {"scene": "x", "width": 2000},
    {"scene": "x", "env_version": "beta"},
])
def test_bad_wxacode_args_are_40097(mp, kwargs):
    with pytest.raises(WeChatAPIError) as exc:
        mp.get_wxa_code_unlimited(**kwargs)
    assert exc.value.errcode == 40097


def test_wxacode_takes_json_only(mp, fresh_sandbox):
    res = requests.post(fresh_sandbox.base_url + "/wxa/getwxacodeunlimit",
                        params={"access_token": mp.access_token}, data={"scene": "x"}, timeout=5)
    assert res.status_code == 200 and res.json()["errcode"] == 47001


PICKUP = {
    "order_key": {"order_number_type": 1, "mchid": "1900000109", "out_trade_no": "T20240501000123"},
    "logistics_type": 4,
    "delivery_mode": 1,
    "shipping_list": [{"item_desc": "鲜牛奶 x2"}],
    "upload_time": "2024-05-01T12:00:00.000+08:00",
    "payer": {"openid": "o_NRrlIyqB1B1V4xLW83s4StNz40"},
}


def test_pickup_shipping_upload_is_recorded(mp, wx):
    assert mp.upload_shipping_info(PICKUP) is None
    by_transaction = {**PICKUP, "order_key": {"order_number_type": 2, "transaction_id": "4200001"},
                      "upload_time": "2024-05-01T04:00:00Z"}
    mp.upload_shipping_info(by_transaction)
    uploads = wx.get("/_/shipping-uploads")["uploads"]
    assert [u["payload"] for u in uploads] == [PICKUP, by_transaction]


def test_express_upload_needs_tracking(mp):
    express = {**PICKUP, "logistics_type": 1,
               "shipping_list": [{"item_desc": "牛奶", "tracking_no": "YT123",
                                  "express_company": "YTO"}]}
    mp.upload_shipping_info(express)
    express["shipping_list"] = [{"item_desc": "牛奶", "express_company": "YTO"}]
    with pytest.raises(WeChatAPIError) as exc:
        mp.upload_shipping_info(express)
    assert exc.value.errcode == 47001 and "tracking_no" in exc.value.errmsg


def test_sf_upload_needs_the_receivers_masked_phone(mp, wx):
    sf = {"item_desc": "牛奶", "tracking_no": "SF123", "express_company": "SF"}
    for contact in (None, {}, {"consignor_contact": "021****4567"}, {"receiver_contact": ""}):
        item = sf if contact is None else {**sf, "contact": contact}
        with pytest.raises(WeChatAPIError) as exc:
            mp.upload_shipping_info({**PICKUP, "logistics_type": 1, "shipping_list": [item]})
        assert exc.value.errcode == 47003 and "receiver_contact" in exc.value.errmsg
    assert wx.get("/_/shipping-uploads")["uploads"] == []
    mp.upload_shipping_info({**PICKUP, "logistics_type": 1, "shipping_list": [
        {**sf, "contact": {"receiver_contact": "138****5678"}}]})
    assert len(wx.get("/_/shipping-uploads")["uploads"]) == 1


def _broken(path: str, value):
    payload = copy.deepcopy(PICKUP)
    *parents, last = path.split(".")
    target = payload
    for p in parents:
        target = target[int(p)] if isinstance(target, list) else target[p]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return payload


@pytest.mark.parametrize("path, value, hint", [
    ("order_key.order_number_type", 3, "order_number_type"),
    ("order_key.mchid", KeyError, "mchid"),
    ("order_key.out_trade_no", "", "out_trade_no"),
    ("logistics_type", 5, "logistics_type"),
    ("logistics_type", True, "logistics_type"),
    ("delivery_mode", 3, "delivery_mode"),
    ("delivery_mode", 2, "is_all_delivered"),
    ("shipping_list", [], "shipping_list"),
    ("shipping_list.0.item_desc", KeyError, "item_desc"),
    ("upload_time", "2024-05-01 12:00:00", "upload_time"),
    ("upload_time", "2024-05-01T12:00:00", "upload_time"),
    ("upload_time", "2024-13-01T12:00:00+08:00", "upload_time"),
    ("payer.openid", "", "payer.openid"),
    ("payer", KeyError, "payer.openid"),
])
def test_bad_shipping_upload_is_47001(mp, wx, path, value, hint):
    with pytest.raises(WeChatAPIError) as exc:
        mp.upload_shipping_info(_broken(path, value))
    assert exc.value.errcode == 47001 and hint in exc.value.errmsg
    assert wx.get("/_/shipping-uploads")["uploads"] == []
