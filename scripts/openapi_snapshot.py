"""Write the API document the console's types are generated from: console/openapi.json.

    .venv/bin/python scripts/openapi_snapshot.py           # then, in console/: npm run gen:api
    .venv/bin/python scripts/openapi_snapshot.py --check   # exit 1 when the file is out of date

The app is built as the embedded default builds it (SQLite in memory, the WeChat sandbox;
nothing is connected to; no .env is read), and its `app.spec` — what GET /openapi.json answers — is written
with sorted keys, so the file changes only when the API does.
tests/handlers/test_console_types.py fails when the committed file is out of date.
"""
from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "console" / "openapi.json"


def document() -> str:
    """The document as the file holds it."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from app import create_app
    from app.config import Settings

    # APIFlask names a schema met nested and then as an output twice (pytest.ini ignores it too).
    warnings.filterwarnings("ignore", message=".*has already been added to the spec")
    app = create_app(Settings(DATABASE_URL="sqlite://", WECHAT_SANDBOX=True, _env_file=None))
    with app.app_context():
        spec = app.spec
    return json.dumps(spec, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = document()
    old = OUT.read_text(encoding="utf-8") if OUT.exists() else None
    if "--check" in argv:
        if old == text:
            print(f"{OUT.relative_to(ROOT)} is up to date")
            return 0
        print(f"{OUT.relative_to(ROOT)} is out of date: run `.venv/bin/python scripts/openapi_snapshot.py`, "
              "then `npm run gen:api` in console/", file=sys.stderr)
        return 1
    OUT.write_text(text, encoding="utf-8")
    print(f"{OUT.relative_to(ROOT)}: {'unchanged' if old == text else 'written'} "
          f"({len(text.encode())} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
