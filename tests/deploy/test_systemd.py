"""deploy/systemd: `systemd-analyze verify` accepts the units (their paths pointed at this
checkout and its virtualenv), and they run the real entry points with the shutdown the
app needs."""
from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import new_field_key

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
VENV = Path(sys.prefix)


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string((UNITS / name).read_text().replace("\\\n", " "))
    return parser


def _exec(unit: configparser.ConfigParser) -> list[str]:
    return unit["Service"]["ExecStart"].split()


def test_systemd_analyze_verifies_the_units(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("no systemd-analyze here (test_units_run_the_real_entry_points checks the rest)")
    for path in UNITS.glob("*.service"):
        text = path.read_text().replace("/opt/tihuo/.venv", str(VENV)).replace("/opt/tihuo", str(ROOT))
        (tmp_path / path.name).write_text(text)
    result = subprocess.run([analyze, "verify", *sorted(str(p) for p in tmp_path.glob("*.service"))],
                            capture_output=True, text=True, timeout=60)
    # An unknown key or a missing program is only a warning on stderr: none is allowed.
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr


def test_the_unit_set():
    assert sorted(p.name for p in UNITS.glob("*.service")) == [
        "tihuo-beat.service", "tihuo-migrate.service", "tihuo-web.service", "tihuo-worker.service"]
    for path in UNITS.glob("*.service"):
        service = _unit(path.name)["Service"]
        assert service["User"] == "tihuo" and service["EnvironmentFile"] == "/etc/tihuo/tihuo.env"
        assert service["WorkingDirectory"] == "/opt/tihuo"
        assert service["NoNewPrivileges"] == "yes" and service["ProtectSystem"] == "strict"
        assert service["CapabilityBoundingSet"] == ""
        if path.name != "tihuo-migrate.service":
            assert service["Restart"] == "on-failure"


def test_units_run_the_real_entry_points():
    web = _exec(_unit("tihuo-web.service"))
    assert web[0] == "/opt/tihuo/.venv/bin/gunicorn"
    config = web[web.index("--config") + 1]
    assert config == "/opt/tihuo/gunicorn.conf.py" and (ROOT / "gunicorn.conf.py").exists()
    assert "on_starting" in (ROOT / "gunicorn.conf.py").read_text()  # app/serving.py's checks
    module, _, attribute = web[-1].partition(":")
    assert (module, attribute) == ("wsgi", "app") and (ROOT / "wsgi.py").exists()
    assert (VENV / "bin" / "gunicorn").exists()

    for name, command in (("tihuo-worker.service", "worker"), ("tihuo-beat.service", "beat")):
        argv = _exec(_unit(name))
        assert argv[:4] == ["/opt/tihuo/.venv/bin/celery", "-A", "make_celery", command]
        assert "celery_app = flask_app.extensions[\"celery\"]" in (ROOT / "make_celery.py").read_text()
    assert (VENV / "bin" / "celery").exists()
    migrate = _unit("tihuo-migrate.service")["Service"]
    assert migrate["ExecStart"] == "/opt/tihuo/.venv/bin/flask db upgrade" and migrate["Type"] == "oneshot"
    assert "FLASK_APP=wsgi" in migrate["Environment"]


def test_shutdown_matches_graceful_shutdown():
    web = _unit("tihuo-web.service")["Service"]
    graceful = int(_exec(_unit("tihuo-web.service"))[_exec(_unit("tihuo-web.service")).index("--graceful-timeout") + 1])
    # systemd waits longer than gunicorn lets its workers finish, and signals the master only.
    assert int(web["TimeoutStopSec"]) > graceful
    assert web["KillSignal"] == "SIGTERM" and web["KillMode"] == "mixed" and web["Type"] == "notify"
    assert web["Environment"] == "PROMETHEUS_MULTIPROC_DIR=/run/tihuo-web" and web["RuntimeDirectory"] == "tihuo-web"
    worker = _unit("tihuo-worker.service")["Service"]
    # Celery's warm shutdown is SIGTERM to the main process; its pool's children must not get it.
    assert worker["KillSignal"] == "SIGTERM" and worker["KillMode"] == "mixed"
    assert int(worker["TimeoutStopSec"]) >= 300
    beat = _unit("tihuo-beat.service")["Service"]
    assert re.fullmatch(r"CELERY_BEAT_SCHEDULE_FILE=/var/lib/tihuo/\S+", beat["Environment"])
    assert beat["StateDirectory"] == "tihuo"


def test_gunicorn_accepts_the_web_units_command_line(tmp_path):
    """gunicorn parses the unit's arguments and loads wsgi:app with them (--check-config:
    nothing is served)."""
    argv = [a.replace("/opt/tihuo/.venv", str(VENV)).replace("/opt/tihuo", str(ROOT))
            for a in _exec(_unit("tihuo-web.service"))]
    argv[argv.index("--bind") + 1] = "127.0.0.1:0"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT", "REDIS", "TEST_"))}
    env.update(APP_ENV="development", WECHAT_SANDBOX="0", DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}",
               FIELD_ENCRYPTION_KEY=new_field_key(), LOG_LEVEL="WARNING")
    done = subprocess.run([*argv[:-1], "--check-config", argv[-1]], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    broken = subprocess.run([*argv[:-1], "--no-such-option", "--check-config", argv[-1]], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert broken.returncode != 0 and "unrecognized arguments" in broken.stderr
