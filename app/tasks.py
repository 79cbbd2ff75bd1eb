"""Work after the commit: the one door for anything that must wait until a transaction has
committed, and must not happen if it rolls back.

- `after_commit(fn)` runs `fn()` in this process right after the commit: cheap effects
  that must follow the data (a flash-sale gate's Redis count, ending sessions, the
  outbox's kick).
- `defer(task, *args)` starts the named task after the commit: work that runs in a
  transaction of its own and may call WeChat (a refund's submission). It is
  `after_commit` + `start`.
- `start(task, *args)` starts a named task now, for an after-commit hook that decides for
  itself (the outbox's kick).
- `on_rollback(fn)` runs `fn()` when the transaction ends without committing (rolled back,
  or its commit failed): the undo of something done outside the database before the
  commit (a flash-sale gate's units taken). A request retried after a write conflict
  (app/db.py) rolls back first, so the attempt it abandons gives back what it took.

Hooks follow savepoints: a savepoint released keeps what was registered inside it for
the commit of the whole transaction; a savepoint rolled back drops the after-commit hooks
registered inside it and runs its rollback hooks then.

Tasks are the Celery tasks of app/jobs.py, started by name: with a worker the name goes
to the broker; in process (the embedded default, the tests) the task's function runs
after the response has been sent (the client doesn't wait for WeChat), or, outside a
request, when `run_deferred()` is called after the commit. Only a registered task can be
started: a name is never resolved to any other code.
"""
from __future__ import annotations

import logging
import threading
from typing import Callable

from flask import Flask, current_app, g, has_request_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import db

log = logging.getLogger(__name__)
_HOOKS = "after_commit"      # [(key, fn)] to run after the commit
_UNDO = "on_rollback"         # [fn] to run if it ends otherwise
_MARKS = "savepoint_marks"    # {id(savepoint): (len(hooks), len(undo))} at its start


def after_commit(fn: Callable[[], None], key=None) -> None:
    """Run `fn` once the current transaction has committed (never if it rolls back).
    With a `key`, only the first hook of that key in this transaction is kept."""
    hooks = db.session().info.setdefault(_HOOKS, [])
    if key is not None and any(k == key for k, _ in hooks):
        return
    hooks.append((key, fn))


def on_rollback(fn: Callable[[], None]) -> None:
    """Run `fn` if the current transaction (or the savepoint it was registered in) ends
    without committing — never after a commit."""
    db.session().info.setdefault(_UNDO, []).append(fn)


def defer(task: str, *args) -> None:
    """Start the task named `task` with `args` (JSON values: ids, not objects) once this
    transaction has committed. If the broker is down the hook fails (logged); the
    periodic jobs pick the work up later."""
    _task(task)
    after_commit(lambda: start(task, *args))


def start(task: str, *args) -> None:
    """Start the task named `task` now, not tied to a transaction."""
    found = _task(task)
    if current_app.config["TASKS_IN_PROCESS"]:
        _enqueue((found.run, args))
    else:
        current_app.extensions["celery"].send_task(task, args=list(args))


def _task(name: str):
    tasks = current_app.extensions["celery"].tasks
    if not name.startswith("tihuo.") or name not in tasks:
        raise LookupError(f"no such task: {name!r} (see app/jobs.py)")
    return tasks[name]


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
    from app.db import retried

    def attempt():
        fn(*args)
        db.session.commit()

    try:
        retried(attempt, unit="task")  # as a worker would (app/celery_app.py)
    except Exception:
        db.session.rollback()
        log.exception("deferred %s failed", getattr(fn, "__name__", fn))


def _call_all(fns, what: str) -> None:
    for fn in fns:
        try:
            fn()
        except Exception:  # the outcome stands; a failed side effect must not change it
            log.exception("%s hook failed", what)


def _savepoint_begins(session: Session, transaction) -> None:
    if transaction.nested:
        info = session.info
        info.setdefault(_MARKS, {})[id(transaction)] = (len(info.get(_HOOKS, ())), len(info.get(_UNDO, ())))


def _run_hooks(session: Session) -> None:
    # SQLAlchemy fires after_commit for a savepoint's release too: that only tells
    # _transaction_ends to keep what the savepoint registered; the outermost transaction's
    # commit runs the hooks.
    savepoint = session.get_nested_transaction()
    if savepoint is not None:
        session.info.get(_MARKS, {}).pop(id(savepoint), None)
        return
    session.info.pop(_UNDO, None)
    _call_all([fn for _, fn in session.info.pop(_HOOKS, [])], "after-commit")


def _transaction_ends(session: Session, transaction) -> None:
    info = session.info
    if transaction.nested:
        # Still marked: it ended without being released, i.e. rolled back.
        hooks_at, undo_at = info.get(_MARKS, {}).pop(id(transaction), (None, None))
        if hooks_at is not None:
            del info.get(_HOOKS, [])[hooks_at:]
            undo = info.get(_UNDO, [])
            gone, undo[undo_at:] = undo[undo_at:], []
            _call_all(reversed(gone), "rollback")
    elif transaction.parent is None:  # the outermost one; after a commit, nothing is left
        info.pop(_HOOKS, None)
        info.pop(_MARKS, None)
        _call_all(reversed(info.pop(_UNDO, [])), "rollback")


def init_app(app: Flask) -> None:
    if not event.contains(Session, "after_commit", _run_hooks):
        event.listen(Session, "after_transaction_create", _savepoint_begins)
        event.listen(Session, "after_commit", _run_hooks)
        event.listen(Session, "after_transaction_end", _transaction_ends)

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
