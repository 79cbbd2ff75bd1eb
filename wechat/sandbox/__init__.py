"""A local imitation of WeChat's mini-program and official-account servers and of
WeChat Pay APIv3 (api.mch.weixin.qq.com), speaking the real protocols.

Mount `create_blueprint(state)` anywhere (the app uses url_prefix="/sandbox"), or run
it alone: `create_app()`, `server.start_sandbox_server()`, `python -m wechat.sandbox`.
"""
from __future__ import annotations

from flask import Blueprint, Flask

from wechat.sandbox import (views_auth, views_inspect, views_messages, views_official,
                            views_pay, views_pay_inspect, views_wxa)
from wechat.sandbox.official_state import OfficialAccount, OfficialSandbox, unionid_for
from wechat.sandbox.pay_models import Merchant, PayError
from wechat.sandbox.pay_state import PaySandbox
from wechat.sandbox.state import SandboxError, SandboxState, openid_for

DEMO_APPID = "wx5a9d0c3e1f2b4d68"
DEMO_SECRET = "sandbox0secret0not0for0production"

__all__ = ["SandboxState", "SandboxError", "create_app", "create_blueprint", "openid_for",
           "DEMO_APPID", "DEMO_SECRET", "PaySandbox", "Merchant", "PayError",
           "OfficialAccount", "OfficialSandbox", "unionid_for"]


def create_blueprint(state: SandboxState, name: str = "wechat_sandbox") -> Blueprint:
    bp = Blueprint(name, __name__)
    for views in (views_auth, views_messages, views_official, views_wxa, views_inspect,
                  views_pay, views_pay_inspect):
        views.register(bp, state)
    return bp


def create_app(state: SandboxState | None = None) -> Flask:
    """The sandbox alone, at the root path. `app.extensions["wechat_sandbox"]` is its state."""
    state = state or SandboxState(apps={DEMO_APPID: DEMO_SECRET})
    app = Flask(__name__)
    app.register_blueprint(create_blueprint(state))
    app.extensions["wechat_sandbox"] = state
    return app
