"""JSON logs, one line per request, each line carrying the request id."""
from __future__ import annotations

import logging
import re
import sys
import time
import uuid

from flask import Flask, g, request
from pythonjsonlogger.json import JsonFormatter

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
access_log = logging.getLogger("tihuo.access")


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        from flask import has_request_context

        record.request_id = g.get("request_id") if has_request_context() else None
        return True


def configure(level: str) -> None:
    root = logging.getLogger()
    if any(getattr(h, "_tihuo", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
        rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
    ))
    handler.addFilter(_RequestIdFilter())
    handler._tihuo = True
    root.addHandler(handler)
    root.setLevel(level)
    # wechatpy/urllib3 debug output can carry URLs with credentials; keep them quiet.
    for noisy in ("urllib3", "wechatpy", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def init_app(app: Flask) -> None:
    configure(app.config["LOG_LEVEL"])

    @app.before_request
    def _start():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        if "started" in g:
            # The path only: query strings are never logged (WeChat puts secrets there).
            access_log.info("request", extra={
                "method": request.method, "path": request.path, "status": response.status_code,
                "duration_ms": round((time.perf_counter() - g.started) * 1000, 2),
            })
        return response
