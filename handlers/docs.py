"""/docs without internet. APIFlask renders Swagger UI's page; by default its script,
stylesheet and icon come from a CDN, which a machine without internet (or in mainland
China, often) cannot reach, and the page stays blank. They are served here instead, from
the flask-swagger-ui package (only its copy of Swagger UI's dist files is used). The
version is in the path, so a browser may keep them for a year and an upgrade is a new URL.
"""
from __future__ import annotations

from pathlib import Path

import flask_swagger_ui
from apiflask import APIBlueprint, APIFlask
from flask import send_from_directory

DIST = Path(flask_swagger_ui.__file__).parent / "dist"
VERSION = (DIST / "VERSION").read_text().strip()  # Swagger UI's, e.g. v5.34.0
PREFIX = f"/docs/assets/{VERSION}"
ONE_YEAR_S = 365 * 24 * 3600

bp = APIBlueprint("docs_assets", __name__, enable_openapi=False)


@bp.get(f"{PREFIX}/<path:filename>")
def asset(filename):
    resp = send_from_directory(DIST, filename, max_age=ONE_YEAR_S)
    resp.cache_control.immutable = True
    return resp


def init_app(app: APIFlask) -> None:
    app.config.update(
        SWAGGER_UI_CSS=f"{PREFIX}/swagger-ui.css",
        SWAGGER_UI_BUNDLE_JS=f"{PREFIX}/swagger-ui-bundle.js",
        SWAGGER_UI_STANDALONE_PRESET_JS=f"{PREFIX}/swagger-ui-standalone-preset.js",
        DOCS_FAVICON=f"{PREFIX}/favicon-32x32.png",
        # No badge fetched from swagger.io's online validator.
        SWAGGER_UI_CONFIG={"validatorUrl": None},
    )
    app.register_blueprint(bp)
