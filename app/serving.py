"""gunicorn hooks (gunicorn.conf.py, scripts/gunicorn_dev.py): the server's side of the
configuration checks, for what only the server knows — how many worker processes there are.

The in-process WeChat sandbox (WECHAT_SANDBOX=1, mounted at /sandbox) and the in-process
Redis (no REDIS_URL) keep their state in the process that made them. With several
workers each has its own: a login code issued by one worker's sandbox is unknown to the
next worker's, a session stored in one worker's Redis is missing in the other's, and half
the requests fail. So gunicorn refuses to start them with more than one worker; threads
(`--threads`) share the process and are fine.
"""
from __future__ import annotations

from app.config import ConfigError, Settings

STANDALONE = ("run one worker (--workers 1, more --threads), or run the sandbox standalone "
              "(python -m wechat.sandbox) with WECHAT_SANDBOX=0 and WECHAT_API_BASE / "
              "WECHATPAY_API_BASE pointing at it: README.md, \"The sandbox beside several workers\"")


def check_workers(settings: Settings, workers: int) -> None:
    if workers <= 1:
        return
    if settings.WECHAT_SANDBOX:
        raise ConfigError(f"the in-process WeChat sandbox (WECHAT_SANDBOX=1) keeps its state in one "
                          f"process and cannot serve {workers} workers: {STANDALONE}")
    if settings.uses_embedded_redis:
        raise ConfigError(f"the in-process Redis (no REDIS_URL) keeps sessions in one process and "
                          f"cannot serve {workers} workers: set REDIS_URL, or run one worker")


def on_starting(server) -> None:
    """gunicorn, in the master before any worker: a ConfigError (a RuntimeError) makes
    gunicorn print "Error: ..." and exit 1."""
    try:
        settings = Settings()
    except Exception:  # noqa: BLE001 - the workers' own start-up reports a bad configuration
        return
    check_workers(settings, server.cfg.workers)
