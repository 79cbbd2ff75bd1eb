"""A local imitation of WeChat's mini-program and official-account servers and of
WeChat Pay APIv3 (api.mch.weixin.qq.com), speaking the real protocols.

Mount `create_blueprint(state)` anywhere (the app uses url_prefix="/sandbox"), or run
it alone: `create_app()`, `server.start_sandbox_server()`, `python -m wechat.sandbox`.

The parts, by the counterpart they imitate (README.md has the endpoints):
- `state.py` the shared core (apps, tokens, codes, records; holds `.pay`, `.official`),
  `errors.py`, `identity.py` (openids, unionids), `common.py`, `failures.py`;
- `miniprogram/` api.weixin.qq.com for the mini-program, and the `_/` endpoints;
- `official/` the official account: its API, followers, QR codes, pushes to its server;
- `pay/` WeChat Pay APIv3 and the `_/pay/` endpoints;
- `app.py` the blueprint and app, `server.py` a background server, `__main__.py` the CLI.
This module only re-exports; nothing in the package imports it.
"""
from __future__ import annotations

from wechat.sandbox.app import DEMO_APPID, DEMO_SECRET, create_app, create_blueprint
from wechat.sandbox.errors import SandboxError
from wechat.sandbox.identity import openid_for, unionid_for
from wechat.sandbox.official.state import OfficialAccount, OfficialSandbox
from wechat.sandbox.pay.models import Merchant, PayError
from wechat.sandbox.pay.state import PaySandbox
from wechat.sandbox.state import SandboxState

__all__ = ["SandboxState", "SandboxError", "create_app", "create_blueprint", "openid_for",
           "DEMO_APPID", "DEMO_SECRET", "PaySandbox", "Merchant", "PayError",
           "OfficialAccount", "OfficialSandbox", "unionid_for"]
