"""The sandbox as a Flask blueprint (`create_blueprint`) or a Flask app of its own
(`create_app`), and the demo app they default to. Exported by the package; `server.py`
and `__main__.py` import it from here."""
from __future__ import annotations

from flask import Blueprint, Flask

from wechat.sandbox.kuaidi100 import views as kuaidi100_views
from wechat.sandbox.miniprogram import auth, logistics, messages, wxa
from wechat.sandbox.miniprogram import inspect as miniprogram_inspect
from wechat.sandbox.official import views as official_views
from wechat.sandbox.pay import inspect as pay_inspect
from wechat.sandbox.pay import views as pay_views
from wechat.sandbox.state import SandboxState

DEMO_APPID = "wx5a9d0c3e1f2b4d68"
DEMO_SECRET = "sandbox0secret0not0for0production"


def create_blueprint(state: SandboxState, name: str = "wechat_sandbox") -> Blueprint:
    bp = Blueprint(name, __name__)
    for views in (auth, messages, official_views, wxa, logistics, miniprogram_inspect, pay_views,
                  pay_inspect, kuaidi100_views):
        views.register(bp, state)
    return bp


def create_app(state: SandboxState | None = None) -> Flask:
    """The sandbox alone, at the root path. `app.extensions["wechat_sandbox"]` is its state."""
    state = state or SandboxState(apps={DEMO_APPID: DEMO_SECRET})
    app = Flask(__name__)
    app.register_blueprint(create_blueprint(state))
    app.extensions["wechat_sandbox"] = state
    return app
