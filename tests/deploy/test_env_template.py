"""deploy/tihuo.env.example: every setting of app/config.py is listed, nothing else is, the
required ones are switched on, and once its blanks are filled the file is a production
configuration the app accepts."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

from app.config import MINIPROGRAM, PRODUCTION_NEEDS, WECHATPAY, Settings, new_field_key

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "tihuo.env.example"
# Not settings of app/config.py but read from the same environment (the units set them).
OTHERS = {"PROMETHEUS_MULTIPROC_DIR", "FLASK_APP"}
_LINE = re.compile(r"^(#\s)?([A-Z][A-Z0-9_]*)=(.*)$")


def _entries() -> list[tuple[bool, str, str]]:
    """(switched on, name, value) of each NAME=value line, commented out or not."""
    found = []
    for line in TEMPLATE.read_text().splitlines():
        match = _LINE.match(line)
        if match:
            value = match.group(3)
            found.append((match.group(1) is None, match.group(2), shlex.split(value)[0] if value else ""))
    return found


def test_every_setting_is_listed_once_and_nothing_unknown():
    names = [name for _, name, _ in _entries()]
    fields = set(Settings.model_fields)
    assert not (set(names) - fields - OTHERS), "names the app does not read"
    assert not (fields - set(names)), "settings of app/config.py missing from the template"
    assert len(names) == len(set(names)), "a name listed twice"


def test_what_production_needs_is_switched_on():
    on = {name for active, name, _ in _entries() if active}
    required = {"APP_ENV", *PRODUCTION_NEEDS, *MINIPROGRAM, *WECHATPAY, "WECHATPAY_NOTIFY_BASE"}
    assert required <= on
    assert ("TRUSTED_PROXY_HOPS" in on and dict((n, v) for a, n, v in _entries() if a)["TRUSTED_PROXY_HOPS"] == "1")


def test_the_filled_in_template_starts_in_production(tmp_path):
    blanks = {"SECRET_KEY": "s" * 48, "FIELD_ENCRYPTION_KEY": new_field_key(), "WECHAT_APPID": "wx1234567890abcdef",
              "WECHAT_SECRET": "secret", "WECHATPAY_MCHID": "1900000000", "WECHATPAY_CERT_SERIAL": "AB" * 20,
              "WECHATPAY_APIV3_KEY": "k" * 32}
    env = {}
    for active, name, value in _entries():
        if active:
            env[name] = value or blanks[name]
    settings = Settings(_env_file=None, **env)
    assert settings.APP_ENV == "production" and settings.TASKS_IN_PROCESS is False
    # The commented-out values are the defaults they claim to be (where one is shown).
    for active, name, value in _entries():
        default = Settings.model_fields.get(name)
        if active or default is None or not value or isinstance(default.default, (dict, set)):
            continue
        if default.default is not None and not isinstance(default.default, bool):
            assert str(default.default) == value, name
