"""A hung database or Redis: every request is still answered — 503 `unavailable` within a
bounded time — `/healthz` doesn't notice, `/readyz` says so within about two seconds, and
the service recovers by itself when the dependency comes back.

The faults come from a TCP proxy (tests/faultproxy.py) between a second app and the test
database and Redis; the shared servers are never stopped. On the MariaDB run both go
through proxies; on the embedded run the database is SQLite (nothing to hang), and Redis
is fakeredis's TCP server behind the proxy, so the Redis side is tested on both runs.
The second app has short timeouts (FAST) so that the tests stay quick.
"""
from __future__ import annotations

import logging
import os
import threading
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from fakeredis import TcpFakeServer
from sqlalchemy import text

from app.extensions import db, rds
from tests.app.test_errors import assert_error
from tests.conftest import backend_is_mysql
from tests.factories import PASSWORD, bearer, make_staff
from tests.faultproxy import FaultProxy

FAST = {"DATABASE_CONNECT_TIMEOUT_S": 1.0, "DATABASE_READ_TIMEOUT_S": 1.0,
        "DATABASE_WRITE_TIMEOUT_S": 1.0, "DATABASE_JOB_READ_TIMEOUT_S": 10.0,
        "POOL_TIMEOUT_S": 1.0, "REDIS_TIMEOUT_S": 0.5, "READY_TIMEOUT_S": 1.0}
# What "a bounded time" means for the app above: a few of its timeouts (a request may
# wait for a pooled connection, then for the server), far below "forever" — which is what
# a request waited before these timeouts existed.
BOUND_S = 4.0
READY_BOUND_S = 2.5

mysql_only = pytest.mark.skipif(not backend_is_mysql(), reason="the database side needs MariaDB")


@pytest.fixture(scope="module")
def redis_upstream():
    """(host, port, db) of the Redis behind the proxy: the test Redis, or on the embedded
    run a fakeredis TCP server of this module's own."""
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        parts = urlsplit(url)
        yield parts.hostname, parts.port or 6379, int(parts.path.strip("/") or 0)
        return
    server = TcpFakeServer(("127.0.0.1", 0), server_type="redis")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield *server.server_address, 0
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def proxies(settings, redis_upstream):
    database = None
    if backend_is_mysql():
        url = sa.make_url(settings.DATABASE_URL)
        database = FaultProxy(url.host, url.port or 3306)
    redis_proxy = FaultProxy(*redis_upstream[:2])
    yield SimpleNamespace(db=database, redis=redis_proxy)
    redis_proxy.close()
    if database:
        database.close()


@pytest.fixture(scope="module")
def hung(settings, proxies, redis_upstream, app):
    """The app behind the proxies (the session's `app` made the schema)."""
    from app import create_app

    update = dict(FAST, REDIS_URL=f"redis://127.0.0.1:{proxies.redis.port}/{redis_upstream[2]}")
    if proxies.db:
        url = sa.make_url(settings.DATABASE_URL).set(host="127.0.0.1", port=proxies.db.port)
        update["DATABASE_URL"] = url.render_as_string(hide_password=False)
    faulty = create_app(settings.model_copy(update=update))

    @faulty.get("/_test/commit-hangs")
    def commit_hangs():
        db.session.execute(text("SELECT 1"))
        proxies.db.freeze()  # the next round trip is the commit's
        return {"ok": True}

    @faulty.get("/_test/after-commit-hangs")
    def after_commit_hangs():
        from app.tasks import after_commit

        db.session.execute(text("SELECT 1"))

        def hook():
            proxies.redis.freeze()
            rds().incr("after-commit-hook")
        after_commit(hook)
        return {"ok": True}

    return faulty


@pytest.fixture(autouse=True)
def _let_go(proxies):
    """Whatever a test froze flows again after it (before the tables are emptied)."""
    yield
    for proxy in (proxies.db, proxies.redis):
        if proxy:
            proxy.passthrough()


def within(seconds: float, call):
    """`call()` on a thread: its result, if it came within `seconds`; else the test fails."""
    box = {}

    def run():
        try:
            box["result"] = call()
        except BaseException as exc:  # re-raised below
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"no answer within {seconds} s")
    if "error" in box:
        raise box["error"]
    return box["result"]


def get(app, path, **kw):
    return within(BOUND_S, lambda: app.test_client().get(path, **kw))


def staff_headers(app, hung) -> dict:
    """A staff token issued through the hung app (its Redis is the one behind the proxy)."""
    with app.app_context():
        member = make_staff("clerk")
        username = member.username
        db.session.commit()
    resp = hung.test_client().post("/api/staff/login", json={"username": username, "password": PASSWORD})
    assert resp.status_code == 200, resp.json
    return bearer(resp.json["token"])


# --- the database hangs --------------------------------------------------------------------

@mysql_only
def test_a_frozen_database_answers_503_then_recovers(hung, proxies):
    assert get(hung, "/api/stores").status_code == 200  # the pool has a connection
    proxies.db.freeze()
    err = assert_error(get(hung, "/api/stores"), 503, "unavailable")
    assert err["details"] == {}
    assert_error(get(hung, "/api/stores"), 503, "unavailable")  # a new connection hangs too
    assert get(hung, "/healthz").json == {"status": "ok"}
    ready = within(READY_BOUND_S, lambda: hung.test_client().get("/readyz"))
    assert ready.status_code == 503
    assert ready.json["checks"]["database"].startswith("error") and ready.json["checks"]["redis"] == "ok"
    proxies.db.passthrough()  # the server is back: no restart needed
    assert get(hung, "/api/stores").status_code == 200
    assert get(hung, "/readyz").json == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


@mysql_only
def test_a_commit_that_hangs_answers_503(hung):
    assert_error(get(hung, "/_test/commit-hangs"), 503, "unavailable")


@mysql_only
def test_a_dropped_or_slow_database(hung, proxies):
    assert get(hung, "/api/stores").status_code == 200
    proxies.db.drop()
    assert_error(get(hung, "/api/stores"), 503, "unavailable")
    proxies.db.slow(0.05)  # slow, but well within the timeouts
    assert get(hung, "/api/stores").status_code == 200
    proxies.db.slow(1.5)   # slower than the read timeout
    assert_error(get(hung, "/api/stores"), 503, "unavailable")
    proxies.db.passthrough()
    assert get(hung, "/api/stores").status_code == 200


@mysql_only
def test_a_full_pool_answers_503(hung, proxies):
    # Every pooled connection is held by requests stuck on the frozen server: the next
    # request waits POOL_TIMEOUT_S for one, not forever.
    held = []
    with hung.app_context():
        with pytest.raises(sa.exc.TimeoutError):  # after POOL_TIMEOUT_S
            while len(held) < 100:
                held.append(db.engine.connect())
    try:
        assert_error(get(hung, "/api/stores"), 503, "unavailable")
    finally:
        for conn in held:
            conn.close()
    assert get(hung, "/api/stores").status_code == 200


@mysql_only
def test_background_work_may_read_longer_than_a_request(hung):
    # A request's reads give up after DATABASE_READ_TIMEOUT_S (1 s here); a job's (a Celery
    # task, a command: no request) after DATABASE_JOB_READ_TIMEOUT_S — the reconciliation
    # and the ledger check read for longer than any request should.
    with hung.app_context():
        assert db.session.execute(text("SELECT SLEEP(1.5)")).scalar() == 0
        db.session.remove()
    with hung.test_request_context("/"):
        with pytest.raises(sa.exc.OperationalError):
            db.session.execute(text("SELECT SLEEP(1.5)"))
        db.session.remove()


# --- Redis hangs ----------------------------------------------------------------------------

def test_a_frozen_redis_answers_503_then_recovers(app, hung, proxies):
    headers = staff_headers(app, hung)
    assert get(hung, "/api/staff/me", headers=headers).status_code == 200
    proxies.redis.freeze()
    err = assert_error(get(hung, "/api/staff/me", headers=headers), 503, "unavailable")
    assert err["details"] == {}
    assert get(hung, "/healthz").json == {"status": "ok"}
    ready = within(READY_BOUND_S, lambda: hung.test_client().get("/readyz"))
    assert ready.status_code == 503
    assert ready.json["checks"]["redis"].startswith("error") and ready.json["checks"]["database"] == "ok"
    proxies.redis.passthrough()
    assert get(hung, "/api/staff/me", headers=headers).status_code == 200
    assert get(hung, "/readyz").json == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_a_dropped_or_slow_redis(app, hung, proxies):
    headers = staff_headers(app, hung)
    proxies.redis.drop()
    assert_error(get(hung, "/api/staff/me", headers=headers), 503, "unavailable")
    proxies.redis.slow(0.05)
    assert get(hung, "/api/staff/me", headers=headers).status_code == 200
    proxies.redis.slow(1.0)  # slower than the socket timeout
    assert_error(get(hung, "/api/staff/me", headers=headers), 503, "unavailable")
    proxies.redis.passthrough()
    assert get(hung, "/api/staff/me", headers=headers).status_code == 200


def test_an_after_commit_hook_that_hangs_leaves_the_answer(hung, caplog):
    # The transaction committed: the hook's failure is logged, the answer stands (a 503
    # would make the client retry what is already done), and it comes in bounded time.
    with caplog.at_level(logging.ERROR, logger="app.tasks"):
        resp = get(hung, "/_test/after-commit-hangs")
    assert resp.status_code == 200
    failure = next(r for r in caplog.records if r.getMessage() == "after-commit hook failed")
    assert failure.exc_info[0].__name__ == "TimeoutError"


# --- health ---------------------------------------------------------------------------------

def test_healthz_touches_neither_while_requests_hang(app, hung, proxies):
    headers = staff_headers(app, hung)
    for proxy in (proxies.db, proxies.redis):
        if proxy:
            proxy.freeze()
    stuck = [threading.Thread(target=hung.test_client().get, args=("/api/staff/me",),
                              kwargs={"headers": headers}, daemon=True) for _ in range(4)]
    for thread in stuck:
        thread.start()
    assert within(1.0, lambda: hung.test_client().get("/healthz")).json == {"status": "ok"}
    for proxy in (proxies.db, proxies.redis):
        if proxy:
            proxy.passthrough()
    for thread in stuck:
        thread.join(BOUND_S)
