"""scripts/backup_restore_check on MariaDB: a mariadb-backup of the test database, restored
into a fresh server on 127.0.0.1:3391, passes the stock, ledger and report checks; the
same backup damaged after the restore does not."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import backend_is_mysql
from tests.models.pickup.support import counter, ready_order, shown, verify  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "backup_restore_check"
PORT = os.environ.get("TEST_RESTORE_PORT", "3391")

pytestmark = pytest.mark.skipif(not backend_is_mysql(), reason="mariadb-backup backs up MariaDB")


def run(settings, tmp_path, *args) -> subprocess.CompletedProcess:
    assert shutil.which("mariadb-backup"), "install mariadb-backup (apt-get install mariadb-backup); .ci/run does"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT", "REDIS", "CELERY", "TEST_"))}
    env.update(APP_ENV="test", WECHAT_SANDBOX="0", SECRET_KEY=settings.SECRET_KEY, LOG_LEVEL="WARNING",
               FIELD_ENCRYPTION_KEY=settings.FIELD_ENCRYPTION_KEY, TMPDIR=str(tmp_path))
    url = make_url(settings.DATABASE_URL)
    return subprocess.run([sys.executable, str(SCRIPT), "--database", url.database, "--host", url.host,
                           "--source-port", str(url.port or 3306), "--user", url.username, "--port", PORT, *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_a_backup_restores_and_damage_is_caught(settings, client, counter, tmp_path):  # noqa: F811
    # Data through the domain: orders placed (stock reserved), paid, made ready, one
    # handed over in two parts (stock deducted, two rows of the verification ledger).
    code = shown(client, counter, ready_order(client, counter, (counter.skus[0], 2)))["code"]
    for _ in range(2):
        handed = verify(client, counter.clerk, code=code, items=[{"sku_id": counter.skus[0].id, "qty": 1}])
        assert handed.status_code == 200, handed.json
    ready_order(client, counter, (counter.skus[1], 3))

    backup = tmp_path / "backup"
    clean = run(settings, tmp_path, "--keep-backup", str(backup))
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "flask stock check: ok" in clean.stdout and "agree (2 rows)" in clean.stdout  # the two SKUs
    assert "flask pickups verify-ledger: ok" in clean.stdout and "intact (2 rows)" in clean.stdout
    assert "flask analytics check: ok" in clean.stdout

    # The same backup, one stock counter and one ledger row edited on the copy.
    damaged = run(settings, tmp_path, "--from-backup", str(backup), "--tamper",
                  "UPDATE inventory SET on_hand = on_hand + 1 ORDER BY id LIMIT 1; "
                  "UPDATE pickup_verifications SET verified_at = verified_at + INTERVAL 1 SECOND ORDER BY id LIMIT 1")
    assert damaged.returncode == 1, damaged.stdout + damaged.stderr
    assert "flask stock check: FAILED" in damaged.stdout and "flask pickups verify-ledger: FAILED" in damaged.stdout
    assert "RESTORE CHECK FAILED" in damaged.stdout
