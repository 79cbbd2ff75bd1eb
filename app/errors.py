"""Typed errors and the one place that turns any failure into the JSON error shape.

`{"error": {"code": "...", "message": "...", "details": {...}}}` — clients branch on
`code`; `message` is for people; no stack trace or SQL ever reaches a client.

`message` is in the caller's language (`Accept-Language`: Chinese for `zh*`, English
otherwise): code raises errors with an English message, and `_body` — the one place that
builds an error answer — translates it (app/i18n.py; the catalog is translations/, kept
up to date with `scripts/i18n`). A message with dynamic parts is a template and its
values, `InvalidRequest("At most {limit} cards per batch.", params={"limit": n})`,
translated before it is filled.
"""
from __future__ import annotations

import logging

import redis
import sqlalchemy.exc

from apiflask import APIFlask, HTTPError
from flask import jsonify, request
from werkzeug.exceptions import HTTPException

from app import i18n

log = logging.getLogger(__name__)


class AppError(Exception):
    status = 400
    code = "invalid_request"
    message = "The request is not valid."
    # True: the request is refused, but what it learned on the way is committed (e.g. a
    # payment found while trying to cancel). Rare by design.
    keep_changes = False

    def __init__(self, message: str | None = None, *, params: dict | None = None,
                 details: dict | None = None, headers: dict | None = None):
        # msgid: the English message, or its template when `params` fill it in; `message`
        # is the English text (logs, str(exc)), the answer's is translated (`_body`).
        self.msgid = message or self.message
        self.params = params or {}
        self.message = self.msgid.format(**self.params) if self.params else self.msgid
        super().__init__(self.message)
        self.details = details or {}
        self.headers = headers or {}


class InvalidRequest(AppError):
    pass


class Unauthorized(AppError):
    status, code, message = 401, "unauthorized", "Sign in first."


class Forbidden(AppError):
    status, code, message = 403, "forbidden", "You may not do this."


class NotFound(AppError):
    status, code, message = 404, "not_found", "No such resource."


class Conflict(AppError):
    status, code, message = 409, "conflict", "This conflicts with the current state."


class RateLimited(AppError):
    status, code, message = 429, "rate_limited", "Too many attempts; try again later."

    def __init__(self, retry_after_s: int, message: str | None = None):
        super().__init__(message, details={"retry_after_s": retry_after_s},
                         headers={"Retry-After": str(retry_after_s)})


class WeChatCodeInvalid(AppError):
    status, code, message = 400, "wechat_code_invalid", "The WeChat code is invalid, used or expired."


class WeChatUserBlocked(AppError):
    status, code, message = 403, "wechat_user_blocked", "WeChat refused this user (risk control)."


class WeChatUnavailable(AppError):
    status, code, message = 503, "wechat_unavailable", "WeChat is unavailable; try again shortly."


class NotConfigured(AppError):
    """A WeChat surface this deployment does not use (optional ones: app/config.py). Not
    a 503: trying again will not help until the operator configures it."""
    status, code, message = 501, "not_configured", "This deployment does not use this feature."


# The error shape for the OpenAPI document (APIFlask would otherwise describe its own).
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message", "details"],
        "properties": {
            "code": {"type": "string", "example": "invalid_request"},
            "message": {"type": "string", "description": (
                "For people, in the language of the request's Accept-Language: Chinese for "
                "zh (zh-CN, zh-TW...), English otherwise (Content-Language says which). "
                "Clients branch on `code`, the same in every language.")},
            "details": {"type": "object"},
        },
    }},
}


# The messages this module answers with itself.
INTERNAL_ERROR = "Something went wrong on our side."
UNAVAILABLE = "A backing service is unavailable; try again shortly."
FIELDS_INVALID = "Some fields are missing or not valid."
REQUEST_INVALID = AppError.message


def _body(status: int, code: str, msgid: str, details: dict | None = None, headers=None,
          params: dict | None = None, *, formatted: bool = False):
    """The error answer. `msgid` is English: a catalog msgid (filled from `params`), or,
    `formatted`, a message someone else formatted (a werkzeug status name)."""
    message = i18n.translate_formatted(msgid) if formatted else i18n.translate(msgid, params)
    resp = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
    resp.status_code = status
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    resp.headers["Content-Language"] = i18n.content_language()
    resp.vary.add("Accept-Language")
    return resp


# Werkzeug/HTTP statuses we answer ourselves, by stable code.
_HTTP_CODES = {
    400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
    415: "unsupported_media_type", 422: "invalid_request", 429: "rate_limited",
}


def _validation_details(detail) -> dict:
    # APIFlask puts marshmallow/webargs messages under the location: {"json": {"field": [...]}}.
    # They are English, formatted by marshmallow: translated here (i18n.translate_messages).
    if isinstance(detail, dict):
        fields = {}
        for location, errors in detail.items():
            if isinstance(errors, dict):
                fields.update(errors)
            else:
                fields[location] = errors
        return {"fields": i18n.translate_messages(fields)} if fields else {}
    return {}


def init_app(app: APIFlask) -> None:
    @app.errorhandler(AppError)
    def _app_error(exc: AppError):
        return _body(exc.status, exc.code, exc.msgid, exc.details, exc.headers, exc.params)

    # APIFlask routes every HTTPException (and its own validation errors) through this.
    @app.error_processor
    def _http_error(exc: HTTPError):
        status = exc.status_code
        if status >= 500:
            return _body(status, "internal_error", INTERNAL_ERROR)
        code = _HTTP_CODES.get(status, "invalid_request")
        details = _validation_details(exc.detail) if status in (400, 422) else {}
        if details:
            return _body(status, code, FIELDS_INVALID, details, exc.headers)
        # A werkzeug/APIFlask status name ("Not Found", "Method Not Allowed"), or a message
        # a route gave abort(): translated as it stands.
        return _body(status, code, exc.message or REQUEST_INVALID, details, exc.headers, formatted=True)

    @app.errorhandler(redis.exceptions.ConnectionError)
    @app.errorhandler(redis.exceptions.TimeoutError)
    # Redis Cluster while a primary fails over or slots move: CLUSTERDOWN and MASTERDOWN
    # (ClusterDownError), redirections that never settle ("TTL exhausted": ClusterError),
    # TRYAGAIN during a resharding, and the client's own "no node serves this slot" or
    # "cannot reach any node" (RedisClusterException, not a RedisError; below).
    @app.errorhandler(redis.exceptions.ClusterError)
    @app.errorhandler(redis.exceptions.TryAgainError)
    @app.errorhandler(sqlalchemy.exc.OperationalError)
    @app.errorhandler(sqlalchemy.exc.InterfaceError)
    @app.errorhandler(sqlalchemy.exc.TimeoutError)
    def _backing_service_down(exc: Exception):
        # The database or Redis is unreachable or stuck — refused, dropped, or silent past
        # its timeout (PyMySQL's "Lost connection" is an OperationalError, a full pool
        # SQLAlchemy's TimeoutError, a Redis without reply redis' TimeoutError), also when
        # the commit is what waited: the client may retry. The request's transaction is
        # rolled back on the way out (a commit that timed out may still have landed: order
        # placement and card redemption are retried with the same Idempotency-Key).
        log.error("backing service unavailable on %s %s: %s", request.method, request.path,
                  type(exc).__name__)
        return _body(503, "unavailable", UNAVAILABLE, headers={"Retry-After": "5"})

    @app.errorhandler(redis.exceptions.RedisClusterException)
    def _redis_cluster(exc: Exception):
        # The client raises this class for an unreachable cluster (503) and also for our
        # own mistake — keys of one command in different slots — which must stay a 500.
        if any(mark in str(exc) for mark in ("same key slot", "Missing key", "Invalid args")):
            return _unexpected(exc)
        return _backing_service_down(exc)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if isinstance(exc, HTTPException):  # routed here only outside APIFlask's handler
            return _http_error(HTTPError(exc.code or 500, message=exc.name))
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _body(500, "internal_error", INTERNAL_ERROR)
