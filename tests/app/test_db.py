"""The MariaDB pool skips the per-request ping and rollback (app/db.py); these check that
what those round trips protected against is still handled: a transaction left open is
rolled back on return, and an idle connection the server dropped is replaced."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from app import db as app_db
from app.extensions import db
from tests.conftest import backend_is_mysql

pytestmark = pytest.mark.skipif(not backend_is_mysql(), reason="PyMySQL pool behaviour (MariaDB run)")


def _raw_checkout():
    return db.engine.raw_connection()


def test_committed_connection_is_returned_without_a_rollback(app):
    with app.app_context():
        conn = _raw_checkout()
        cur = conn.cursor()
        cur.execute("SELECT 1")
        conn.commit()
        sent, dbapi = [], conn.dbapi_connection
        real = dbapi.rollback
        dbapi.rollback = lambda: sent.append(1) or real()
        try:
            conn.close()
        finally:
            del dbapi.rollback
        assert sent == []


def test_open_transaction_is_rolled_back_on_return(app):
    with app.app_context():
        db.session.execute(text("CREATE TABLE IF NOT EXISTS pool_probe (id INT PRIMARY KEY)"))
        db.session.commit()
        try:
            conn = _raw_checkout()
            cur = conn.cursor()
            cur.execute("INSERT INTO pool_probe (id) VALUES (1)")  # left uncommitted
            dbapi = conn.dbapi_connection
            conn.close()  # back to the pool: must not keep the open transaction
            from pymysql.constants.SERVER_STATUS import SERVER_STATUS_IN_TRANS
            assert not dbapi.server_status & SERVER_STATUS_IN_TRANS
            with db.engine.connect() as other:
                assert other.execute(text("SELECT COUNT(*) FROM pool_probe")).scalar() == 0
        finally:
            db.session.execute(text("DROP TABLE pool_probe"))
            db.session.commit()


def test_idle_connection_dropped_by_the_server_is_replaced(app, monkeypatch):
    with app.app_context():
        db.engine.dispose()
        conn = _raw_checkout()
        cur = conn.cursor()
        cur.execute("SELECT CONNECTION_ID()")
        dead_id = cur.fetchone()[0]
        conn.close()
        killer = create_engine(db.engine.url)  # outside the pool
        with killer.connect() as kc:
            kc.exec_driver_sql(f"KILL CONNECTION {int(dead_id)}")
        killer.dispose()
        monkeypatch.setattr(app_db, "PING_AFTER_IDLE_S", -1.0)  # it has been idle "long enough"
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT CONNECTION_ID()")).scalar() != dead_id
        db.engine.dispose()


@pytest.mark.skipif(not backend_is_mysql(), reason="a server-side KILL (MariaDB run)")
def test_a_request_whose_connection_died_ends_without_a_500(app):
    """The database connection is killed under a request (a Galera node SIGKILLed): the
    rollback at the request's end fails on the dead connection, is swallowed (the answer
    already made, a 503, stands) and the connection discarded; the next one is fresh."""
    with app.test_request_context("/api/orders", method="POST"):
        mine = db.session.scalar(text("SELECT CONNECTION_ID()"))
        db.session.execute(text("SELECT 1 FOR UPDATE"))
        with db.engine.connect() as other:
            other.execute(text(f"KILL {int(mine)}"))
        app.do_teardown_request(None)  # no error
    with app.app_context():
        assert db.session.scalar(text("SELECT CONNECTION_ID()")) != mine
