"""One transaction per request: the app commits once after the handler returned,
then runs the side effects queued with `after_commit`. Domain code never commits."""
from __future__ import annotations

from typing import Callable

from flask import Flask, g

from app.extensions import db


def after_commit(fn: Callable[[], None]) -> None:
    """Run `fn` once this request's transaction has committed (never if it rolls back)."""
    g.setdefault("after_commit", []).append(fn)


def commit_request() -> None:
    db.session.commit()
    for fn in g.pop("after_commit", []):
        fn()


def init_app(app: Flask) -> None:
    init_engine_events()

    @app.teardown_request
    def _discard(exc):
        # Anything not committed by commit_request (an error, an early abort) is rolled back.
        g.pop("after_commit", None)
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
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN")


def init_engine_events() -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not event.contains(Engine, "connect", _sqlite_pragmas):
        event.listen(Engine, "connect", _sqlite_pragmas)
        event.listen(Engine, "begin", _sqlite_begin)
