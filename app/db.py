"""One transaction per request, side effects after commit, SQLite set up to behave.

The app commits once after the handler returned (TihuoApp.dispatch_request); domain code
never commits. Side effects queued with `after_commit` run once the session's transaction
has committed — in a request, a CLI command or a task alike — and are dropped if it
rolls back.
"""
from __future__ import annotations

import logging
from typing import Callable

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.extensions import db

log = logging.getLogger(__name__)
_HOOKS = "after_commit"
_KEYS = "after_commit_keys"


def after_commit(fn: Callable[[], None], key=None) -> None:
    """Run `fn` once the current transaction has committed (never if it rolls back).
    With a `key`, only the first hook of that key in this transaction is kept."""
    info = db.session().info
    if key is not None:
        keys = info.setdefault(_KEYS, set())
        if key in keys:
            return
        keys.add(key)
    info.setdefault(_HOOKS, []).append(fn)


def commit_request() -> None:
    db.session.commit()


def _run_hooks(session: Session) -> None:
    session.info.pop(_KEYS, None)
    for fn in session.info.pop(_HOOKS, []):
        try:
            fn()
        except Exception:  # the commit stands; a failed side effect must not undo it
            log.exception("after-commit hook failed")


def _drop_hooks(session: Session) -> None:
    session.info.pop(_HOOKS, None)
    session.info.pop(_KEYS, None)


def init_app(app: Flask) -> None:
    init_engine_events()

    @app.teardown_request
    def _discard(exc):
        # Anything not committed by commit_request (an error, an early abort) is rolled back.
        db.session.rollback()


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    import sqlite3

    if isinstance(dbapi_conn, sqlite3.Connection):
        # pysqlite starts transactions lazily at the first write, so a SAVEPOINT issued
        # before any write would open (and its RELEASE commit) a transaction of its own.
        # Take transaction control from the driver; _sqlite_begin issues BEGIN instead.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")   # SQLite ignores foreign keys unless asked
        cur.execute("PRAGMA busy_timeout=5000")  # wait for a writer instead of failing at once
        cur.execute("PRAGMA journal_mode=WAL")   # readers do not block the writer
        cur.close()


def _sqlite_begin(conn) -> None:
    # IMMEDIATE takes the write lock up front: two transactions that both read and then
    # write would otherwise deadlock on the lock upgrade, and SQLite answers that with an
    # immediate "database is locked" instead of waiting. (Embedded default only.)
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def init_engine_events() -> None:
    if not event.contains(Engine, "connect", _sqlite_pragmas):
        event.listen(Engine, "connect", _sqlite_pragmas)
        event.listen(Engine, "begin", _sqlite_begin)
        event.listen(Session, "after_commit", _run_hooks)
        event.listen(Session, "after_rollback", _drop_hooks)
