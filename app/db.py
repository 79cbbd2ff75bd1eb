"""Transactions: one per request, a unit of work of its own for background passes, and
the engine set up to behave (MariaDB pool round trips and timeouts, SQLite pragmas).

The app commits once after the handler returned (TihuoApp.dispatch_request), a task once
after it returned (app/celery_app.py); domain code never commits. A background pass that
must finish row by row (a sweep, the outbox's claim and its record) says so with
`own_transaction()` or `each_in_own_transaction()`. Work that must wait for a commit goes
through app/tasks.py.

A transaction refused as a write conflict is run again (`retried`): a request's handler, a
task, a background pass's step — see "Write conflicts" below.
"""
from __future__ import annotations

import logging
import random
import time
from contextlib import contextmanager
from typing import Callable, Iterable, TypeVar

from flask import Flask, g, has_app_context, has_request_context, request
from prometheus_client import Counter
from sqlalchemy import Select, delete, event, exc, select
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

from app.extensions import db

log = logging.getLogger(__name__)
T = TypeVar("T")


def commit_request() -> None:
    db.session.commit()


# --- write conflicts: run the transaction again -------------------------------------------
# MariaDB answers 1213 (ER_LOCK_DEADLOCK) when InnoDB chose this transaction as a deadlock's
# victim, and Galera answers the same when another node's write set certified first:
# at COMMIT, or at any statement once a replicated write has aborted this transaction
# ("brute force" abort). Either way the whole transaction is gone and nothing of it was
# written, so running it again from the start is safe — the same request, the same rules
# (guarded updates, unique keys), a fresh view of the rows. What a try did outside the
# database before its commit is undone by its rollback hooks (app.tasks.on_rollback: the
# flash-sale gate's units), or done once per request (`once`: a single-use WeChat code).
#
# Not retried:
# - 1205 (lock wait timeout): the request already waited innodb_lock_wait_timeout (or its
#   read timeout ended it first); waiting that long again would break the bounded answer
#   (invariant 7), and InnoDB rolls back only the statement, not the transaction.
# - 1047 (WSREP has not yet prepared node for application use: a node cut off from the
#   cluster's primary component): no try on this node can succeed; 503 `unavailable`
#   (app/errors.py) and the client, or the load balancer, tries another node.
# After CONFLICT_ATTEMPTS tries the last conflict stands: 503 `unavailable` with
# Retry-After, never a 500 — a write conflict is contention, not a bug. Five, not three:
# one hot SKU ordered through two Galera nodes at once (scripts/bench_cluster.py) had 6 %
# of its orders still conflicting on the third try; the pauses (10, 20, 40, 80 ms, each
# jittered ±50 % so that two requests that collided don't collide again in lock step)
# add at most ~0.2 s to the few that need them all.
CONFLICT_ATTEMPTS = 5
CONFLICT_BACKOFF_S = 0.01   # before try n+1: uniform(0.5, 1.5) × this × 2^(n-1)
ER_LOCK_DEADLOCK, ER_SP_DOES_NOT_EXIST = 1213, 1305
CONFLICT_RETRIES = Counter(
    "tihuo_db_conflict_retries_total",
    "Transactions refused as a write conflict (deadlock, Galera certification failure): "
    "run again (outcome=retried) or given up after the last try (outcome=gave_up)",
    ["unit", "outcome"])


def _errno(error: BaseException) -> int | None:
    orig = getattr(error, "orig", None) if isinstance(error, exc.DBAPIError) else None
    args = getattr(orig, "args", None)
    return args[0] if args and isinstance(args[0], int) else None


def write_conflict(error: BaseException) -> bool:
    """True for a database error that means "this transaction lost a write conflict":
    1213, or the error of a savepoint's rollback that a 1213 inside it left without a
    savepoint (InnoDB and Galera roll the whole transaction back)."""
    if getattr(error, "conflict_given_up", False):  # an inner `retried` gave up on it
        return False
    code = _errno(error)
    if code == ER_LOCK_DEADLOCK:
        return True
    if code == ER_SP_DOES_NOT_EXIST:
        context = error.__context__
        return context is not None and _errno(context) == ER_LOCK_DEADLOCK
    return False


def retried(attempt: Callable[[], T], *, unit: str) -> T:
    """`attempt()` — a whole transaction, its commit included — run again after a write
    conflict, rolled back before each new try, at most CONFLICT_ATTEMPTS times. Any other
    error, or the last conflict, is raised as it is (rolled back by the caller as ever)."""
    for n in range(1, CONFLICT_ATTEMPTS + 1):
        try:
            return attempt()
        except Exception as error:
            if not write_conflict(error):
                raise
            db.session.rollback()  # runs the try's rollback hooks; drops its after-commit ones
            where = f"{request.method} {request.path}" if has_request_context() else unit
            if n == CONFLICT_ATTEMPTS:
                CONFLICT_RETRIES.labels(unit, "gave_up").inc()
                log.warning("write conflict: %s gave up after %d tries (%s)", where, n, _errno(error))
                error.conflict_given_up = True
                raise
            CONFLICT_RETRIES.labels(unit, "retried").inc()
            log.info("write conflict: %s runs again, try %d of %d (%s)", where, n + 1,
                     CONFLICT_ATTEMPTS, _errno(error))
            _rewind_uploads()
            time.sleep(random.uniform(0.5, 1.5) * CONFLICT_BACKOFF_S * 2 ** (n - 1))
    raise AssertionError("unreachable")


def _rewind_uploads() -> None:
    # The next try reads uploaded files from the start again (the body itself is cached).
    if has_request_context() and request.files:
        for upload in request.files.values():
            upload.stream.seek(0)


def once(key: str, fn: Callable[[], T]) -> T:
    """`fn()`'s result, computed once per request (or task) even when its transaction is
    run again after a write conflict: for what must not be repeated, like exchanging a
    single-use WeChat code (a second code2session with the same code is refused)."""
    done = g.setdefault("once_per_request", {}) if has_app_context() else {}
    if key not in done:
        done[key] = fn()
    return done[key]


def once_result(key: str, default=None):
    """What `once(key, ...)` computed in this request, if it ran."""
    return g.get("once_per_request", {}).get(key, default) if has_app_context() else default


@contextmanager
def own_transaction():
    """A unit of work of its own, outside any request (a sweep's row, the outbox's claim,
    a recorded delivery): committed when the block ends, rolled back if it raises. Never
    inside a request, whose one transaction it would cut in two."""
    try:
        yield
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()


@contextmanager
def replica_reads():
    """Plain reads in this block may go to the read replica (ANALYTICS_DATABASE_URL;
    app.extensions.RoutingSession): for reports, which can be a moment behind."""
    from flask import g

    before = g.get("replica_reads", False)
    g.replica_reads = True
    try:
        yield
    finally:
        g.replica_reads = before


def purge_before(model, stamp, cutoff, batch: int = 1000) -> int:
    """Delete `model` rows whose `stamp` is before `cutoff`, oldest first, a batch per
    transaction. For append-only tables whose ids grow with time: each pass reads the
    `batch` lowest ids by primary key and stops at the first row that is new enough, so
    it never scans the rows it keeps (no index on the stamp needed)."""
    deleted = 0
    while True:
        with own_transaction():
            rows = db.session.execute(select(model.id, stamp).order_by(model.id).limit(batch)).all()
            old = [row[0] for row in rows if row[1] < cutoff]
            if old:
                db.session.execute(delete(model).where(model.id.in_(old)))
        deleted += len(old)
        if len(old) < batch:
            return deleted


def each_in_own_transaction(ids: Iterable | Select, step: Callable[[object], object], *, what: str,
                            load=None) -> int:
    """Run `step(id)` for each id (a list, or a SELECT of ids run first) — or, with `load`
    (a model), `step(row)` for the row of that id — each in its own transaction, so one
    failure (logged, rolled back) holds up none of the rest: every periodic sweep goes
    through here. Returns how many steps said they acted (returned something true)."""
    done = 0
    ids = db.session.scalars(ids).all() if isinstance(ids, Select) else list(ids)

    def one(ident) -> bool:
        with own_transaction():
            target = ident if load is None else db.session.get(load, ident)
            return bool(target is not None and step(target))

    for ident in ids:
        try:
            if retried(lambda: one(ident), unit="step"):
                done += 1
        except Exception:
            log.exception("%s failed for %s", what, ident)
    return done


def init_app(app: Flask) -> None:
    init_engine_events()
    with app.app_context():
        engine = db.engine
    if engine.dialect.driver == "pymysql":
        event.listen(engine, "checkout", MysqlCheckout(app.config))

    @app.before_request
    def _fresh_once():
        # Each request's `once` results are its own: an app context (and its `g`) pushed
        # around several requests — a test's, a script's — must not carry one over.
        g.pop("once_per_request", None)

    @app.teardown_request
    def _discard(_exc):
        # Anything not committed by commit_request (an error, an early abort) is rolled back.
        try:
            db.session.rollback()
        except exc.DBAPIError as error:
            # The server went away with the request (killed, restarted, a Galera node cut
            # off): the answer (503) is already made, and a ROLLBACK on the dead connection
            # must not turn it into the server's bare 500. The connection is discarded.
            log.warning("rollback failed after %s %s: %s", request.method, request.path, type(error).__name__)
            db.session().invalidate()  # the Session (the scoped proxy has no invalidate)


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

    if (_is_pymysql(dbapi_conn) and not state.transaction_was_reset
            and (dbapi_conn.server_status or 0) & SERVER_STATUS_IN_TRANS):
        dbapi_conn.rollback()


# --- a hung MariaDB: nothing waits without limit ------------------------------------------
# Without timeouts PyMySQL waits forever for a server that accepted the connection but
# answers nothing (stopped, or lost behind a network that drops packets): every request
# took as long as the server was frozen. With them a wait ends in PyMySQL's "Lost
# connection" (2013) or "gone away" (2006), which SQLAlchemy takes as a disconnect: it
# discards the connection and every pooled one older than it, so connections made after
# the server is back are fresh; the request answers 503 `unavailable` (app/errors.py).

def mysql_connect_args(settings) -> dict:
    """PyMySQL's connect arguments. The handshake and the connection's set-up queries read
    under the connect timeout; each checkout then sets the read timeout of its user."""
    return {"connect_timeout": settings.DATABASE_CONNECT_TIMEOUT_S,
            "read_timeout": settings.DATABASE_CONNECT_TIMEOUT_S,
            "write_timeout": settings.DATABASE_WRITE_TIMEOUT_S}


class MysqlCheckout:
    """Pool checkout of a PyMySQL connection (this app's engine only).

    The read timeout follows who uses the connection now: a request gets the short one,
    background work (no request: a task, a command, work after a response) the long one.
    PyMySQL has no public setter, but it reads `_read_timeout` before every read (pinned
    version; tests/app/test_faults.py fails if that stops working). A connection idle
    long enough is pinged first (see above), under the connect timeout."""

    def __init__(self, cfg):
        self.request_s, self.job_s = cfg["DATABASE_READ_TIMEOUT_S"], cfg["DATABASE_JOB_READ_TIMEOUT_S"]
        self.ping_s = cfg["DATABASE_CONNECT_TIMEOUT_S"]

    def __call__(self, dbapi_conn, record, _proxy) -> None:
        idle_since = record.info.get("checked_in_at")
        if idle_since is not None and time.monotonic() - idle_since > PING_AFTER_IDLE_S:
            dbapi_conn._read_timeout = self.ping_s
            try:
                dbapi_conn.ping(reconnect=False)
            except Exception as e:  # the pool discards it and connects afresh
                raise exc.DisconnectionError() from e
        dbapi_conn._read_timeout = self.request_s if has_request_context() else self.job_s


def probe(timeout_s: float) -> None:
    """Raise unless the database answers `SELECT 1` within about `timeout_s` (/readyz).
    On MariaDB a connection of its own, outside the pool: a stuck server holds it no
    longer than the timeout, and a pool taken up by stuck requests doesn't hide a server
    that answers again."""
    engine = db.engine
    if engine.dialect.driver != "pymysql":
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return
    import pymysql

    _, params = engine.dialect.create_connect_args(engine.url)
    conn = pymysql.connect(**{**params, "connect_timeout": timeout_s, "read_timeout": timeout_s,
                              "write_timeout": timeout_s})
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
    finally:
        conn.close()


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
        event.listen(Pool, "checkin", _mysql_checkin)
        event.listen(Engine, "do_connect", _mysql_connect_args)
        event.listen(Engine, "connect", _sqlite_pragmas)
        event.listen(Engine, "begin", _sqlite_begin)
