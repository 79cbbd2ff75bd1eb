"""One transaction per request, side effects after commit, SQLite set up to behave.

The app commits once after the handler returned (TihuoApp.dispatch_request); domain code
never commits. Side effects queued with `after_commit` run once the session's transaction
has committed — in a request, a CLI command or a task alike — and are dropped if it
rolls back.
"""
from __future__ import annotations

import logging
import time
from typing import Callable

from flask import Flask
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool

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


# MariaDB connections (PyMySQL): two round trips per request that usually do nothing.
# The pool's default is to ping on every checkout and to roll back on every return; a
# request has always committed or rolled back by then. So: roll back on return only if
# the server says a transaction is still open, and ping only a connection that sat idle
# long enough for the server or a proxy to have dropped it (a connection that dies in
# use is caught by SQLAlchemy's disconnect handling, which refreshes the pool).
MYSQL_POOL_OPTIONS = {"pool_pre_ping": False, "pool_reset_on_return": None}
PING_AFTER_IDLE_S = 10.0


def _is_pymysql(dbapi_conn) -> bool:
    return type(dbapi_conn).__module__.startswith("pymysql")


def _mysql_reset(dbapi_conn, _record, state) -> None:
    from pymysql.constants.SERVER_STATUS import SERVER_STATUS_IN_TRANS

    if _is_pymysql(dbapi_conn) and not state.transaction_was_reset \
            and (dbapi_conn.server_status or 0) & SERVER_STATUS_IN_TRANS:
        dbapi_conn.rollback()


def _mysql_checkout(dbapi_conn, record, _proxy) -> None:
    if not _is_pymysql(dbapi_conn):
        return
    idle_since = record.info.get("checked_in_at")
    if idle_since is not None and time.monotonic() - idle_since > PING_AFTER_IDLE_S:
        try:
            dbapi_conn.ping(reconnect=False)
        except Exception as e:  # the pool discards it and connects afresh
            raise exc.DisconnectionError() from e


def _mysql_connect_args(dialect, _record, _cargs, cparams) -> None:
    # app.sqlbatch sends a run of writes as one multi-statement query. Added to the flags
    # SQLAlchemy sets (FOUND_ROWS: rowcount counts matched rows, which guarded updates read).
    if dialect.driver == "pymysql":
        from pymysql.constants.CLIENT import MULTI_STATEMENTS

        cparams["client_flag"] = cparams.get("client_flag", 0) | MULTI_STATEMENTS


def _mysql_checkin(dbapi_conn, record) -> None:
    if dbapi_conn is not None:
        record.info["checked_in_at"] = time.monotonic()


def init_engine_events() -> None:
    if not event.contains(Engine, "connect", _sqlite_pragmas):
        event.listen(Pool, "reset", _mysql_reset)
        event.listen(Pool, "checkout", _mysql_checkout)
        event.listen(Pool, "checkin", _mysql_checkin)
        event.listen(Engine, "do_connect", _mysql_connect_args)
        event.listen(Engine, "connect", _sqlite_pragmas)
        event.listen(Engine, "begin", _sqlite_begin)
        event.listen(Session, "after_commit", _run_hooks)
        event.listen(Session, "after_rollback", _drop_hooks)
