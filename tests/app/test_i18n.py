"""Error messages follow Accept-Language: Chinese for zh*, English otherwise and by
default; the code is the same in every language (app/i18n.py, app/errors.py)."""
from __future__ import annotations

import importlib
import pkgutil

import pytest
from babel.messages.pofile import read_po

from app.errors import AppError
from tests.factories import bearer, make_staff, shopper_token

ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}


def _zh_catalog() -> dict[str, str]:
    from app.i18n import po_path

    with po_path("zh").open("rb") as f:
        return {m.id: m.string for m in read_po(f, locale="zh") if m.id and not m.fuzzy}


def _all_error_classes() -> set[type[AppError]]:
    import handlers
    import models

    models.load_all()
    for package in (models, handlers):  # every module: an error class defined anywhere
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)
    found, todo = set(), [AppError]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return found | {AppError}


def test_every_error_class_message_has_a_chinese_translation(app):
    catalog = _zh_catalog()
    classes = _all_error_classes()
    assert len(classes) > 50  # the walk found the tree's errors, not a few
    missing = sorted(f"{c.__module__}.{c.__name__}: {c.message!r}" for c in classes
                     if not catalog.get(c.message))
    assert not missing


def _error(resp, status, code):
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.json["error"]["code"] == code
    assert "Accept-Language" in resp.headers.get("Vary", "")
    return resp.json["error"]


def test_unknown_order_in_chinese_and_english(client, sandbox):
    auth = bearer(shopper_token(client, sandbox))
    zh = _error(client.get("/api/orders/NOPE", headers={**auth, **ZH}), 404, "not_found")
    en = _error(client.get("/api/orders/NOPE", headers={**auth, **EN}), 404, "not_found")
    assert zh["message"] == "没有这个订单。"
    assert en["message"] == "No such order."
    assert zh["details"] == en["details"]


def test_staff_login_wrong_password(client, ctx):
    member = make_staff("clerk")
    body = {"username": member.username, "password": "wrong-password-here"}
    zh = client.post("/api/staff/login", json=body, headers=ZH)
    en = client.post("/api/staff/login", json=body, headers=EN)
    assert _error(zh, 401, "unauthorized")["message"] == "用户名或密码错误。"
    assert _error(en, 401, "unauthorized")["message"] == "Wrong username or password."
    assert zh.headers["Content-Language"] == "zh-CN" and en.headers["Content-Language"] == "en"


def test_validation_details_in_chinese(client):
    resp = client.post("/api/auth/login", json={"code": 12, "evil": 1}, headers=ZH)
    err = _error(resp, 400, "invalid_request")
    assert err["message"] == "有字段缺失或无效。"
    assert err["details"]["fields"] == {"code": ["须为字符串。"], "evil": ["未知字段。"]}
    missing = _error(client.post("/api/auth/login", json={}, headers=ZH), 400, "invalid_request")
    assert missing["details"]["fields"] == {"code": ["此项为必填项。"]}


def test_formatted_validation_message_is_matched_to_its_template(client, sandbox):
    # marshmallow formats "Must be greater than or equal to {min} and ..." before we see it
    auth = bearer(shopper_token(client, sandbox))
    resp = client.get("/api/orders?limit=0", headers={**auth, **ZH})
    assert _error(resp, 400, "invalid_request")["details"]["fields"] == {"limit": ["须在 1 到 100 之间。"]}
    resp = client.get("/api/orders?limit=0", headers={**auth, **EN})
    assert resp.json["error"]["details"]["fields"] == {
        "limit": ["Must be greater than or equal to 1 and less than or equal to 100."]}


def test_a_template_with_params_is_translated_then_filled(app):
    from app.errors import InvalidRequest, _body

    exc = InvalidRequest("At most {limit} cards per batch.", params={"limit": 500})
    assert exc.message == "At most 500 cards per batch." == str(exc)
    with app.test_request_context(headers=ZH):
        resp = _body(exc.status, exc.code, exc.msgid, params=exc.params)
    assert resp.json["error"]["message"] == "每批最多 500 张卡。"


@pytest.mark.parametrize("accept, language, message", [
    ("zh-CN", "zh-CN", "请先登录。"),
    ("fr, zh;q=0.5", "zh-CN", "请先登录。"),
    ("zh-TW", "zh-CN", "请先登录。"),
    ("en-US,en;q=0.9,zh-CN;q=0.8", "en", "Unauthorized"),
    ("fr", "en", "Unauthorized"),
    (None, "en", "Unauthorized"),
])
def test_language_choice(client, accept, language, message):
    headers = {"Accept-Language": accept} if accept else {}
    resp = client.get("/api/orders", headers=headers)  # no token: APIFlask's 401
    assert _error(resp, 401, "unauthorized")["message"] == message
    assert resp.headers["Content-Language"] == language


def test_werkzeug_status_in_chinese(client):
    zh = _error(client.get("/api/nope", headers=ZH), 404, "not_found")
    en = _error(client.get("/api/nope"), 404, "not_found")
    assert (zh["message"], en["message"]) == ("请求的内容不存在。", "Not Found")


def test_catalog_is_complete_and_every_entry_used():
    """Every message the code and its libraries answer with has a translation, no entry
    is left that nothing answers with, none is empty or fuzzy, and each keeps the
    placeholders of its msgid (scripts/i18n --check says the same)."""
    from scripts.i18n_catalog import extract, problems

    out = extract()
    assert not out.dynamic, "f-string messages cannot be translated: use params="
    assert problems("zh", out) == []
    assert all(_zh_catalog().values())
