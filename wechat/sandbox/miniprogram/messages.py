"""Mini-program subscribe messages (official-account template messages: official/views.py)."""
from __future__ import annotations

from flask import Blueprint

from wechat.sandbox.common import add_wechat_route, json_body, token_appid
from wechat.sandbox.errors import SandboxError
from wechat.sandbox.state import SandboxState
from wechat.subscribe_rules import keyword_type, validate_value

MINIPROGRAM_STATES = ("developer", "trial", "formal")
LANGS = ("zh_CN", "en_US", "zh_HK", "zh_TW")


def check_subscribe_data(keywords: dict, data) -> None:
    """47003 naming the first bad keyword, the way WeChat does."""
    if not isinstance(data, dict):
        raise SandboxError(47003, "argument invalid! data invalid")
    for key in data:
        if key not in keywords:
            raise SandboxError(47003, f"argument invalid! data.{key} invalid")
    for key, choices in keywords.items():
        entry = data.get(key)
        value = entry.get("value") if isinstance(entry, dict) else None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if value is None or value == "":
            raise SandboxError(47003, f"argument invalid! data.{key}.value is empty")
        reason = validate_value(keyword_type(key), value, choices)
        if reason == "is empty":
            raise SandboxError(47003, f"argument invalid! data.{key}.value is empty")
        if reason:
            raise SandboxError(47003, f"argument invalid! data.{key}.value invalid")


def register(bp: Blueprint, state: SandboxState) -> None:
    def subscribe_send():
        appid = token_appid(state)
        body = json_body()
        touser, template_id = body.get("touser"), body.get("template_id")
        if not state.is_known_openid(appid, touser):
            raise SandboxError(40003, "invalid openid")
        keywords = state.templates.get(template_id) if isinstance(template_id, str) else None
        if keywords is None:
            raise SandboxError(40037, "invalid template_id")
        mp_state = body.get("miniprogram_state", "formal")
        if mp_state not in MINIPROGRAM_STATES:
            raise SandboxError(47003, "argument invalid! miniprogram_state invalid")
        if body.get("lang", "zh_CN") not in LANGS:
            raise SandboxError(47003, "argument invalid! lang invalid")
        page = body.get("page")
        if page is not None:
            # UNCONFIRMED for this endpoint: only the released version's pages are
            # checked; developer/trial builds may have pages we do not know.
            if not isinstance(page, str) or (
                    mp_state == "formal" and page.split("?", 1)[0] not in state.pages):
                raise SandboxError(41030, "invalid page")
        check_subscribe_data(keywords, body.get("data"))
        # One acceptance of wx.requestSubscribeMessage = one send.
        if not state.consume_grant(touser, template_id):
            raise SandboxError(43101, "user refuse to accept the msg")
        fields = {k: body.get(k) for k in ("touser", "template_id", "page", "data",
                                           "miniprogram_state", "lang")}
        msgid = state.record_message("subscribe", appid, fields)
        return {"errcode": 0, "errmsg": "ok", "msgid": msgid}

    add_wechat_route(bp, state, "/cgi-bin/message/subscribe/send", "POST", subscribe_send)
