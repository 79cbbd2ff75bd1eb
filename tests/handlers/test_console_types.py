"""The console's API types follow the API (issue 18): console/openapi.json is what the app
publishes now, and console/src/api/schema.d.ts is what openapi-typescript makes of it.

When either fails: `.venv/bin/python scripts/openapi_snapshot.py`, then `npm run gen:api`
in console/, and commit both files (a type error in the console then shows what the API
change broke: `npm run typecheck`)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "console"
FIX = ("run `.venv/bin/python scripts/openapi_snapshot.py`, then `npm run gen:api` in console/, "
       "and commit console/openapi.json and console/src/api/schema.d.ts")


def _clean_env() -> dict[str, str]:
    # The document must not depend on who runs it: no settings from the environment.
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR")
    return {k: v for k, v in os.environ.items() if k in keep}


def test_openapi_snapshot_is_what_the_app_publishes():
    run = subprocess.run([sys.executable, "scripts/openapi_snapshot.py", "--check"], cwd=ROOT,
                         env=_clean_env(), capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"console/openapi.json differs from the app's /openapi.json: {FIX}\n{run.stderr}"


def test_schema_types_are_generated_from_the_snapshot():
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: schema.d.ts cannot be regenerated here (the snapshot test still runs)")
    if not (CONSOLE / "node_modules" / "openapi-typescript").is_dir():
        pytest.skip("console/node_modules is missing: run `npm ci` in console/ (scripts/test does it when npm is there)")
    run = subprocess.run([node, "scripts/gen-api.mjs", "--check"], cwd=CONSOLE,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"console/src/api/schema.d.ts is not what openapi.json gives: {FIX}\n{run.stderr}"


def test_the_console_knows_every_ability():
    """The console offers pages by ability name (console/src/auth/abilities.ts): a name it
    lacks would hide a page from everyone, one the API lacks would never match."""
    import re

    from models.staff.abilities import ABILITIES

    source = (ROOT / "console" / "src" / "auth" / "abilities.ts").read_text(encoding="utf-8")
    listed = source.split("export const ABILITIES = [", 1)[1].split("] as const", 1)[0]
    assert set(re.findall(r"'([a-z_.]+)'", listed)) == set(ABILITIES)
