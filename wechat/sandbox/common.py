"""What every imitated WeChat endpoint shares: the JSON envelope with its " rid: "
suffix, JSON body parsing, access_token checks, failure injection and the call log."""
from __future__ import annotations

import json
import secrets
import time
from typing import Callable

from flask import Blueprint, Response, request

from wechat.sandbox.errors import SandboxError
from wechat.sandbox.state import SandboxState

# What real captures show (sic: "encoding", not "charset").
JSON_CONTENT_TYPE = "application/json; encoding=utf-8"

_INJECTED_ERRMSG = {
    -1: "system error",
    40029: "invalid code",
    40226: "code blocked",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit  mustslower  retry next minute",
}


def rid() -> str:
    return f"{int(time.time()):08x}-{secrets.token_hex(4)}-{secrets.token_hex(4)}"


def json_response(payload: dict, status: int = 200) -> Response:
    return Response(json.dumps(payload, ensure_ascii=False), status,
                    content_type=JSON_CONTENT_TYPE)


def error_response(errcode: int, errmsg: str) -> Response:
    # Business errors are HTTP 200; never compare errmsg exactly, it carries a rid.
    return json_response({"errcode": errcode, "errmsg": f"{errmsg} rid: {rid()}"})


def json_body() -> dict:
    """WeChat's POST APIs take a JSON body whatever the Content-Type says (wechatpy
    sends none), but reject form posts."""
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise SandboxError(47001, "data format error")
    try:
        body = json.loads(request.get_data(cache=True) or b"")
    except ValueError:
        raise SandboxError(47001, "data format error") from None
    if not isinstance(body, dict):
        raise SandboxError(47001, "data format error")
    return body


def token_appid(state: SandboxState) -> str:
    return state.check_token(request.args.get("access_token"))


def add_wechat_route(bp: Blueprint, state: SandboxState, rule: str, method: str,
                     view: Callable[[], dict | Response]) -> None:
    """Register an imitated WeChat endpoint. `rule` is relative to wherever the
    blueprint is mounted and is the key of the call log and of /_/fail-next."""

    def endpoint():
        failure = state.take_failure(rule)
        if failure:
            if failure.get("delay"):
                time.sleep(failure["delay"])
            if "http_status" in failure:
                status = failure["http_status"]
                _log_call(state, rule, None, status)
                body = failure.get("body", f"<html><body><h1>{status}</h1></body></html>")
                return Response(body, status, content_type=failure.get("content_type", "text/html"))
            if "errcode" in failure:
                errcode = failure["errcode"]
                _log_call(state, rule, errcode, 200)
                return error_response(errcode, failure.get("errmsg")
                                      or _INJECTED_ERRMSG.get(errcode, "injected failure"))
        try:
            if request.method != method:
                raise (SandboxError(43002, "require POST method") if method == "POST"
                       else SandboxError(43001, "require GET method"))
            result = view()
        except SandboxError as exc:
            _log_call(state, rule, exc.errcode, 200)
            return error_response(exc.errcode, exc.errmsg)
        _log_call(state, rule, 0, 200)
        return result if isinstance(result, Response) else json_response(result)

    name = rule.strip("/").replace("/", "_")
    bp.add_url_rule(rule, endpoint=name, view_func=endpoint, methods=["GET", "POST"])


def _log_call(state: SandboxState, rule: str, errcode: int | None, status: int) -> None:
    # Path and outcome only: query strings carry secrets and codes.
    state.record("calls", {"path": rule, "errcode": errcode, "http_status": status})
