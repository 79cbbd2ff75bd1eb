"""The Pay endpoints mounted under /sandbox: which canonical URL is signed, the bill
download URL, and the `_/pay/` endpoints under the prefix."""
from __future__ import annotations

import gzip
import hashlib
import json

import pytest
import requests
from flask import Flask

from tests.wechat.conftest import APPID, SECRET
from tests.wechat.pay_support import MCHID, configure, make_pay, make_wxpay, raw_call
from wechat.sandbox import SandboxState, create_blueprint

PAYER = {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}
QUERY = "/v3/pay/transactions/out-trade-no/{}?mchid=" + MCHID


@pytest.fixture
def mounted(mounted_server):
    mounted_server.state.reset()
    configure(mounted_server.state.pay)
    return mounted_server


def test_gateway_relative_client_works_under_the_prefix(mounted, keys):
    """wechatpayv3 with _gate_way = .../sandbox signs /v3/... but requests /sandbox/v3/..."""
    wxpay = make_wxpay(keys, mounted.base_url, mounted.state.pay)
    assert wxpay.pay(description="提货", out_trade_no="T_MOUNT_1", amount={"total": 100},
                     payer=PAYER)[0] == 200
    assert json.loads(wxpay.query(out_trade_no="T_MOUNT_1")[1])["trade_state"] == "NOTPAY"
    res = requests.post(mounted.base_url + "/_/pay/transactions/T_MOUNT_1/pay",
                        json={"notify": False}, timeout=5)
    assert res.json()["transaction"]["trade_state"] == "SUCCESS"

    day = mounted.state.pay.transaction(MCHID, "T_MOUNT_1").to_json()["success_time"][:10]
    code, text = wxpay.trade_bill(bill_date=day)
    assert code == 200
    bill = json.loads(text)
    assert bill["download_url"].startswith(mounted.base_url + "/v3/billdownload/file?token=")
    code, content = wxpay.download_bill(bill["download_url"])
    assert code == 200
    assert hashlib.sha1(gzip.decompress(content)).hexdigest() == bill["hash_value"]
    assert [c["path"] for c in mounted.state.pay.calls][-1] == "/v3/billdownload/file"


def test_full_path_signer_works_under_the_prefix(mounted, keys):
    """A client that signs the path it requests: /sandbox/v3/... (as WeChat's rule says)."""
    wxpay = make_wxpay(keys, mounted.base_url, mounted.state.pay)
    wxpay.pay(description="提货", out_trade_no="T_MOUNT_2", amount={"total": 100}, payer=PAYER)
    url = "/sandbox" + QUERY.format("T_MOUNT_2")
    res = raw_call(keys, mounted.root, "GET", url)
    assert res.status_code == 200 and res.json()["out_trade_no"] == "T_MOUNT_2"

    # Only those two readings of the target: not another path, not a dropped query.
    for wrong in ("/other" + QUERY.format("T_MOUNT_2"), url.split("?")[0],
                  "/sandbox" + QUERY.format("T_MOUNT_3")):
        res = raw_call(keys, mounted.root, "GET", url, sign_url=wrong)
        assert res.status_code == 401, wrong
        assert res.json()["detail"]["sign_information"]["url"] == url  # as received


def test_percent_encoded_targets(mounted, keys):
    """requests sends `|` as %7C, wechatpayv3 signs the unencoded path: both verify."""
    wxpay = make_wxpay(keys, mounted.base_url, mounted.state.pay)
    assert wxpay.pay(description="提货", out_trade_no="T|2024*05", amount={"total": 100},
                     payer=PAYER)[0] == 200
    code, text = wxpay.query(out_trade_no="T|2024*05")
    assert code == 200 and json.loads(text)["out_trade_no"] == "T|2024*05"
    encoded = "/sandbox" + QUERY.format("T%7C2024*05")
    assert raw_call(keys, mounted.root, "GET", encoded).status_code == 200


def test_inspection_and_reset_under_the_prefix(mounted, keys):
    wxpay = make_wxpay(keys, mounted.base_url, mounted.state.pay)
    wxpay.pay(description="提货", out_trade_no="T_MOUNT_4", amount={"total": 100}, payer=PAYER)
    config = requests.get(mounted.base_url + "/_/pay/config", timeout=5).json()
    assert config["public_key_id"] == mounted.state.pay.public_key_id
    assert config["platform_public_key_pem"] == mounted.state.pay.platform_public_key_pem
    assert config["merchants"][0] == {"mchid": MCHID, "appids": [APPID],
                                      "merchant_serial": keys.serial}
    assert "apiv3" not in json.dumps(config).lower()  # no keys, no secrets
    tx = requests.get(mounted.base_url + "/_/pay/transactions/T_MOUNT_4", timeout=5).json()
    assert tx["transaction"]["notify_url"] == "https://merchant.example/pay/notify"
    assert requests.post(mounted.base_url + "/_/reset", timeout=5).json() == {"ok": True}
    assert mounted.state.pay.transactions() == []
    assert requests.get(mounted.base_url + "/_/pay/transactions/T_MOUNT_4",
                        timeout=5).status_code == 404


def test_flask_test_client_under_a_prefix(merchant_keys):
    keys = merchant_keys[0]
    state = SandboxState(apps={APPID: SECRET}, pay=make_pay(*merchant_keys))
    app = Flask("host")
    app.register_blueprint(create_blueprint(state), url_prefix="/sandbox")
    http = app.test_client()
    from tests.wechat.pay_support import authorization
    body = json.dumps({"appid": APPID, "mchid": MCHID, "description": "提货",
                       "out_trade_no": "T_CLIENT_1", "notify_url": "https://m.example/n",
                       "amount": {"total": 1}, "payer": PAYER})
    for signed in ("/sandbox/v3/pay/transactions/jsapi", "/v3/pay/transactions/jsapi"):
        res = http.post("/sandbox/v3/pay/transactions/jsapi", data=body, headers={
            "Authorization": authorization(keys, "POST", signed, body)})
        assert res.status_code == 200, signed
    assert http.post("/v3/pay/transactions/jsapi", data=body).status_code == 404
