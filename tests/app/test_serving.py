"""Several gunicorn workers never run around state kept in one process: the in-process
WeChat sandbox (its codes, tokens, payments) or the in-process Redis (sessions). With two
workers half the logins used a code the other worker's sandbox never issued; now
gunicorn refuses to start (gunicorn.conf.py, and scripts/dev's config)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import ROOT, ConfigError, Settings, new_field_key
from app.serving import check_workers

GUNICORN = str(Path(sys.executable).parent / "gunicorn")


def dev(**kw) -> Settings:
    return Settings(_env_file=None, FIELD_ENCRYPTION_KEY=new_field_key(), **kw)


@pytest.mark.parametrize("workers", [2, 8])
def test_in_process_sandbox_refuses_several_workers(workers):
    with pytest.raises(ConfigError, match="sandbox") as refused:
        check_workers(dev(WECHAT_SANDBOX=True, REDIS_URL="redis://127.0.0.1:6379/9"), workers)
    # The message says what to do instead.
    assert "--workers 1" in str(refused.value) and "python -m wechat.sandbox" in str(refused.value)


def test_in_process_redis_refuses_several_workers():
    settings = dev(WECHAT_SANDBOX=False, WECHAT_APPID="wxabc", WECHAT_SECRET="s")
    with pytest.raises(ConfigError, match="REDIS_URL"):
        check_workers(settings, 2)


def test_one_worker_or_shared_state_is_fine():
    check_workers(dev(WECHAT_SANDBOX=True), 1)  # scripts/dev: one worker, several threads
    check_workers(dev(WECHAT_SANDBOX=False, WECHAT_APPID="wxabc", WECHAT_SECRET="s",
                      REDIS_URL="redis://127.0.0.1:6379/9"), 4)


def run_gunicorn(tmp_path, *args, **env) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT", "REDIS", "GUNICORN",
                                                                        "WEB_CONCURRENCY"))}
    environ.update(APP_ENV="development", DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}",
                   FIELD_ENCRYPTION_KEY=new_field_key(), LOG_LEVEL="WARNING", **env)
    # Its own process group: if it does start, the workers are stopped with the master.
    proc = subprocess.Popen([GUNICORN, "--bind", "127.0.0.1:0", "--no-control-socket", *args, "wsgi:app"],
                            cwd=ROOT, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:  # it started and served: what this test forbids
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"gunicorn {' '.join(args)} started around the in-process sandbox:\n{err}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.parametrize("args, env", [
    (["--workers", "2"], {}),                                        # ./gunicorn.conf.py
    ([], {"WEB_CONCURRENCY": "3"}),                                  # gunicorn's default count
    (["--config", "scripts/gunicorn_dev.py", "--workers", "2"], {}),  # scripts/dev's config
])
def test_gunicorn_refuses_to_start(tmp_path, args, env):
    done = run_gunicorn(tmp_path, *args, WECHAT_SANDBOX="1", **env)
    assert done.returncode != 0
    assert "in-process WeChat sandbox" in done.stderr and "python -m wechat.sandbox" in done.stderr
