"""Write conflicts (app.db.retried): a transaction that MariaDB refuses with 1213 — a
deadlock here, a certification failure on Galera — is rolled back and run again, a
bounded number of times, for requests (through real HTTP) and tasks; after the last try
the answer is 503 `unavailable`, never a 500. The deadlocks are real: two transactions
locking two rows in opposite orders on the MariaDB run."""
from __future__ import annotations

import threading

import pytest
from flask import Blueprint, g
from prometheus_client import REGISTRY
from sqlalchemy import text

from app import db as app_db
from app.extensions import db
from tests.conftest import backend_is_mysql

pytestmark = pytest.mark.skipif(not backend_is_mysql(), reason="real deadlocks need MariaDB")

HEAVY = (3, 60)  # rows a transaction updates to weigh more: InnoDB rolls back the lighter one


def retries(unit: str, outcome: str = "retried") -> float:
    return REGISTRY.get_sample_value("tihuo_db_conflict_retries_total",
                                     {"unit": unit, "outcome": outcome}) or 0.0


def bump(*ids: int) -> None:
    for ident in ids:
        db.session.execute(text("UPDATE conflict_probe SET n = n + 1 WHERE id = :id"), {"id": ident})


def bump_heavy() -> None:
    db.session.execute(text("UPDATE conflict_probe SET n = n + 1 WHERE id BETWEEN :a AND :b"),
                       {"a": HEAVY[0], "b": HEAVY[1]})


def counts(app) -> dict[int, int]:
    with app.app_context():
        rows = db.session.execute(text("SELECT id, n FROM conflict_probe")).all()
        db.session.rollback()
        return dict(rows)


class Rig:
    """What the test routes and tasks wait on (module state: one test at a time)."""
    barrier: threading.Barrier
    armed = threading.Event()    # the helper holds row 2 (and the heavy rows)
    locked = threading.Event()   # the handler holds row 1


def _first_try() -> bool:
    g.tries = g.get("tries", 0) + 1
    return g.tries == 1


@pytest.fixture(scope="module")
def server(app, settings):
    """A second app with test-only routes and tasks, on a real port."""
    from werkzeug.serving import make_server

    from app import create_app

    with app.app_context():
        db.session.execute(text("CREATE TABLE IF NOT EXISTS conflict_probe "
                                "(id INT PRIMARY KEY, n INT NOT NULL) ENGINE=InnoDB"))
        db.session.commit()
    second = create_app(settings)
    bp = Blueprint("conflicts", __name__)

    @bp.post("/_conflict/pair/<int:first>/<int:then>/<int:heavy>")
    def pair(first, then, heavy):
        # Both requests lock their first row, meet, then want the other's: a deadlock on
        # the first try; the victim's second try finds the row free once the winner commits.
        if heavy:
            bump_heavy()
        bump(first)
        if _first_try():
            Rig.barrier.wait(timeout=10)
        bump(then)
        return {"tries": g.tries}

    @bp.post("/_conflict/always")
    def always():
        # Every try deadlocks against the helper thread, which weighs more (HEAVY).
        _first_try()
        if not Rig.armed.wait(10):
            raise RuntimeError("helper not armed")
        Rig.armed.clear()
        bump(1)
        Rig.locked.set()
        bump(2)
        return {"tries": g.tries}

    second.register_blueprint(bp)
    celery = second.extensions["celery"]

    @celery.task(name="tihuo.test_conflict_pair")
    def conflict_pair(first, then):
        bump(first)
        if _first_try():
            Rig.barrier.wait(timeout=10)
        bump(then)
        return g.tries

    srv = make_server("127.0.0.1", 0, second, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}", second
    srv.shutdown()
    with app.app_context():
        db.session.execute(text("DROP TABLE IF EXISTS conflict_probe"))
        db.session.commit()


@pytest.fixture(autouse=True)
def probe_rows(app, server):
    with app.app_context():
        db.session.execute(text("DELETE FROM conflict_probe"))
        db.session.execute(text("INSERT INTO conflict_probe (id, n) VALUES "
                                + ",".join(f"({i}, 0)" for i in range(1, HEAVY[1] + 1))))
        db.session.commit()
    Rig.barrier = threading.Barrier(2)
    Rig.armed.clear()
    Rig.locked.clear()


def _post_all(urls: list[str]) -> list:
    import requests

    results: list = [None] * len(urls)

    def call(i):
        results[i] = requests.post(urls[i], timeout=30)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(urls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_requests_that_deadlock_both_succeed_once(app, server):
    base, _ = server
    before = retries("request")
    a, b = _post_all([f"{base}/_conflict/pair/1/2/0", f"{base}/_conflict/pair/2/1/0"])
    assert (a.status_code, b.status_code) == (200, 200), (a.text, b.text)
    assert sorted([a.json()["tries"], b.json()["tries"]]) == [1, 2]  # one victim, run again
    assert retries("request") == before + 1
    found = counts(app)
    assert (found[1], found[2]) == (2, 2)  # each request's writes exactly once


def test_a_request_that_always_deadlocks_gives_up_with_503(app, server):
    base, _ = server
    stop = threading.Event()
    before = retries("request"), retries("request", "gave_up")

    def helper():
        with app.app_context():
            with db.engine.connect() as conn:
                while not stop.is_set():
                    conn.execute(text("UPDATE conflict_probe SET n = n + 1 WHERE id BETWEEN :a AND :b"),
                                 {"a": HEAVY[0], "b": HEAVY[1]})
                    conn.execute(text("UPDATE conflict_probe SET n = n + 1 WHERE id = 2"))
                    Rig.armed.set()
                    while not Rig.locked.wait(0.1):
                        if stop.is_set():
                            conn.rollback()
                            return
                    Rig.locked.clear()
                    # Closes the cycle (or waits for the handler to close it): the handler,
                    # lighter, is the victim; this then gets row 1 and rolls everything back.
                    conn.execute(text("UPDATE conflict_probe SET n = n + 1 WHERE id = 1"))
                    conn.rollback()

    thread = threading.Thread(target=helper)
    thread.start()
    try:
        import requests

        resp = requests.post(f"{base}/_conflict/always", timeout=30)
    finally:
        stop.set()
        thread.join(10)
    assert resp.status_code == 503
    assert resp.json()["error"]["code"] == "unavailable"
    assert resp.headers["Retry-After"]
    assert retries("request") == before[0] + app_db.CONFLICT_ATTEMPTS - 1
    assert retries("request", "gave_up") == before[1] + 1
    assert counts(app)[1] == 0  # no try's write survived


def test_a_task_that_deadlocks_is_run_again(app, server):
    base, second = server
    before = retries("task")
    outcome: dict = {}

    def run_task():
        outcome["task"] = second.extensions["celery"].tasks["tihuo.test_conflict_pair"].apply(args=[1, 2])

    thread = threading.Thread(target=run_task)
    thread.start()
    import requests

    resp = requests.post(f"{base}/_conflict/pair/2/1/1", timeout=30)  # heavy: the task is the victim
    thread.join(30)
    assert resp.status_code == 200 and resp.json()["tries"] == 1
    result = outcome["task"]
    assert result.successful(), result.result
    assert result.result == 2  # ran twice, committed once
    assert retries("task") == before + 1
    found = counts(app)
    assert (found[1], found[2]) == (2, 2)
