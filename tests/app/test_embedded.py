"""End to end on the embedded default, as the README's first command runs it: a real
HTTP server, SQLite, fakeredis, the sandbox mounted in-process at /sandbox, demo data."""
from __future__ import annotations

import socket
import threading

import pytest
import requests
from werkzeug.serving import make_server

from app import create_app
from app.config import Settings, new_field_key
from app.extensions import db


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    settings = Settings(_env_file=None, APP_ENV="development", PUBLIC_BASE_URL=base,
                        DATABASE_URL=f"sqlite:///{tmp_path_factory.mktemp('live') / 'demo.db'}",
                        FIELD_ENCRYPTION_KEY=new_field_key(), LOG_LEVEL="WARNING")
    assert settings.WECHAT_SANDBOX and settings.REDIS_URL is None
    app = create_app(settings)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert "admin / " in result.output
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base, app
    server.shutdown()
    with app.app_context():
        db.engine.dispose()


def test_whole_flow_on_the_embedded_default(live):
    base, _ = live
    http = requests.Session()
    code = http.post(f"{base}/sandbox/_/login-codes", json={"user": "newcomer"}, timeout=5).json()["code"]
    login = http.post(f"{base}/api/auth/login", json={"code": code}, timeout=10)
    assert login.status_code == 200, login.text
    assert login.json()["user"]["is_new"] is True

    stores = http.get(f"{base}/api/stores?lat=31.2304&lng=121.4737", timeout=5).json()["items"]
    assert len(stores) == 2 and stores[0]["distance_m"] <= stores[1]["distance_m"]
    products = http.get(f"{base}/api/products?store_id={stores[0]['id']}", timeout=5).json()["items"]
    assert products and all(s["price_fen"] > 0 for p in products for s in p["skus"])

    # Order, pay (the sandbox plays the shopper's wx.requestPayment), and WeChat Pay's
    # signed notification comes back to us over HTTP.
    token = {"Authorization": f"Bearer {login.json()['token']}"}
    sku_id = products[0]["skus"][0]["id"]
    order = http.post(f"{base}/api/orders", headers=token, timeout=10, json={
        "store_id": stores[0]["id"], "fulfillment": "pickup", "items": [{"sku_id": sku_id, "qty": 1}]})
    assert order.status_code == 201, order.text
    order_no = order.json()["order_no"]
    params = http.post(f"{base}/api/orders/{order_no}/pay", headers=token, timeout=10)
    assert params.status_code == 200, params.text
    assert http.post(f"{base}/sandbox/_/pay/request-payment", json=params.json(), timeout=10).status_code == 200
    http.get(f"{base}/sandbox/_/pay/notifications", params={"wait": 5}, timeout=10)
    assert http.get(f"{base}/api/orders/{order_no}", headers=token, timeout=5).json()["status"] == "paid"

    staff = http.post(f"{base}/api/staff/login",
                      json={"username": "clerk", "password": "tihuo-clerk-demo"}, timeout=5)
    assert staff.status_code == 200 and staff.json()["staff"]["role"] == "clerk"


def test_demo_seed_is_idempotent(live):
    _, app = live
    again = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert again.exit_code == 0
    assert "'stores': 0, 'products': 0, 'staff': 0" in again.output


def test_a_command_beside_the_server_trusts_its_sandbox(live):
    """`flask pay reconcile` runs in a process of its own, with a sandbox object of its own,
    but asks the server's sandbox: both must know the same WeChat Pay platform key (kept in
    instance/), or every signed answer is refused ("unknown Wechatpay-Serial")."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    base, app = live
    beside = create_app(app.extensions["settings"])  # as `flask` builds it: its own process state
    assert beside.config["WECHATPAY_API_BASE"] == f"{base}/sandbox"
    assert beside.extensions["wechat_sandbox"] is not app.extensions["wechat_sandbox"]
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    result = beside.test_cli_runner().invoke(args=["pay", "reconcile", "--date", today])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert f"reconciliation {today}: " in result.output, result.output
