"""The application factory: a short list of `init_app` calls, nothing at import time."""
from __future__ import annotations

from apiflask import APIFlask
from flask.sessions import SessionInterface

from app.config import INSTANCE_DIR, Settings, field_keys, instance_sandbox_platform
from app.errors import ERROR_SCHEMA

__version__ = "0.1.0"


class TihuoApp(APIFlask):
    def dispatch_request(self):
        # The handler returned (already serialised): commit its one transaction, then
        # run the side effects it queued. Errors skip this and are rolled back — except
        # the few that say what they found must be kept (`AppError.keep_changes`).
        # A transaction refused as a write conflict (a deadlock; on Galera, another node's
        # write certified first) is rolled back and the handler run again with the same
        # request, a bounded number of times (app.db.retried).
        from app.db import retried

        return retried(self._dispatch_once, unit="request")

    def _dispatch_once(self):
        from app.db import commit_request
        from app.errors import AppError

        try:
            rv = super().dispatch_request()
        except AppError as exc:
            if exc.keep_changes:
                commit_request()
            raise
        commit_request()
        return rv


class NoCookieSessions(SessionInterface):
    """Clients authenticate with bearer tokens; nothing here uses Flask's cookie session.
    Flask's default would still build a signing serializer on every request (about a
    tenth of /healthz's cost) for a session nobody reads."""

    def open_session(self, app, request):
        return None  # Flask then uses its null session, which refuses writes

    def save_session(self, app, session, response):
        pass


def create_app(settings: Settings | None = None) -> TihuoApp:
    from app import celery_app, cli, crypto, db as transaction, errors, i18n, logs, metrics, tasks, wechat
    from app.extensions import db, migrate, redis_ext
    from handlers import register_handlers
    from models import load_all
    from models.notifications import templates as subscribe_templates

    load_all()

    settings = settings or Settings()
    app = TihuoApp("tihuo", title="Tihuo API", version=__version__,
                   instance_path=str(INSTANCE_DIR))
    app.config.update(_flask_config(settings))
    app.json.ensure_ascii = False  # 静安寺店, not \u9759\u5b89...
    app.json.sort_keys = False     # fields in the order the schemas declare them
    app.session_interface = NoCookieSessions()
    app.extensions["settings"] = settings

    logs.init_app(app)
    metrics.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(INSTANCE_DIR.parent / "migrations"))
    redis_ext.init_app(app)
    crypto.init_app(app, *field_keys(settings))
    errors.init_app(app)
    i18n.init_app(app)
    transaction.init_app(app)
    tasks.init_app(app)
    celery_app.init_app(app)
    subscribe_templates.init_app(app)
    wechat.init_app(app)
    register_handlers(app)
    if settings.WECHAT_SANDBOX:
        _mount_sandbox(app, settings)
    wechat.init_pay(app)
    cli.init_app(app)
    if settings.TRUSTED_PROXY_HOPS:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = settings.TRUSTED_PROXY_HOPS
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    return app


def _flask_config(s: Settings) -> dict:
    cfg = s.model_dump()
    cfg.update(
        SQLALCHEMY_DATABASE_URI=s.DATABASE_URL,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(s),
        SQLALCHEMY_BINDS=({"analytics": {"url": s.ANALYTICS_DATABASE_URL,
                                         **_engine_options(s.model_copy(update={"DATABASE_URL": s.ANALYTICS_DATABASE_URL}))}}
                          if s.ANALYTICS_DATABASE_URL else {}),
        VALIDATION_ERROR_STATUS_CODE=400,
        VALIDATION_ERROR_SCHEMA=ERROR_SCHEMA,
        HTTP_ERROR_SCHEMA=ERROR_SCHEMA,
        SYNC_LOCAL_SPEC=False,
    )
    if s.DATABASE_URL.startswith("sqlite:///") and ":memory:" not in s.DATABASE_URL:
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    return cfg


def _engine_options(s: Settings) -> dict:
    if s.DATABASE_URL.startswith("mysql"):
        # Idle connections are pinged (app.db); recycle stays under wait_timeout. READ COMMITTED
        # (as Django uses on MySQL): a statement sees rows committed before it, so a
        # re-read after losing a unique-key race finds the winner's row, and guarded
        # updates take no gap locks. Timeouts: a hung server costs a request 503, not a
        # wait without end (app.db, "a hung MariaDB").
        from app.db import MYSQL_POOL_OPTIONS, mysql_connect_args

        return {**MYSQL_POOL_OPTIONS, "pool_recycle": 1800, "pool_size": 10,
                "max_overflow": 10, "pool_timeout": s.POOL_TIMEOUT_S,
                "isolation_level": "READ COMMITTED", "connect_args": mysql_connect_args(s)}
    return {}


def _mount_sandbox(app: TihuoApp, settings: Settings) -> None:
    from pathlib import Path

    from Crypto.PublicKey import RSA

    from wechat.sandbox import OfficialAccount, OfficialSandbox, SandboxState, create_blueprint
    from wechat.sandbox import PaySandbox

    platform_key, platform_key_id = instance_sandbox_platform()
    pay = PaySandbox(allow_http_loopback_notify=True,  # the demo has no HTTPS
                     platform_private_key_pem=platform_key, platform_public_key_id=platform_key_id)
    if settings.WECHATPAY_MCHID and settings.WECHATPAY_PRIVATE_KEY_PATH:
        merchant_key = RSA.import_key(Path(settings.WECHATPAY_PRIVATE_KEY_PATH).read_text())
        pay.add_merchant(settings.WECHATPAY_MCHID, appids={settings.WECHAT_APPID},
                         merchant_serial=settings.WECHATPAY_CERT_SERIAL,
                         merchant_public_key_pem=merchant_key.public_key().export_key().decode(),
                         apiv3_key=settings.WECHATPAY_APIV3_KEY)
    apps = {settings.WECHAT_APPID: settings.WECHAT_SECRET}
    official = OfficialSandbox(unionid_apps={settings.WECHAT_APPID})
    if settings.WECHAT_OA_APPID and settings.WECHAT_OA_SECRET and settings.WECHAT_OA_TOKEN:
        # The official account pushes to our own /wechat/official, in safe mode when
        # there is an EncodingAESKey; both apps share one Open Platform (unionid).
        apps[settings.WECHAT_OA_APPID] = settings.WECHAT_OA_SECRET
        official.unionid_apps.add(settings.WECHAT_OA_APPID)
        official.add_account(OfficialAccount(
            settings.WECHAT_OA_APPID, settings.WECHAT_OA_TOKEN, settings.WECHAT_OA_AES_KEY,
            server_url=f"{settings.PUBLIC_BASE_URL}/wechat/official",
            mode="safe" if settings.WECHAT_OA_AES_KEY else "plain",
            templates={t["template_id"]: list(t.get("fields", {}))
                       for t in (settings.WECHAT_OA_ALERT_TEMPLATES or {}).values()}))
    state = SandboxState(apps=apps, pay=pay, official=official)
    app.extensions["wechat_sandbox"] = state
    app.register_blueprint(create_blueprint(state), url_prefix="/sandbox")
