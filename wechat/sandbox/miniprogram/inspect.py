"""Test and demo endpoints under `_/`: play the user's side of WeChat (wx.login codes,
phone codes, subscribe acceptances), read what the backend sent, inject failures.
They never show app secrets, session keys or full phone numbers."""
from __future__ import annotations

import re

from flask import Blueprint, jsonify, request

from wechat.sandbox.state import SandboxState

PHONE_RE = re.compile(r"^\d{5,15}$")
COUNTRY_RE = re.compile(r"^\d{1,4}$")


class _BadRequest(Exception):
    pass


def _body() -> dict:
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise _BadRequest("JSON object body required")
    return body


def _str(body: dict, key: str, default=None) -> str:
    value = body.get(key, default)
    if not isinstance(value, str) or not value:
        raise _BadRequest(f"{key!r} must be a non-empty string")
    return value


def _appid(state: SandboxState, body: dict) -> str:
    appid = body.get("appid") or state.default_appid()
    if appid not in state.apps:
        raise _BadRequest("unknown appid")
    return appid


def _failure_spec(body: dict) -> dict:
    path = _str(body, "path")
    if not path.startswith("/"):
        raise _BadRequest("'path' is the WeChat path, e.g. /sns/jscode2session")
    spec = {"path": path}
    if "errcode" in body:
        if not isinstance(body["errcode"], int) or isinstance(body["errcode"], bool):
            raise _BadRequest("'errcode' must be an integer")
        spec["errcode"] = body["errcode"]
        if isinstance(body.get("errmsg"), str):
            spec["errmsg"] = body["errmsg"]
    if "http_status" in body:
        status = body["http_status"]
        if not isinstance(status, int) or not 200 <= status <= 599:
            raise _BadRequest("'http_status' must be an HTTP status")
        spec["http_status"] = status
        for key in ("body", "content_type"):
            if isinstance(body.get(key), str):
                spec[key] = body[key]
    if "return_code" in body:  # 快递100's refusals (/poll, /poll/query.do): result false
        spec["return_code"] = str(body["return_code"])
    if "delay" in body:
        delay = body["delay"]
        if not isinstance(delay, (int, float)) or not 0 <= delay <= 10:
            raise _BadRequest("'delay' must be 0–10 seconds")
        spec["delay"] = float(delay)
    if len(spec) == 1:
        raise _BadRequest("give 'errcode', 'http_status', 'return_code' or 'delay'")
    if "errcode" in spec and "http_status" in spec:
        raise _BadRequest("give 'errcode' or 'http_status', not both")
    return spec


def register(bp: Blueprint, state: SandboxState) -> None:
    @bp.errorhandler(_BadRequest)
    def bad_request(exc):
        return jsonify(error=str(exc)), 400

    @bp.get("/_/config")
    def config():
        return jsonify(apps=list(state.apps), token_ttl=state.token_ttl, pages=state.pages,
                       templates={t: list(k) for t, k in state.templates.items()},
                       official_accounts=[  # no token, no EncodingAESKey
                           {"appid": a.appid, "original_id": a.original_id, "mode": a.mode,
                            "server_url": a.server_url, "templates": a.templates}
                           for a in state.official.accounts.values()])

    @bp.post("/_/login-codes")
    def login_codes():
        body = _body()
        code, openid = state.issue_login_code(_appid(state, body), _str(body, "user"))
        return jsonify(code=code, openid=openid)

    @bp.post("/_/phone-codes")
    def phone_codes():
        body = _body()
        phone, country = _str(body, "phone"), _str(body, "country_code", "86")
        if not PHONE_RE.match(phone) or not COUNTRY_RE.match(country):
            raise _BadRequest("'phone' must be 5–15 digits, 'country_code' 1–4 digits")
        return jsonify(code=state.issue_phone_code(_appid(state, body), phone, country))

    @bp.post("/_/subscribe-grants")
    def add_grant():
        body = _body()
        template_id = _str(body, "template_id")
        if template_id not in state.templates:
            raise _BadRequest("unknown template_id")
        count = body.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 1000:
            raise _BadRequest("'count' must be a positive integer")
        remaining = state.grant(_appid(state, body), _str(body, "openid"), template_id, count)
        return jsonify(remaining=remaining)

    @bp.get("/_/subscribe-grants")
    def list_grants():
        return jsonify(grants=state.grants(request.args.get("openid")))

    @bp.get("/_/messages")
    def messages():
        kind, touser = request.args.get("kind"), request.args.get("touser")
        return jsonify(messages=[m for m in list(state.messages)
                                 if kind in (None, m["kind"]) and touser in (None, m["touser"])])

    @bp.get("/_/shipping-uploads")
    def shipping_uploads():
        return jsonify(uploads=list(state.shipping_uploads))

    @bp.get("/_/waybills")
    def waybills():
        return jsonify(waybills=list(state.waybills))

    @bp.get("/_/confirm-receives")
    def confirm_receives():
        return jsonify(confirm_receives=list(state.confirm_receives))

    @bp.get("/_/wxacodes")
    def wxacodes():
        return jsonify(wxacodes=list(state.wxacodes))

    @bp.get("/_/codes")
    def codes():
        return jsonify(codes=state.codes())

    @bp.get("/_/calls")
    def calls():
        path = request.args.get("path")
        return jsonify(calls=[c for c in list(state.calls) if path in (None, c["path"])])

    @bp.post("/_/fail-next")
    def fail_next():
        return jsonify(pending=state.add_failure(_failure_spec(_body())))

    @bp.post("/_/reset")
    def reset():
        state.reset()
        return jsonify(ok=True)
