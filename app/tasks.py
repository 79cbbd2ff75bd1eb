"""Work to do once a transaction has committed: `defer(fn, *args)`.

With a Celery worker (app/celery_app.py) the work is sent to the queue as the task
`tihuo.deferred` after the commit; the worker runs it in its own transaction. In process
(the embedded default) it runs after the response has been sent (the client doesn't wait
for WeChat), or, outside a request, when `run_deferred()` is called after the commit.
Either way it never runs if the transaction rolls back.

Only functions marked `@deferrable` may be deferred: the worker looks them up by name, and
a name arriving from the broker must not be able to call anything else. Their arguments
must be JSON values (ids, not objects).
"""
from __future__ import annotations

import importlib
import logging
import threading
from typing import Callable

from flask import Flask, current_app, g, has_request_context

from app.db import after_commit

log = logging.getLogger(__name__)


def deferrable(fn: Callable) -> Callable:
    """Mark a module-level function as safe to run later by name."""
    fn.deferrable = True
    return fn


def defer(fn: Callable, *args) -> None:
    """Run fn(*args) after this transaction commits (never if it rolls back).

    Publishing (or queueing in process) is the after-commit hook: a rolled-back
    transaction sends nothing. If the broker is down the hook fails (logged); the periodic
    jobs pick the work up later."""
    _check(fn)
    after_commit(lambda: submit(fn, *args))


def submit(fn: Callable, *args) -> None:
    """Start fn(*args) now, not tied to a transaction: for an after-commit hook that
    decides for itself whether work is needed (see models.outbox)."""
    _check(fn)
    if current_app.config["TASKS_IN_PROCESS"]:
        _enqueue((fn, args))
    else:
        current_app.extensions["celery"].send_task("tihuo.deferred", args=[target_name(fn), list(args)])


def _check(fn: Callable) -> None:
    if not getattr(fn, "deferrable", False):
        raise TypeError(f"{target_name(fn)} is not marked @deferrable")


def target_name(fn: Callable) -> str:
    return f"{fn.__module__}:{fn.__qualname__}"


def resolve(name: str) -> Callable:
    """The @deferrable function called `module:qualname` (what the worker runs)."""
    module, _, attr = name.partition(":")
    if not module.startswith(("models.", "app.")) or not attr.isidentifier():
        raise LookupError(f"not a deferrable target: {name!r}")
    fn = getattr(importlib.import_module(module), attr, None)
    if fn is None or not getattr(fn, "deferrable", False):
        raise LookupError(f"not a deferrable target: {name!r}")
    return fn


def _enqueue(job: tuple) -> None:
    queue = _queue()
    if job not in queue:  # the same work twice before it runs: once is enough
        queue.append(job)


def _queue() -> list:
    if has_request_context():
        return g.setdefault("deferred", [])
    return pending(current_app)


def pending(app: Flask) -> list:
    """What this thread's transactions deferred outside a request, not yet run. Per
    thread: a command's work is run by that command (`run_deferred`), never picked up by
    a server thread finishing its own after-response work."""
    local = app.extensions.setdefault("deferred", threading.local())
    if not hasattr(local, "queue"):
        local.queue = []
    return local.queue


def run_deferred() -> None:
    """Run what committed transactions deferred (outside requests: call after commit)."""
    queue = pending(current_app)
    while queue:
        try:
            fn, args = queue.pop(0)
        except IndexError:  # another thread took the last one
            return
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
                    run_deferred()  # what those jobs deferred in turn
            response.call_on_close(run)
        return response
