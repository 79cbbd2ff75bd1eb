"""Start-up configuration: embedded defaults, production refusals."""
from __future__ import annotations

import pytest

from app.config import ConfigError, Settings, new_field_key

PROD = dict(APP_ENV="production", DATABASE_URL="mysql+pymysql://u:p@db/tihuo?charset=utf8mb4",
            REDIS_URL="redis://cache:6379/0", SECRET_KEY="s" * 40, FIELD_ENCRYPTION_KEY=new_field_key(),
            WECHAT_APPID="wxabc", WECHAT_SECRET="sec", WECHATPAY_MCHID="1900000109",
            WECHATPAY_CERT_SERIAL="5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
            WECHATPAY_PRIVATE_KEY_PATH="/etc/tihuo/apiclient_key.pem",
            WECHATPAY_APIV3_KEY="0123456789abcdef0123456789abcdef",
            WECHATPAY_NOTIFY_BASE="https://shop.example.com",
            WECHAT_OA_APPID="wxoa", WECHAT_OA_SECRET="oasec", WECHAT_OA_TOKEN="oatoken",
            WECHAT_OA_AES_KEY="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")


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


@pytest.mark.parametrize("missing", ["DATABASE_URL", "REDIS_URL", "SECRET_KEY",
                                     "FIELD_ENCRYPTION_KEY", "WECHAT_APPID", "WECHAT_SECRET",
                                     "WECHATPAY_MCHID", "WECHATPAY_PRIVATE_KEY_PATH",
                                     "WECHATPAY_APIV3_KEY", "WECHATPAY_NOTIFY_BASE",
                                     "WECHAT_OA_APPID", "WECHAT_OA_SECRET", "WECHAT_OA_TOKEN",
                                     "WECHAT_OA_AES_KEY"])
def test_production_refuses_missing(missing, monkeypatch):
    monkeypatch.delenv(missing, raising=False)
    with pytest.raises(ConfigError, match=missing):
        Settings(_env_file=None, **{**PROD, missing: None})


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
