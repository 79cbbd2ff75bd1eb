"""Start-up configuration: embedded defaults, production refusals, the WeChat surfaces
(each all or nothing; production needs the mini-program and WeChat Pay), `.env.example`."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.config import ROOT, ConfigError, Settings, new_field_key

# What production cannot do without: secrets, MySQL, Redis, the mini-program, WeChat Pay.
PROD_MINIMAL = dict(
    APP_ENV="production", DATABASE_URL="mysql+pymysql://u:p@db/tihuo?charset=utf8mb4",
    REDIS_URL="redis://cache:6379/0", SECRET_KEY="s" * 40, FIELD_ENCRYPTION_KEY=new_field_key(),
    WECHAT_APPID="wxabc", WECHAT_SECRET="sec", WECHATPAY_MCHID="1900000109",
    WECHATPAY_CERT_SERIAL="5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
    WECHATPAY_PRIVATE_KEY_PATH="/etc/tihuo/apiclient_key.pem",
    WECHATPAY_APIV3_KEY="0123456789abcdef0123456789abcdef",
    WECHATPAY_NOTIFY_BASE="https://shop.example.com")
OFFICIAL_ACCOUNT = dict(WECHAT_OA_APPID="wxoa", WECHAT_OA_SECRET="oasec", WECHAT_OA_TOKEN="oatoken",
                        WECHAT_OA_AES_KEY="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
PROD = {**PROD_MINIMAL, **OFFICIAL_ACCOUNT}


def test_embedded_default(monkeypatch):
    for name in ("DATABASE_URL", "REDIS_URL", "WECHAT_APPID", "WECHAT_SECRET", "WECHAT_SANDBOX"):
        monkeypatch.delenv(name, raising=False)
    s = Settings(_env_file=None)
    assert s.DATABASE_URL.startswith("sqlite:///") and s.DATABASE_URL.endswith("instance/tihuo.db")
    assert s.REDIS_URL is None and s.WECHAT_SANDBOX is True
    assert s.WECHAT_API_BASE == "http://127.0.0.1:8000/sandbox"
    # The sandbox's official account, its token, EncodingAESKey and alert templates.
    assert s.WECHAT_OA_APPID and s.WECHAT_OA_TOKEN and len(s.WECHAT_OA_AES_KEY) == 43
    assert s.WECHAT_OA_ALERT_TEMPLATES["new_paid_order"]["template_id"]


def test_production_accepts_a_full_config():
    s = Settings(_env_file=None, **PROD)
    assert s.WECHAT_SANDBOX is False and s.WECHAT_API_BASE == "https://api.weixin.qq.com"


def test_production_starts_with_the_mini_program_and_wechat_pay_only():
    # No official account, no subscribe templates: staff alerts and subscribe messages
    # are simply not sent (tests/models/official: what its routes answer then).
    s = Settings(_env_file=None, **PROD_MINIMAL)
    assert s.WECHAT_OA_APPID is None and s.WECHAT_OA_ALERT_TEMPLATES is None
    assert s.SUBSCRIBE_TEMPLATES is None and s.WECHAT_SANDBOX is False


@pytest.mark.parametrize("missing", ["DATABASE_URL", "REDIS_URL", "SECRET_KEY",
                                     "FIELD_ENCRYPTION_KEY", "WECHAT_APPID", "WECHAT_SECRET",
                                     "WECHATPAY_MCHID", "WECHATPAY_CERT_SERIAL",
                                     "WECHATPAY_PRIVATE_KEY_PATH", "WECHATPAY_APIV3_KEY",
                                     "WECHATPAY_NOTIFY_BASE"])
def test_production_refuses_missing(missing, monkeypatch):
    monkeypatch.delenv(missing, raising=False)
    with pytest.raises(ConfigError, match=missing):
        Settings(_env_file=None, **{**PROD, missing: None})


def test_production_without_any_wechat_pay_says_why_it_is_needed():
    pay = [name for name in PROD_MINIMAL if name.startswith("WECHATPAY_")]
    with pytest.raises(ConfigError, match="WeChat Pay") as refused:
        Settings(_env_file=None, **{**PROD_MINIMAL, **dict.fromkeys(pay)})
    assert all(name in str(refused.value) for name in pay)


# A surface given in part: (the variables given, one that is missing, the surface's name).
PARTIAL = [
    (dict(WECHAT_OA_APPID="wxoa"), "WECHAT_OA_SECRET", "official account"),
    (dict(WECHAT_OA_APPID="wxoa", WECHAT_OA_SECRET="oasec"), "WECHAT_OA_TOKEN", "official account"),
    (dict(WECHAT_OA_SECRET="oasec", WECHAT_OA_TOKEN="oatoken"), "WECHAT_OA_APPID", "official account"),
    (dict(WECHAT_OA_ALERT_TEMPLATES={"new_paid_order": {"template_id": "T", "fields": {}}}),
     "WECHAT_OA_APPID", "WECHAT_OA_ALERT_TEMPLATES"),
    (dict(WECHATPAY_PUBLIC_KEY_PATH="/etc/tihuo/pub_key.pem"), "WECHATPAY_PUBLIC_KEY_ID", "public key"),
    (dict(WECHATPAY_PUBLIC_KEY_ID="PUB_KEY_ID_0114"), "WECHATPAY_PUBLIC_KEY_PATH", "public key"),
]


@pytest.mark.parametrize("given, missing, surface", PARTIAL)
def test_production_refuses_a_surface_given_in_part(given, missing, surface):
    with pytest.raises(ConfigError, match=surface) as refused:
        Settings(_env_file=None, **{**PROD_MINIMAL, **given})
    assert missing in str(refused.value)


@pytest.mark.parametrize("given, missing, surface", PARTIAL + [
    (dict(WECHATPAY_MCHID="1900000109"), "WECHATPAY_APIV3_KEY", "WeChat Pay"),
    (dict(WECHATPAY_APIV3_KEY="0123456789abcdef0123456789abcdef"), "WECHATPAY_MCHID", "WeChat Pay"),
    (dict(WECHAT_APPID="wxabc"), "WECHAT_SECRET", "mini-program"),
])
def test_development_refuses_a_surface_given_in_part_too(given, missing, surface):
    # Without the sandbox nothing fills the rest in: a half-configured surface would fail
    # at its first call instead of at start-up.
    with pytest.raises(ConfigError, match=surface) as refused:
        Settings(_env_file=None, WECHAT_SANDBOX=False, **given)
    assert missing in str(refused.value)


def test_production_official_account_needs_safe_mode():
    with pytest.raises(ConfigError, match="WECHAT_OA_AES_KEY"):
        Settings(_env_file=None, **{**PROD, "WECHAT_OA_AES_KEY": None})


def test_env_example_reads_cleanly_and_names_only_real_settings(tmp_path, monkeypatch):
    from models.notifications import templates

    example = (ROOT / ".env.example").read_text()
    for name in re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", example, re.M):
        assert name in Settings.model_fields, f".env.example names {name}, which is no setting"
    monkeypatch.chdir(tmp_path)  # `.env` is read from the working directory
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)

    def switched_on(upto: str) -> str:  # as its header says: remove "# " before NAME=
        head, rest = example[:example.index(upto)], example[example.index(upto):]
        return re.sub(r"^# ([A-Z][A-Z0-9_]+=)", r"\1", head, flags=re.M) + rest

    Path(".env").write_text(example)
    assert Settings().APP_ENV == "development"  # copied as it is: the embedded default
    # The production sections switched on and their blanks (the secrets) filled in.
    secrets = dict(SECRET_KEY="k" * 40, FIELD_ENCRYPTION_KEY=new_field_key(),
                   WECHAT_SECRET="mini-program-secret", WECHATPAY_APIV3_KEY="0" * 32)
    Path(".env").write_text(switched_on("# --- Optional"))
    with pytest.raises(ConfigError, match="SECRET"):  # a blank is unset, never "": refused
        Settings()
    s = Settings(**secrets)
    assert s.APP_ENV == "production" and s.WECHATPAY_MCHID and s.WECHAT_OA_APPID is None
    # The optional sections too: their examples are valid as written.
    Path(".env").write_text(switched_on("# --- Development only"))
    s = Settings(**secrets, **OFFICIAL_ACCOUNT)
    assert s.WECHAT_OA_ALERT_TEMPLATES["new_paid_order"]["template_id"]
    assert templates.load(s.model_dump()["SUBSCRIBE_TEMPLATES"], "production")["order_paid"]


def test_production_refuses_sqlite_and_sandbox():
    with pytest.raises(ConfigError, match="MySQL"):
        Settings(_env_file=None, **{**PROD, "DATABASE_URL": "sqlite:///x.db"})
    with pytest.raises(ConfigError, match="sandbox"):
        Settings(_env_file=None, **{**PROD, "WECHAT_SANDBOX": True})


def test_production_notify_base_must_be_https():
    with pytest.raises(ConfigError, match="https"):
        Settings(_env_file=None, **{**PROD, "WECHATPAY_NOTIFY_BASE": "http://shop.example.com"})


def test_field_key_must_be_32_bytes():
    with pytest.raises(ConfigError, match="32 bytes"):
        Settings(_env_file=None, FIELD_ENCRYPTION_KEY="c2hvcnQ=")


@pytest.mark.parametrize("key", ["short", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEF!",
                                 "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH"])
def test_oa_aes_key_must_be_an_encoding_aes_key(key):
    with pytest.raises(ConfigError, match="WECHAT_OA_AES_KEY"):
        Settings(_env_file=None, **{**PROD, "WECHAT_OA_AES_KEY": key})


def test_production_app_starts_without_an_official_account(tmp_path):
    from app import create_app
    from wechat.pay import generate_rsa_keypair

    key = tmp_path / "apiclient_key.pem"
    key.write_text(generate_rsa_keypair()[0])
    app = create_app(Settings(_env_file=None, **{**PROD_MINIMAL, "WECHATPAY_PRIVATE_KEY_PATH": str(key),
                                                 "LOG_LEVEL": "WARNING"}))
    assert "wechatpay" in app.extensions and "wechat_sandbox" not in app.extensions
    assert "official" not in app.extensions and "official_crypto" not in app.extensions
    resp = app.test_client().get("/wechat/official?signature=x&timestamp=1&nonce=n&echostr=e")
    assert resp.status_code == 404 and "official account" in resp.json["error"]["message"]


# --- Redis Cluster (REDIS_URL=redis+cluster://...) -----------------------------------------

def test_a_redis_cluster_url_names_its_seed_nodes():
    from app.config import redis_cluster_nodes

    assert redis_cluster_nodes("redis://cache:6379/0") is None
    assert redis_cluster_nodes("redis+cluster://10.0.0.1:7000,10.0.0.2:7001") == (
        "redis://10.0.0.1:7000", [("10.0.0.1", 7000), ("10.0.0.2", 7001)])
    # Credentials and options travel on the first node's URL (redis-py applies them to all).
    assert redis_cluster_nodes("rediss+cluster://app:pw@[::1]:7000,h2:7001/0?ssl_cert_reqs=none") == (
        "rediss://app:pw@[::1]:7000?ssl_cert_reqs=none", [("[::1]", 7000), ("h2", 7001)])


@pytest.mark.parametrize("url, error", [
    ("redis+cluster://h1:7000/3", "db 0 only"),
    ("redis+cluster://h1", "host:port"),
    ("redis+cluster:///", "names no node"),
])
def test_a_redis_cluster_url_that_cannot_work_is_refused(url, error):
    with pytest.raises(ConfigError, match=error):
        Settings(_env_file=None, REDIS_URL=url)


def test_celery_cannot_use_a_redis_cluster_as_its_broker():
    cluster = "redis+cluster://cache1:7000,cache2:7000"
    with pytest.raises(ConfigError, match="CELERY_BROKER_URL"):
        Settings(_env_file=None, **{**PROD, "REDIS_URL": cluster})
    with pytest.raises(ConfigError, match="broker"):
        Settings(_env_file=None, CELERY_BROKER_URL=cluster)
    s = Settings(_env_file=None, **{**PROD, "REDIS_URL": cluster,
                                    "CELERY_BROKER_URL": "amqp://tihuo:pw@mq:5672/tihuo"})
    assert s.redis_cluster and s.CELERY_BROKER_URL.startswith("amqp://")
