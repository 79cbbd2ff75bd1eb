"""Configuration: one validated object built from the environment (and `.env`).

Nothing here connects to anything; `create_app` reads a `Settings` and wires the
extensions. Production refuses to start on the embedded defaults.
"""
from __future__ import annotations

import base64
import secrets
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = ROOT / "instance"

# Sandbox credentials: what the embedded default uses when no WeChat app is configured.
SANDBOX_APPID = "wx5a4db0ce1d0e1a00"
SANDBOX_SECRET = "sandbox-secret-not-for-production"
SANDBOX_MCHID = "1900000109"
# The sandbox's 快递100 account (wechat/sandbox/kuaidi100.py accepts it).
SANDBOX_KUAIDI100_KEY = "sandboxKuaidi100Key"
SANDBOX_KUAIDI100_CUSTOMER = "SANDBOXCUSTOMER0000000000000000"
# The sandbox's official account (公众号): server-URL token and EncodingAESKey (43 chars).
SANDBOX_OA_APPID = "wx5a4db0ce1d0e1b00"
SANDBOX_OA_SECRET = "sandbox-oa-secret-not-for-production"
SANDBOX_OA_TOKEN = "sandboxOfficialToken"
SANDBOX_OA_AES_KEY = "c2FuZGJveC1vZmZpY2lhbC1hY2NvdW50LWFlcy1rZXk"
# Staff alert templates of the sandbox: event → template id, keyword → value name
# (models.official.alert_render lists the value names of each event).
SANDBOX_OA_ALERT_TEMPLATES = {
    "new_paid_order": {"template_id": "OA_TPL_NEW_ORDER", "fields": {
        "character_string1": "order_no", "thing2": "store", "amount3": "amount", "time4": "time"}},
    "pickup_locked": {"template_id": "OA_TPL_PICKUP_LOCKED", "fields": {
        "character_string1": "order_no", "thing2": "store", "thing3": "reason", "time4": "time"}},
    "stock_level": {"template_id": "OA_TPL_STOCK_LEVEL", "fields": {
        "thing1": "item", "thing2": "store", "phrase3": "level", "number4": "available",
        "time5": "time"}},
    "payment_case": {"template_id": "OA_TPL_PAYMENT_CASE", "fields": {
        "thing1": "case", "character_string2": "order_no", "amount3": "amount", "time4": "time"}},
    "reconciliation_differences": {"template_id": "OA_TPL_RECONCILIATION", "fields": {
        "date1": "bill_date", "number2": "count", "thing3": "title", "time4": "time"}},
    "shipping_upload_failed": {"template_id": "OA_TPL_SHIPPING_FAILED", "fields": {
        "character_string1": "order_no", "thing2": "store", "thing3": "reason", "time4": "time"}},
    "parcel_exception": {"template_id": "OA_TPL_PARCEL_EXCEPTION", "fields": {
        "character_string1": "order_no", "thing2": "store", "thing3": "reason", "time4": "time"}},
    "bottleneck": {"template_id": "OA_TPL_BOTTLENECK", "fields": {
        "thing1": "title", "thing2": "store", "thing3": "reason", "date4": "day"}},
    "aftersale_requested": {"template_id": "OA_TPL_AFTERSALE", "fields": {
        "character_string1": "after_sale_no", "thing2": "store", "thing3": "reason", "time4": "time"}},
    "aftersale_escalated": {"template_id": "OA_TPL_AFTERSALE", "fields": {
        "character_string1": "after_sale_no", "thing2": "store", "thing3": "reason", "time4": "time"}},
    "aftersale_due": {"template_id": "OA_TPL_AFTERSALE", "fields": {
        "character_string1": "after_sale_no", "thing2": "store", "thing3": "reason", "time4": "time"}},
}


class ConfigError(RuntimeError):
    """The configuration cannot run (raised at start-up, never per request)."""


# The WeChat surfaces: the variables each needs, all of them or none (a surface given in
# part is refused everywhere: it would fail only at its first call). Production needs the
# mini-program and WeChat Pay (every order is paid through it); the official account
# (staff alerts, /wechat/official) and subscribe templates are optional: without them
# those messages are not sent. README.md, "WeChat surfaces", says the same for people.
MINIPROGRAM = ("WECHAT_APPID", "WECHAT_SECRET")
WECHATPAY = ("WECHATPAY_MCHID", "WECHATPAY_CERT_SERIAL", "WECHATPAY_PRIVATE_KEY_PATH",
             "WECHATPAY_APIV3_KEY")
WECHATPAY_PUBLIC_KEY = ("WECHATPAY_PUBLIC_KEY_PATH", "WECHATPAY_PUBLIC_KEY_ID")  # public-key mode
# Production also needs WECHAT_OA_AES_KEY (safe mode: pushes are encrypted); development
# may run the server URL in plain mode.
OFFICIAL_ACCOUNT = ("WECHAT_OA_APPID", "WECHAT_OA_SECRET", "WECHAT_OA_TOKEN")
PRODUCTION_NEEDS = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "FIELD_ENCRYPTION_KEY", *MINIPROGRAM)


class SubscribeTemplate(BaseModel):
    """One event's mini-program subscribe template: which keyword shows which field."""

    model_config = ConfigDict(extra="forbid")

    template_id: str = Field(min_length=1, max_length=64)
    # In-app page, `{order_no}` is filled in, e.g. "pages/order/detail?order_no={order_no}".
    page: str | None = Field(default=None, max_length=128)
    data: dict[str, str] = Field(min_length=1, max_length=20)


class Settings(BaseSettings):
    # `NAME=` with nothing after it (a blank in .env.example) means unset, not "".
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=True,
                                      env_ignore_empty=True)

    APP_ENV: Literal["development", "production", "test"] = "development"
    DATABASE_URL: str | None = None
    # A read replica for the reports (models/analytics/reports.py); without it they read
    # the main database. Writes, and the rollup job's reads, always use DATABASE_URL.
    ANALYTICS_DATABASE_URL: str | None = None
    # One Redis server: redis://[user:password@]host:port/db (rediss:// with TLS). A Redis
    # Cluster: redis+cluster://[user:password@]host:port[,host:port...] (rediss+cluster://
    # with TLS) — seed nodes the client learns the slot map from (one is enough; list a few
    # so that a node that is down is skipped), no db (a cluster has db 0 only). Keys used
    # together share a slot by their hash tag, so the same code runs on both
    # (docs/architecture.md, "Redis keys and slots"). Celery cannot use a cluster as its
    # broker: CELERY_BROKER_URL is required with one.
    REDIS_URL: str | None = None
    # Per server: with a cluster, each node gets a pool of this size.
    REDIS_MAX_CONNECTIONS: int = Field(default=64, ge=4, le=10_000)
    # --- A hung database or Redis (issue 17, item 9): how long to wait before giving up.
    # A request that gives up answers 503 `unavailable` and the connection is discarded,
    # so the service recovers by itself. Reads of a web request stop after
    # DATABASE_READ_TIMEOUT_S; background work (Celery tasks, CLI commands and migrations,
    # work run after a response: anything outside a request) after
    # DATABASE_JOB_READ_TIMEOUT_S, since the reconciliation, the ledger check or an ALTER
    # TABLE may wait longer for a first row than any request should. A read timeout is per
    # socket read (the time to the next bytes), not per statement.
    DATABASE_CONNECT_TIMEOUT_S: float = Field(default=5.0, gt=0, le=60)  # TCP and handshake
    DATABASE_READ_TIMEOUT_S: float = Field(default=10.0, gt=0, le=3600)
    DATABASE_WRITE_TIMEOUT_S: float = Field(default=10.0, gt=0, le=3600)
    DATABASE_JOB_READ_TIMEOUT_S: float = Field(default=3600.0, gt=0, le=86_400)
    # How long a request waits for a free pooled connection (database or Redis).
    POOL_TIMEOUT_S: float = Field(default=5.0, gt=0, le=60)
    # Redis: connecting, and waiting for any reply (also the Celery broker's, at least 2 s).
    REDIS_TIMEOUT_S: float = Field(default=3.0, gt=0, le=60)
    # Each of /readyz's probes (database, Redis) gives up after this long.
    READY_TIMEOUT_S: float = Field(default=1.0, gt=0, le=10)
    SECRET_KEY: str | None = None
    # 32 bytes, base64 (urlsafe or standard). Derives the AES-256-GCM key and the lookup-hash key.
    FIELD_ENCRYPTION_KEY: str | None = None
    # During a key rotation only (docs/operations.md, "Key rotation"): the key being
    # replaced. Values it encrypted still decrypt and lookups still find rows it hashed
    # until `flask keys rotate-fields` has redone them with FIELD_ENCRYPTION_KEY.
    FIELD_ENCRYPTION_KEY_PREVIOUS: str | None = None

    WECHAT_APPID: str | None = None
    WECHAT_SECRET: str | None = None
    WECHAT_API_BASE: str = "https://api.weixin.qq.com"
    WECHAT_SANDBOX: bool | None = None
    WECHAT_TIMEOUT_S: float = 5.0
    # Official account (公众号): staff alerts and the /wechat/official server URL. Its API
    # base is WECHAT_API_BASE (the same host as the mini-program's).
    WECHAT_OA_APPID: str | None = None
    WECHAT_OA_SECRET: str | None = None
    WECHAT_OA_TOKEN: str | None = None
    WECHAT_OA_AES_KEY: str | None = None  # EncodingAESKey (43 chars): safe mode
    # {event: {"template_id", "fields": {keyword: value name}, "page"?}}; an event
    # without an entry is not sent. JSON in the environment.
    WECHAT_OA_ALERT_TEMPLATES: dict[str, dict] | None = None
    # Staff binding QR codes (and their one-time tokens) expire after this long.
    WECHAT_OA_BINDING_TTL_S: int = Field(default=600, ge=60, le=2_592_000)
    # Where the in-process sandbox is reachable by this service's own clients.
    PUBLIC_BASE_URL: str = "http://127.0.0.1:8000"

    SESSION_TTL_S: int = Field(default=7 * 24 * 3600, ge=60)
    STAFF_SESSION_TTL_S: int = Field(default=12 * 3600, ge=60)
    STAFF_LOGIN_MAX_ATTEMPTS: int = Field(default=5, ge=1)
    STAFF_LOGIN_WINDOW_S: int = Field(default=15 * 60, ge=1)
    # WeChat Pay (APIv3, direct merchant). Public-key mode when WECHATPAY_PUBLIC_KEY_* are set,
    # platform-certificate mode otherwise.
    WECHATPAY_MCHID: str | None = None
    WECHATPAY_CERT_SERIAL: str | None = None
    WECHATPAY_PRIVATE_KEY_PATH: str | None = None
    WECHATPAY_APIV3_KEY: str | None = None
    WECHATPAY_PUBLIC_KEY_PATH: str | None = None
    WECHATPAY_PUBLIC_KEY_ID: str | None = None
    WECHATPAY_API_BASE: str = "https://api.mch.weixin.qq.com"
    WECHATPAY_NOTIFY_BASE: str | None = None
    # Orders with a prepay but no notify after this long are asked about at WeChat Pay.
    PAYMENT_QUERY_AFTER_S: int = Field(default=3 * 60, ge=10)
    # Partial refunds of one payment are sent to WeChat Pay at least this far apart (it
    # asks for them spaced; the exact interval is UNCONFIRMED): a refund too soon after
    # another waits pending, and the refunds job sends it on a later pass.
    REFUND_SPACING_S: int = Field(default=60, ge=0, le=3600)

    ORDER_PAY_TIMEOUT_S: int = Field(default=15 * 60, ge=60, le=24 * 3600)
    # Points at checkout: POINTS_PER_YUAN points take ¥1 off, in whole units of POINTS_UNIT,
    # at most POINTS_MAX_SHARE_PERCENT % of what is left to pay after a coupon. Earning:
    # POINTS_EARN_PER_YUAN per yuan paid for a completed order, spendable once its
    # after-sale window (POINTS_HOLD_DAYS after completion) has passed.
    POINTS_PER_YUAN: int = Field(default=100, ge=1, le=100_000)
    POINTS_UNIT: int = Field(default=100, ge=1, le=100_000)
    POINTS_MAX_SHARE_PERCENT: int = Field(default=50, ge=0, le=100)
    POINTS_EARN_PER_YUAN: int = Field(default=1, ge=0, le=1000)
    POINTS_HOLD_DAYS: int = Field(default=7, ge=0, le=90)
    # Visit streaks (a check-in or a pickup marks a China-calendar day): every STREAK_DAYS-th
    # day in a row grants priority pickup for STREAK_PRIORITY_DAYS (0: none) and
    # STREAK_POINTS points (0: none). A week before points expire the shopper is reminded.
    STREAK_DAYS: int = Field(default=7, ge=2, le=365)
    STREAK_PRIORITY_DAYS: int = Field(default=7, ge=0, le=365)
    STREAK_POINTS: int = Field(default=0, ge=0, le=1_000_000)
    POINTS_REMIND_DAYS: int = Field(default=7, ge=1, le=60)
    # Pickup cards. Passwords are 16 random digits (~53 bits), stored as PBKDF2-HMAC-SHA256
    # with a per-card salt; each hash records its own iteration count, so raising this
    # later applies to new batches without breaking old cards. Random 53-bit secrets don't
    # need the 600k iterations advised for passwords people choose: at 20k, trying every
    # password of one card from a stolen dump costs ~2^53 x 20k hashes (centuries of GPU),
    # while a 2000-card export still hashes in seconds (in a background job).
    CARD_PASSWORD_ITERATIONS: int = Field(default=20_000, ge=1, le=10_000_000)
    CARD_LOCK_AFTER_FAILURES: int = Field(default=3, ge=1, le=20)
    CARD_REDEEM_MAX_FAILURES: int = Field(default=5, ge=1)          # per shopper per window
    CARD_REDEEM_MAX_FAILURES_PER_IP: int = Field(default=20, ge=1)  # per address per window
    CARD_REDEEM_WINDOW_S: int = Field(default=3600, ge=1)
    # The export (a background job) hashes every password of a batch: this bounds its time.
    CARD_BATCH_MAX_CARDS: int = Field(default=2000, ge=1, le=99_999)
    # How long an export's result (the passwords, encrypted) waits for its admin to
    # download it and confirm receipt; then it is destroyed.
    CARD_EXPORT_TTL_S: int = Field(default=24 * 3600, ge=60, le=30 * 24 * 3600)
    DELIVERY_AUTO_CONFIRM_DAYS: int = Field(default=7, ge=1, le=60)
    # Exports (models/exports): at most this many rows are answered straight away by the
    # GET of a kind (streamed); more need a background export. Its file (encrypted) is
    # kept this long for the staff member who started it, then deleted; each member may
    # have this many exports queued or running at once.
    EXPORT_STREAM_MAX_ROWS: int = Field(default=10_000, ge=1, le=100_000)
    EXPORT_TTL_S: int = Field(default=24 * 3600, ge=60, le=30 * 24 * 3600)
    EXPORT_MAX_ACTIVE: int = Field(default=3, ge=1, le=20)

    # Background work. A Celery worker (and one beat) runs it when CELERY_BROKER_URL is set,
    # and always in production (broker: REDIS_URL unless set); otherwise tasks run in the
    # web process after the response (the embedded default needs nothing else).
    # The broker: redis://host:port/db, or RabbitMQ: amqp://user:password@host:5672/vhost
    # (amqps:// with TLS; docs/architecture.md, "Broker").
    CELERY_BROKER_URL: str | None = None
    # The queue tasks are sent to and workers consume: deployments (or test runs) sharing a
    # broker keep apart by name.
    CELERY_QUEUE: str = Field(default="celery", min_length=1, max_length=200, pattern=r"^[\w.:-]+$")
    TASKS_IN_PROCESS: bool | None = None
    CELERY_BEAT_SCHEDULE_FILE: str | None = None
    # Outbox delivery: retries back off base·2^(n−1) up to the cap; after MAX_ATTEMPTS the
    # row is failed and kept for staff. A claimed row is another worker's after LEASE_S.
    OUTBOX_MAX_ATTEMPTS: int = Field(default=8, ge=1, le=50)
    OUTBOX_BACKOFF_BASE_S: int = Field(default=30, ge=1)
    OUTBOX_BACKOFF_CAP_S: int = Field(default=3600, ge=1)
    OUTBOX_LEASE_S: int = Field(default=300, ge=30)
    OUTBOX_SWEEP_S: int = Field(default=30, ge=5)
    AUDIT_RETENTION_DAYS: int = Field(default=180, ge=1)
    # Partner API (models/partners): OAuth2 client-credentials tokens live this long; each
    # client's token bucket holds PARTNER_RATE_BURST calls and refills PARTNER_RATE_PER_S a
    # second (a bulk call costs more: models/partners/limits.py).
    PARTNER_TOKEN_TTL_S: int = Field(default=3600, ge=1, le=86400)
    PARTNER_RATE_PER_S: float = Field(default=20.0, gt=0)
    PARTNER_RATE_BURST: int = Field(default=100, ge=1)
    # The change feeds leave events this young for the next call (models/partners/orders.py).
    PARTNER_FEED_SETTLE_S: float = Field(default=5.0, ge=0, le=60)
    # Webhooks: one attempt's timeout; an endpoint failing this long is disabled (staff
    # alerted); http:// to a loopback address only when this flag says so (tests, demo).
    WEBHOOK_TIMEOUT_S: float = Field(default=10.0, gt=0, le=30)
    WEBHOOK_DISABLE_AFTER_S: int = Field(default=5 * 86400, ge=3600)
    WEBHOOK_ALLOW_HTTP_LOOPBACK: bool = False
    WEBHOOK_SWEEP_S: int = Field(default=30, ge=5)
    # Idempotency keys (orders, pickup verifications) kept for retries this long.
    IDEMPOTENCY_RETENTION_DAYS: int = Field(default=7, ge=1)
    # Days the hourly rollup job rebuilds (late payments and refunds reach their day).
    ANALYTICS_ROLLUP_DAYS: int = Field(default=7, ge=1, le=60)
    # The window the nightly customer scores (RFM) look back over.
    ANALYTICS_RFM_DAYS: int = Field(default=365, ge=30, le=1095)
    # Subscribe messages: {event: {"template_id", "page"?, "data": {keyword: field}}} as JSON.
    # Unset: the sandbox's templates (development), none at all in production.
    SUBSCRIBE_TEMPLATES: dict[str, SubscribeTemplate] | None = None
    SUBSCRIBE_MINIPROGRAM_STATE: Literal["developer", "trial", "formal"] = "formal"
    # Pickup (models/pickup): a ready order's code expires this long after ready_for_pickup
    # unless its store says otherwise (stores.pickup_expiry_hours); the reminder goes out
    # this many hours before the deadline.
    PICKUP_EXPIRY_HOURS: int = Field(default=48, ge=1, le=30 * 24)
    PICKUP_REMINDER_HOURS: int = Field(default=6, ge=0, le=7 * 24)
    PICKUP_MAX_EXTENSION_HOURS: int = Field(default=14 * 24, ge=1, le=90 * 24)
    # A picked-up order completes this long after the hand-over (its after-sales window).
    PICKUP_COMPLETE_AFTER_DAYS: int = Field(default=7, ge=0, le=60)
    # After-sales (models/aftersales): accepted until this many days after the order
    # completed; the merchant answers within RESPOND_HOURS (then a refund-only request of at
    # most AUTO_APPROVE_MAX_FEN is approved, the rest escalated), the shopper ships a return
    # within SHIP_DAYS (else closed), the merchant receives within RECEIVE_DAYS of the
    # carrier's "signed" (else received and refunded); reminders REMIND_HOURS before each.
    AFTERSALE_WINDOW_DAYS: int = Field(default=7, ge=0, le=365)
    AFTERSALE_RESPOND_HOURS: int = Field(default=48, ge=1, le=30 * 24)
    AFTERSALE_SHIP_DAYS: int = Field(default=7, ge=1, le=60)
    AFTERSALE_RECEIVE_DAYS: int = Field(default=7, ge=1, le=60)
    AFTERSALE_REMIND_HOURS: int = Field(default=12, ge=0, le=7 * 24)
    AFTERSALE_AUTO_APPROVE_MAX_FEN: int = Field(default=5000, ge=0)
    # Photos: stored privately here (never under static files), shown by signed URLs that
    # last PHOTO_URL_TTL_S. Unset: instance/aftersale-photos.
    AFTERSALE_PHOTO_DIR: str | None = None
    AFTERSALE_PHOTO_URL_TTL_S: int = Field(default=300, ge=10, le=24 * 3600)
    # Wrong codes against one order before its code locks for a manager's review.
    PICKUP_LOCK_AFTER: int = Field(default=3, ge=1, le=20)
    # Failed verification attempts per staff member / per device within the window.
    PICKUP_STAFF_MAX_FAILURES: int = Field(default=10, ge=1)
    PICKUP_DEVICE_MAX_FAILURES: int = Field(default=20, ge=1)
    PICKUP_FAILURE_WINDOW_S: int = Field(default=15 * 60, ge=1)
    # The clerk's verify page a mini-program code opens.
    PICKUP_WXACODE_PAGE: str = "pages/staff/verify"
    # The page an inviter's mini-program code opens; its scene is `inv=<code>` (the invitee's
    # first login sends it back as invite_code).
    INVITE_WXACODE_PAGE: str = "pages/index/index"
    # Carriers (WeChat's express_company codes) whose shipping-info upload must carry the
    # masked sender and receiver phones (`contact`): 顺丰 and 顺丰快运 (UNCONFIRMED which others).
    SHIPPING_CONTACT_CARRIERS: set[str] = {"SF", "SFKY"}
    # 快递100 (protocol doc §10): parcels are subscribed for pushes when KUAIDI100_KEY is
    # set (the sandbox's in development). KUAIDI100_CUSTOMER signs real-time queries (the
    # silent-parcel poll). KUAIDI100_SALT is the secret each parcel's push salt is derived
    # from (HMAC of the parcel's token: one leaked salt forges one parcel's pushes only);
    # unset, it is derived from FIELD_ENCRYPTION_KEY. Callbacks go to
    # KUAIDI100_CALLBACK_BASE (default WECHATPAY_NOTIFY_BASE: this service's public origin).
    KUAIDI100_KEY: str | None = None
    KUAIDI100_CUSTOMER: str | None = None
    KUAIDI100_SALT: str | None = None
    KUAIDI100_API_BASE: str = "https://poll.kuaidi100.com"
    KUAIDI100_CALLBACK_BASE: str | None = None
    # WeChat express_company code → 快递100 company code (UNCONFIRMED beyond the common
    # ones; a carrier not listed is subscribed with autoCom, 快递100 guessing it).
    KUAIDI100_CARRIERS: dict[str, str] = {
        "SF": "shunfeng", "SFKY": "shunfengkuaiyun", "YTO": "yuantong", "ZTO": "zhongtong",
        "STO": "shentong", "YD": "yunda", "EMS": "ems", "JD": "jd", "JTSD": "jtexpress",
        "DBL": "debangwuliu", "YZPY": "youzhengguonei", "BEST": "huitongkuaidi"}
    # After an `abort` push 快递100 takes a resubscription only ~30 min later (§10.2).
    KUAIDI100_RESUBSCRIBE_AFTER_S: int = Field(default=1800, ge=60, le=24 * 3600)
    # A moving parcel not heard of for this long is asked about (the real-time query);
    # one with no carrier event this long after shipping goes to the staff queue.
    PARCEL_POLL_SILENT_HOURS: int = Field(default=24, ge=1, le=30 * 24)
    PARCEL_SILENT_ALERT_HOURS: int = Field(default=48, ge=1, le=30 * 24)
    # A shipped order never signed for completes this many days after shipping (one that
    # was signed for: DELIVERY_AUTO_CONFIRM_DAYS after delivery).
    SHIPPED_AUTO_CONFIRM_DAYS: int = Field(default=15, ge=1, le=90)
    # WeChat logistics (§9.2): register outbound waybills with trace_waybill; the goods
    # card opens this page (`{order_no}` filled in).
    WECHAT_TRACE_WAYBILL: bool = True
    WECHAT_WAYBILL_DETAIL_PATH: str = "pages/order/detail?order_no={order_no}"
    # The goods card's picture (trace_waybill requires one per line; the catalog has no
    # pictures yet): a public https URL, default the console's icon on PUBLIC_BASE_URL.
    WECHAT_WAYBILL_GOODS_IMAGE: str | None = None

    # Reverse proxies in front of us that set X-Forwarded-For/-Proto (nginx: 1).
    TRUSTED_PROXY_HOPS: int = Field(default=0, ge=0, le=5)
    MAX_CONTENT_LENGTH: int = Field(default=1024 * 1024, ge=1024)
    LOG_LEVEL: str = "INFO"

    @field_validator("WECHAT_API_BASE", "PUBLIC_BASE_URL", "WECHATPAY_API_BASE", "KUAIDI100_API_BASE")
    @classmethod
    def _strip_slash(cls, v: str) -> str:
        return v.rstrip("/")

    @model_validator(mode="after")
    def _defaults_and_checks(self) -> "Settings":
        if self.WECHAT_SANDBOX is None:
            self.WECHAT_SANDBOX = not (self.WECHAT_APPID and self.WECHAT_SECRET)
        if self.APP_ENV == "production":
            self._check_surfaces()
            self._check_production()
        else:
            self._fill_development_defaults()
            self._check_surfaces()
        field_keys(self)  # validates FIELD_ENCRYPTION_KEY's (and _PREVIOUS's) shape
        self._task_defaults()
        _check_oa_aes_key(self.WECHAT_OA_AES_KEY)
        return self

    def _task_defaults(self) -> None:
        if self.TASKS_IN_PROCESS is None:
            self.TASKS_IN_PROCESS = not (self.CELERY_BROKER_URL or self.APP_ENV == "production")
        if self.APP_ENV == "production" and self.TASKS_IN_PROCESS:
            raise ConfigError("production runs background work on Celery (TASKS_IN_PROCESS=0)")
        if not self.TASKS_IN_PROCESS and not (self.CELERY_BROKER_URL or self.REDIS_URL):
            raise ConfigError("a Celery worker needs CELERY_BROKER_URL or REDIS_URL")
        if redis_cluster_nodes(self.CELERY_BROKER_URL or "") or (
                not self.TASKS_IN_PROCESS and not self.CELERY_BROKER_URL and self.redis_cluster):
            raise ConfigError("Celery cannot use a Redis Cluster as its broker (kombu speaks to one "
                              "server): set CELERY_BROKER_URL to amqp://... (RabbitMQ) or a plain redis://")
        self.CELERY_BROKER_URL = self.CELERY_BROKER_URL or (None if self.TASKS_IN_PROCESS else self.REDIS_URL)
        self.CELERY_BEAT_SCHEDULE_FILE = self.CELERY_BEAT_SCHEDULE_FILE or str(INSTANCE_DIR / "celerybeat-schedule")

    def _check_surfaces(self) -> None:
        production = self.APP_ENV == "production"
        official = OFFICIAL_ACCOUNT + (("WECHAT_OA_AES_KEY",) if production else ())
        for surface, names in (("the mini-program", MINIPROGRAM), ("WeChat Pay", WECHATPAY),
                               ("WeChat Pay's public key (public-key mode)", WECHATPAY_PUBLIC_KEY),
                               ("the official account", official)):
            given = [name for name in names if getattr(self, name)]
            if given and len(given) < len(names):
                missing = [name for name in names if name not in given]
                raise ConfigError(f"{surface} is configured in part: {', '.join(given)} without "
                                  f"{', '.join(missing)} (set all of {', '.join(names)}, or none)")
        if self.WECHAT_OA_ALERT_TEMPLATES and not self.WECHAT_OA_APPID:
            raise ConfigError("WECHAT_OA_ALERT_TEMPLATES are sent by the official account: set "
                              f"{', '.join(official)} too, or leave the templates out")

    def _check_production(self) -> None:
        missing = [name for name in PRODUCTION_NEEDS if not getattr(self, name)]
        if missing:
            raise ConfigError(f"production needs {', '.join(missing)}")
        pay = [name for name in (*WECHATPAY, "WECHATPAY_NOTIFY_BASE") if not getattr(self, name)]
        if pay:
            raise ConfigError(f"production needs WeChat Pay (every order is paid through it): "
                              f"{', '.join(pay)}")
        if not self.DATABASE_URL.startswith("mysql"):
            raise ConfigError("production needs a MySQL DATABASE_URL")
        if self.WECHAT_SANDBOX:
            raise ConfigError("production never runs with the WeChat sandbox (WECHAT_SANDBOX=1)")
        if self.WEBHOOK_ALLOW_HTTP_LOOPBACK:
            raise ConfigError("production sends webhooks over https only (WEBHOOK_ALLOW_HTTP_LOOPBACK=0)")
        if len(self.SECRET_KEY) < 32:
            raise ConfigError("SECRET_KEY must be at least 32 characters")
        if not self.WECHATPAY_NOTIFY_BASE.startswith("https://"):
            raise ConfigError("WECHATPAY_NOTIFY_BASE must be this service's public https:// origin")
        if len(self.WECHATPAY_APIV3_KEY) != 32:
            raise ConfigError("WECHATPAY_APIV3_KEY must be 32 characters")
        if self.CARD_PASSWORD_ITERATIONS < 10_000:
            raise ConfigError("CARD_PASSWORD_ITERATIONS must be at least 10000 in production")

    def _fill_development_defaults(self) -> None:
        if not self.DATABASE_URL:
            self.DATABASE_URL = f"sqlite:///{INSTANCE_DIR / 'tihuo.db'}"
        if not self.SECRET_KEY:
            self.SECRET_KEY = "dev-" + secrets.token_hex(16)
        if not self.FIELD_ENCRYPTION_KEY:
            # A stable development key so that data in instance/ stays readable across restarts.
            self.FIELD_ENCRYPTION_KEY = _instance_key()
        if self.WECHAT_SANDBOX:
            self.WECHAT_APPID = self.WECHAT_APPID or SANDBOX_APPID
            self.WECHAT_SECRET = self.WECHAT_SECRET or SANDBOX_SECRET
            if self.WECHAT_API_BASE == "https://api.weixin.qq.com":
                self.WECHAT_API_BASE = f"{self.PUBLIC_BASE_URL}/sandbox"
            if not self.WECHATPAY_MCHID:
                # The embedded demo pays through the sandbox with a merchant key made on
                # first start (kept in instance/, never committed).
                self.WECHATPAY_MCHID = SANDBOX_MCHID
                (self.WECHATPAY_CERT_SERIAL, self.WECHATPAY_PRIVATE_KEY_PATH,
                 self.WECHATPAY_APIV3_KEY) = _instance_merchant()
            if self.WECHATPAY_API_BASE == "https://api.mch.weixin.qq.com":
                self.WECHATPAY_API_BASE = f"{self.PUBLIC_BASE_URL}/sandbox"
            if not self.WECHAT_OA_APPID:
                self.WECHAT_OA_APPID, self.WECHAT_OA_SECRET = SANDBOX_OA_APPID, SANDBOX_OA_SECRET
                self.WECHAT_OA_TOKEN = self.WECHAT_OA_TOKEN or SANDBOX_OA_TOKEN
                self.WECHAT_OA_AES_KEY = self.WECHAT_OA_AES_KEY or SANDBOX_OA_AES_KEY
            if self.WECHAT_OA_ALERT_TEMPLATES is None:
                self.WECHAT_OA_ALERT_TEMPLATES = SANDBOX_OA_ALERT_TEMPLATES
        self.WECHATPAY_NOTIFY_BASE = self.WECHATPAY_NOTIFY_BASE or self.PUBLIC_BASE_URL
        if self.WECHAT_SANDBOX:
            # The sandbox imitates 快递100 too, on the same origin as WeChat's imitation.
            self.KUAIDI100_KEY = self.KUAIDI100_KEY or SANDBOX_KUAIDI100_KEY
            self.KUAIDI100_CUSTOMER = self.KUAIDI100_CUSTOMER or SANDBOX_KUAIDI100_CUSTOMER
            if self.KUAIDI100_API_BASE == "https://poll.kuaidi100.com":
                self.KUAIDI100_API_BASE = f"{self.PUBLIC_BASE_URL}/sandbox"

    @property
    def uses_embedded_redis(self) -> bool:
        return not self.REDIS_URL

    @property
    def redis_cluster(self) -> bool:
        return bool(redis_cluster_nodes(self.REDIS_URL or ""))

    @field_validator("REDIS_URL")
    @classmethod
    def _redis_url_shape(cls, url: str | None) -> str | None:
        if url:
            redis_cluster_nodes(url)  # a cluster URL that cannot be used is refused at start-up
        return url


CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


def redis_cluster_nodes(url: str) -> tuple[str, list[tuple[str, int]]] | None:
    """A Redis Cluster URL (REDIS_URL above) as (a redis:// URL of its first node carrying
    the credentials and options, [(host, port), ...] of every seed); None for any other URL."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in CLUSTER_SCHEMES:
        return None
    cred, _, hosts_part = rest.rpartition("@")
    hosts_part, _, query = hosts_part.partition("?")
    hosts_part, _, db = hosts_part.partition("/")
    if db not in ("", "0"):
        raise ConfigError(f"a Redis Cluster has db 0 only, not /{db} ({scheme}://...)")
    nodes = []
    for item in filter(None, hosts_part.split(",")):
        host, colon, port = item.rpartition(":")
        if not colon or not port.isdigit() or not host:
            raise ConfigError(f"a Redis Cluster node is host:port, not {item!r} ({scheme}://...)")
        nodes.append((host, int(port)))
    if not nodes:
        raise ConfigError(f"{scheme}:// names no node")
    first = (f"{cred}@" if cred else "") + f"{nodes[0][0]}:{nodes[0][1]}"
    return f"{CLUSTER_SCHEMES[scheme]}://{first}" + (f"?{query}" if query else ""), nodes


def field_key(settings: Settings) -> bytes:
    return _decode_field_key("FIELD_ENCRYPTION_KEY", settings.FIELD_ENCRYPTION_KEY)


def field_keys(settings: Settings) -> tuple[bytes, bytes | None]:
    """(the current key, the previous one during a rotation, else None)."""
    current = field_key(settings)
    previous = settings.FIELD_ENCRYPTION_KEY_PREVIOUS
    if previous is None:
        return current, None
    previous_key = _decode_field_key("FIELD_ENCRYPTION_KEY_PREVIOUS", previous)
    if previous_key == current:
        raise ConfigError("FIELD_ENCRYPTION_KEY_PREVIOUS is the current key: unset it, or set "
                          "FIELD_ENCRYPTION_KEY to the new one")
    return current, previous_key


def _decode_field_key(name: str, raw: str | None) -> bytes:
    raw = raw or ""
    try:
        key = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except ValueError as exc:
        raise ConfigError(f"{name} must be base64") from exc
    if len(key) != 32:
        raise ConfigError(f"{name} must decode to 32 bytes (AES-256)")
    return key


def _check_oa_aes_key(key: str | None) -> None:
    """EncodingAESKey: 43 characters, base64 of 32 bytes without its final '='."""
    if key is None:
        return
    try:
        raw = base64.b64decode(key + "=", validate=True)
    except ValueError:
        raw = b""
    if len(key) != 43 or len(raw) != 32:
        raise ConfigError("WECHAT_OA_AES_KEY must be the 43-character EncodingAESKey")


def _instance_key() -> str:
    path = INSTANCE_DIR / "field-encryption.key"
    if not path.exists():
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
        path.chmod(0o600)
    return path.read_text().strip()


def _instance_merchant() -> tuple[str, str, str]:
    """(serial, private key path, APIv3 key) of the demo merchant, made once in instance/."""
    from wechat.pay.keys import generate_rsa_keypair

    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    key_path, meta_path = INSTANCE_DIR / "wechatpay-merchant-key.pem", INSTANCE_DIR / "wechatpay-merchant.txt"
    if not key_path.exists() or not meta_path.exists():
        private_pem, _ = generate_rsa_keypair()
        key_path.write_text(private_pem)
        key_path.chmod(0o600)
        meta_path.write_text(f"{secrets.token_hex(20).upper()}\n{secrets.token_hex(16)}\n")
        meta_path.chmod(0o600)
    serial, apiv3_key = meta_path.read_text().split()
    return serial, str(key_path), apiv3_key


def instance_sandbox_platform() -> tuple[str, str]:
    """(private key PEM, public key id) of the in-process sandbox's WeChat Pay platform,
    made once in instance/: every process of the embedded default — the server and a
    `flask pay ...` command beside it — signs with and trusts the same key."""
    from wechat.pay.keys import generate_rsa_keypair
    from wechat.sandbox.pay.platform import new_public_key_id

    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    key_path, id_path = INSTANCE_DIR / "sandbox-platform-key.pem", INSTANCE_DIR / "sandbox-platform-key-id.txt"
    if not key_path.exists() or not id_path.exists():
        private_pem, _ = generate_rsa_keypair()
        key_path.write_text(private_pem)
        key_path.chmod(0o600)
        id_path.write_text(new_public_key_id() + "\n")
    return key_path.read_text(), id_path.read_text().strip()


def new_field_key() -> str:
    """A fresh FIELD_ENCRYPTION_KEY value (printed by `flask keys generate`)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
