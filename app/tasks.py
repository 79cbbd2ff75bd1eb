"""Work to do once a transaction has committed: `defer(fn, *args)`.

In a request the work runs after the response has been sent (the client doesn't wait
for WeChat); in a CLI command or a job it runs when `run_deferred()` is called after the
commit. Each deferred function opens and commits its own transaction. The task-queue
work replaces the runner with Celery; callers don't change.
"""
from __future__ import annotations

import logging
from typing import Callable

from flask import Flask, current_app, g, has_request_context

from app.db import after_commit

log = logging.getLogger(__name__)


def defer(fn: Callable, *args) -> None:
    """Run fn(*args) after this transaction commits (never if it rolls back)."""
    after_commit(lambda: _queue().append((fn, args)))


def _queue() -> list:
    if has_request_context():
        return g.setdefault("deferred", [])
    return current_app.extensions.setdefault("deferred", [])


def run_deferred() -> None:
    """Run what committed transactions deferred (outside requests: call after commit)."""
    queue = current_app.extensions.get("deferred") or []
    while queue:
        fn, args = queue.pop(0)
        _run(fn, args)


def _run(fn, args) -> None:
    from app.extensions import db

    try:
        fn(*args)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("deferred %s failed", getattr(fn, "__name__", fn))


def init_app(app: Flask) -> None:
    @app.after_request
    def _after_response(response):
        jobs = g.pop("deferred", [])
        if jobs:
            def run():
                with app.app_context():
                    for fn, args in jobs:
                        _run(fn, args)
            response.call_on_close(run)
        return response
