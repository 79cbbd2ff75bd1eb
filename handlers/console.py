"""The merchant console's built files (console/, `npm run build` → console/dist) at /console/.

A single-page app: a path that is not a file answers index.html and the router in the
page takes it from there. Built assets have hashed names, so they are cached for a
year; index.html is revalidated every time, so a new build is seen at once. Every answer
carries a strict Content-Security-Policy: scripts only from here (no inline script, no
eval), calls only to this origin, the page never framed.
"""
from __future__ import annotations

import os
from pathlib import Path

from apiflask import APIBlueprint
from flask import current_app, redirect, send_from_directory
from werkzeug.security import safe_join

from app.errors import NotFound

bp = APIBlueprint("console", __name__, enable_openapi=False)

DIST = Path(__file__).resolve().parent.parent / "console" / "dist"
YEAR_S = 365 * 24 * 3600

# Element Plus sets styles from script (style attributes), hence 'unsafe-inline' for
# styles only; the camera's frames are drawn from blob: URLs, the QR decoder may run in
# a worker made from a blob.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
       "media-src 'self' blob:; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")


class ConsoleNotBuilt(NotFound):
    code = "console_not_built"
    message = "The console is not built: scripts/dev builds it (or `npm run build` in console/)."


def _dist() -> Path:
    return Path(current_app.config.get("CONSOLE_DIST") or DIST)


@bp.get("/console")
def console_root():
    return redirect("/console/", code=308)


@bp.get("/console/", defaults={"path": ""})
@bp.get("/console/<path:path>")
def console_file(path: str):
    dist = _dist()
    if path.startswith("assets/"):
        response = send_from_directory(dist, path, max_age=YEAR_S)
        response.headers["Cache-Control"] = f"public, max-age={YEAR_S}, immutable"
    else:
        found = safe_join(str(dist), path) if path else None
        if not (found and os.path.isfile(found)):
            if not (dist / "index.html").is_file():
                raise ConsoleNotBuilt()
            path = "index.html"  # a route of the page (or its start): the app decides
        response = send_from_directory(dist, path, max_age=0)
        response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(self), microphone=(), geolocation=()"
    return response
