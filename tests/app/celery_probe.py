"""A task for the real-worker tests only (tests/app/test_celery_rabbitmq.py), loaded into
the worker with `celery worker --include tests.app.celery_probe`.

`tihuo.test.probe` does its effect in a transaction of its own (a shopper upserted by
openid: the unique key makes a second run change nothing), then holds until the test
creates `release` in its directory (or `hold_s` passed) — the window a test kills or stops
the worker in — and notes each step in a directory, so the
test can tell which worker started it, which finished it, and how often."""
from __future__ import annotations

import os
import time
from pathlib import Path

from make_celery import celery_app


@celery_app.task(name="tihuo.test.probe")
def probe(openid: str, notes: str, hold_s: float) -> str:
    from app.db import own_transaction
    from models.users import login_with_wechat

    me = os.environ.get("PROBE_WORKER", "?")
    Path(notes, f"started-{me}-{os.getpid()}").touch()
    with own_transaction():
        login_with_wechat({"openid": openid, "session_key": "probe"})
    Path(notes, f"effect-{me}").touch()
    deadline = time.monotonic() + hold_s
    while not Path(notes, "release").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    Path(notes, f"finished-{me}").touch()
    return openid
