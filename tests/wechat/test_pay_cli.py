"""`python -m wechat.sandbox` with a merchant: flags, the written platform key, a run."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.wechat.pay_support import APIV3_KEY, MCHID, make_wxpay
from wechat.sandbox.__main__ import build_parser, build_state

PAYER = {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}


def test_pay_flags_build_a_merchant_and_write_the_platform_key(tmp_path, merchant_keys):
    keys = merchant_keys[0]
    (tmp_path / "merchant.pem").write_text(keys.public_pem)
    out = tmp_path / "platform_public_key.pem"
    args = build_parser().parse_args([
        "--app", "wxaaaaaaaaaaaaaaaa:secret", "--mchid", MCHID,
        "--merchant-public-key", str(tmp_path / "merchant.pem"),
        "--merchant-serial", keys.serial.lower(), "--apiv3-key", APIV3_KEY,
        "--notify-time-scale", "0.01", "--platform-public-key-out", str(out)])
    state = build_state(args)
    merchant = state.pay.merchants[MCHID]
    assert merchant.appids == {"wxaaaaaaaaaaaaaaaa"} and merchant.merchant_serial == keys.serial
    assert state.pay.notify_time_scale == 0.01
    assert state.pay.allow_http_loopback_notify is False  # WeChat's rule unless asked
    assert out.read_text() == state.pay.platform_public_key_pem
    assert out.read_text().startswith("-----BEGIN PUBLIC KEY-----")

    partial = build_parser().parse_args(["--mchid", MCHID, "--apiv3-key", APIV3_KEY])
    with pytest.raises(SystemExit):
        build_state(partial)


def test_standalone_server_runs_the_pay_side(tmp_path, merchant_keys):
    keys = merchant_keys[0]
    (tmp_path / "merchant.pem").write_text(keys.public_pem)
    out = tmp_path / "platform.pem"
    proc = subprocess.Popen(
        [sys.executable, "-m", "wechat.sandbox", "--port", "0", "--mchid", MCHID,
         "--merchant-public-key", str(tmp_path / "merchant.pem"),
         "--merchant-serial", keys.serial, "--apiv3-key", APIV3_KEY,
         "--allow-http-loopback-notify", "--platform-public-key-out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        cwd=Path(__file__).resolve().parents[2])
    try:
        first, second = proc.stdout.readline(), proc.stdout.readline()
        base = re.search(r"http://127\.0\.0\.1:\d+", first).group(0)
        key_id = re.search(r"PUB_KEY_ID_\d+", second).group(0)
        assert str(out) in second

        class Pay:  # what make_wxpay reads
            platform_public_key_pem = out.read_text()
            public_key_id = key_id
        wxpay = make_wxpay(keys, base, Pay, appid="wx5a9d0c3e1f2b4d68")  # the demo app
        code, _ = wxpay.pay(description="提货", out_trade_no="T_CLI_001", amount={"total": 1},
                            payer=PAYER, notify_url="http://127.0.0.1:9/pay/notify")
        assert code == 200  # signed with the key the server wrote out
        config = requests.get(base + "/_/pay/config", timeout=5).json()
        assert config["allow_http_loopback_notify"] is True
    finally:
        proc.terminate()
        proc.wait(timeout=5)
