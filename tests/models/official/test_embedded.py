"""The official account on the embedded default, as the README walks through it: the
in-process sandbox's official account pushes in safe mode to our own /wechat/official."""
from __future__ import annotations

import requests

from tests.app.test_embedded import live  # noqa: F401  (the module's own demo server)


def test_bind_a_clerk_and_ask_for_today_on_the_embedded_default(live):  # noqa: F811
    base, _ = live
    http = requests.Session()
    admin = http.post(f"{base}/api/staff/login", timeout=5,
                      json={"username": "admin", "password": "tihuo-admin-demo"}).json()["token"]
    headers = {"Authorization": f"Bearer {admin}"}
    clerk = next(s for s in http.get(f"{base}/api/admin/staff", headers=headers, timeout=5).json()["items"]
                 if s["username"] == "clerk")
    qr = http.post(f"{base}/api/admin/staff/{clerk['id']}/official-binding", headers=headers, timeout=10)
    assert qr.status_code == 201, qr.text

    scan = http.post(f"{base}/sandbox/_/official/scan", timeout=10,
                     json={"ticket": qr.json()["ticket"], "user": "clerk-phone"}).json()
    assert scan["status"] == 200 and scan["encrypted_reply"] is True, scan
    assert scan["reply"]["Content"].startswith("绑定成功")

    today = http.post(f"{base}/sandbox/_/official/push", timeout=10,
                      json={"user": "clerk-phone", "text": "今日"}).json()
    assert today["params"]["encrypt_type"] == "aes" and today["encrypted_reply"] is True
    assert "静安寺店：付款" in today["reply"]["Content"]
