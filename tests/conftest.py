"""Test wiring. The backend comes from the environment:

- embedded default (nothing set): SQLite in a temp dir + fakeredis;
- `TEST_DATABASE_URL` / `TEST_REDIS_URL`: real MariaDB and Redis (what CI also runs).

WeChat is a real sandbox server on 127.0.0.1, reached over HTTP by the real clients.
Any outbound connection other than loopback fails the test.
"""
from __future__ import annotations

import os
import socket

import pytest
import sqlalchemy as sa

from app import create_app
from app.config import Settings, new_field_key
from app.extensions import db, rds
from wechat.sandbox.server import start_sandbox_server
from wechat.sandbox import SandboxState

APPID, SECRET = "wx1234567890abcdef", "test-app-secret-0123456789"


# --- the outside world is off limits ---------------------------------------------------

_real_connect = socket.socket.connect


def _loopback_only(self, address):
    host = address[0] if isinstance(address, tuple) else address
    if self.family in (socket.AF_INET, socket.AF_INET6) and host not in (
            "127.0.0.1", "::1", "localhost") and not str(host).startswith("127."):
        raise RuntimeError(f"test tried to reach {address!r}: only loopback is allowed")
    return _real_connect(self, address)


@pytest.fixture(scope="session", autouse=True)
def _no_network():
    socket.socket.connect = _loopback_only
    yield
    socket.socket.connect = _real_connect


# --- backend ----------------------------------------------------------------------------

def backend_is_mysql() -> bool:
    return os.environ.get("TEST_DATABASE_URL", "").startswith("mysql")


def _database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'tihuo-test.db'}"
    # A clean database for this run; created here so CI needs no setup step.
    engine_url = sa.make_url(url)
    server = sa.create_engine(engine_url.set(database=""))
    with server.begin() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{engine_url.database}`"))
        conn.execute(sa.text(f"CREATE DATABASE `{engine_url.database}` "
                             "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    server.dispose()
    return url


@pytest.fixture(scope="session")
def sandbox():
    server = start_sandbox_server(SandboxState(apps={APPID: SECRET}))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def settings(tmp_path_factory, sandbox) -> Settings:
    return Settings(
        APP_ENV="test", DATABASE_URL=_database_url(tmp_path_factory),
        REDIS_URL=os.environ.get("TEST_REDIS_URL") or None,
        SECRET_KEY="test-" + "x" * 40, FIELD_ENCRYPTION_KEY=new_field_key(),
        WECHAT_APPID=APPID, WECHAT_SECRET=SECRET, WECHAT_SANDBOX=False,
        WECHAT_API_BASE=sandbox.base_url, WECHAT_TIMEOUT_S=3, LOG_LEVEL="WARNING",
    )


@pytest.fixture(scope="session")
def app(settings):
    from flask_migrate import upgrade

    app = create_app(settings)
    with app.app_context():
        upgrade()  # the schema comes from the migrations, as in production
    return app


@pytest.fixture(autouse=True)
def _clean_state(request, app, sandbox):
    yield
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
        rds().flushdb()
    sandbox.state.reset()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def ctx(app):
    """An app context for calling the model layer directly (commit yourself)."""
    with app.app_context():
        yield
        db.session.remove()
