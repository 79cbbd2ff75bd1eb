"""Test wiring. The backend comes from the environment:

- embedded default (nothing set): SQLite in a temp dir + fakeredis;
- `TEST_DATABASE_URL` / `TEST_REDIS_URL`: real MariaDB and Redis (what CI also runs).

WeChat is a real sandbox server on 127.0.0.1, reached over HTTP by the real clients.
Any outbound connection other than loopback fails the test.
"""
from __future__ import annotations

import os
import socket
import time

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.tasks import pending
from app import create_app
from tests import state_guard
from app.config import (SANDBOX_KUAIDI100_CUSTOMER, SANDBOX_KUAIDI100_KEY, SANDBOX_OA_ALERT_TEMPLATES, Settings,
                        new_field_key)
from app.extensions import db, rds
from wechat.pay import generate_rsa_keypair
from wechat.sandbox import OfficialAccount, OfficialSandbox, PaySandbox, SandboxState
from wechat.sandbox.server import start_sandbox_server

APPID, SECRET = "wx1234567890abcdef", "test-app-secret-0123456789"
MCHID, APIV3_KEY = "1900000109", "0123456789abcdef0123456789abcdef"
# The official account: appid, secret, server-URL token, EncodingAESKey.
OA_APPID, OA_SECRET = "wx00aa11bb22cc33dd", "test-oa-secret-0123456789"
OA_TOKEN, OA_AES_KEY = "testOfficialToken", "VGVzdE9mZmljaWFsQWNjb3VudEFFU0tleTAxMjM0NTY"


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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def merchant(tmp_path_factory):
    """The test merchant's API key pair, made for this run (never committed)."""
    private_pem, public_pem = generate_rsa_keypair()
    path = tmp_path_factory.mktemp("merchant") / "apiclient_key.pem"
    path.write_text(private_pem)
    return {"serial": "5157F09EFDC096DE15EBE81A47057A7232F1B8E1", "key_path": str(path),
            "private_pem": private_pem, "public_pem": public_pem}


@pytest.fixture(scope="session")
def sandbox(merchant, live_port):
    pay = PaySandbox(allow_http_loopback_notify=True, notify_time_scale=0.001, max_notify_attempts=4)
    pay.add_merchant(MCHID, appids={APPID}, merchant_serial=merchant["serial"],
                     merchant_public_key_pem=merchant["public_pem"], apiv3_key=APIV3_KEY)
    # The official account pushes to the live app (see `live`); both apps share a unionid.
    official = OfficialSandbox([OfficialAccount(
        OA_APPID, OA_TOKEN, OA_AES_KEY, server_url=f"http://127.0.0.1:{live_port}/wechat/official",
        templates={t["template_id"]: list(t["fields"]) for t in SANDBOX_OA_ALERT_TEMPLATES.values()})],
        unionid_apps={APPID, OA_APPID})
    server = start_sandbox_server(SandboxState(apps={APPID: SECRET, OA_APPID: OA_SECRET}, pay=pay,
                                               official=official))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def live_port() -> int:
    """Where the app listens for WeChat Pay's notifications (see `live`)."""
    return _free_port()


@pytest.fixture(scope="session")
def settings(tmp_path_factory, sandbox, merchant, live_port) -> Settings:
    platform_key = tmp_path_factory.mktemp("platform") / "pub_key.pem"
    platform_key.write_text(sandbox.state.pay.platform_public_key_pem)
    return Settings(
        APP_ENV="test", DATABASE_URL=_database_url(tmp_path_factory),
        REDIS_URL=os.environ.get("TEST_REDIS_URL") or None,
        SECRET_KEY="test-" + "x" * 40, FIELD_ENCRYPTION_KEY=new_field_key(),
        WECHAT_APPID=APPID, WECHAT_SECRET=SECRET, WECHAT_SANDBOX=False,
        WECHAT_API_BASE=sandbox.base_url, WECHAT_TIMEOUT_S=3, LOG_LEVEL="WARNING",
        WECHATPAY_MCHID=MCHID, WECHATPAY_CERT_SERIAL=merchant["serial"],
        WECHATPAY_PRIVATE_KEY_PATH=merchant["key_path"], WECHATPAY_APIV3_KEY=APIV3_KEY,
        WECHATPAY_PUBLIC_KEY_PATH=str(platform_key),
        WECHATPAY_PUBLIC_KEY_ID=sandbox.state.pay.public_key_id,
        WECHATPAY_API_BASE=sandbox.base_url, WECHATPAY_NOTIFY_BASE=f"http://127.0.0.1:{live_port}",
        WECHAT_OA_APPID=OA_APPID, WECHAT_OA_SECRET=OA_SECRET, WECHAT_OA_TOKEN=OA_TOKEN,
        WECHAT_OA_AES_KEY=OA_AES_KEY, WECHAT_OA_ALERT_TEMPLATES=SANDBOX_OA_ALERT_TEMPLATES,
        # 快递100 at the sandbox (its default account); pushes come back to the live app.
        KUAIDI100_KEY=SANDBOX_KUAIDI100_KEY, KUAIDI100_CUSTOMER=SANDBOX_KUAIDI100_CUSTOMER,
        KUAIDI100_API_BASE=sandbox.base_url,
        PARTNER_FEED_SETTLE_S=0, WEBHOOK_ALLOW_HTTP_LOOPBACK=True,  # the tests' webhook receivers listen on http://127.0.0.1
        REFUND_SPACING_S=0,  # tests send refunds of one payment back to back; test_refunds turns it on
    )


class ClosingClient(FlaskClient):
    """Reads and closes each response as a WSGI server does, so that work deferred until
    after the response (app.tasks) has run when the call returns."""

    def open(self, *args, **kwargs):
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def app(settings):
    from flask_migrate import upgrade

    app = create_app(settings)
    app.test_client_class = ClosingClient
    with app.app_context():
        upgrade()  # the schema comes from the migrations, as in production
    return app


@pytest.fixture(scope="session")
def live(app, live_port):
    """The app on a real port, for WeChat Pay's notifications from the sandbox."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", live_port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{live_port}"
    server.shutdown()


@pytest.fixture(autouse=True)
def _clean_state(request, app, sandbox):
    state_guard.install()  # once: status writes only through their machines (models are loaded)
    state_guard.violations.clear()
    yield
    if state_guard.violations:  # models.state_machine is the only writer of a status
        found, state_guard.violations[:] = list(state_guard.violations), []
        pytest.fail("status written outside its machine:\n" + "\n".join(found))
    sandbox.state.reset()  # first: no notification may land while tables are emptied
    pending(app).clear()  # work a test deferred but never ran
    with app.app_context():
        db.session.remove()
        for attempt in range(50):
            try:
                with db.engine.begin() as conn:
                    for table in reversed(db.metadata.sorted_tables):
                        conn.execute(table.delete())
                break
            except sa.exc.IntegrityError:
                # The live server may still be running work it deferred until after its
                # response (e.g. delivering a message): let it finish, then wipe again.
                if attempt == 49:
                    raise
                time.sleep(0.1)
        rds().flushdb()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def ctx(app):
    """An app context for calling the model layer directly (commit yourself)."""
    with app.app_context():
        yield
        db.session.remove()
