"""Checks every API request passes before a handler sees it."""
from __future__ import annotations

from flask import Flask, request

from app.errors import AppError


class UnsupportedMediaType(AppError):
    status, code, message = 415, "unsupported_media_type", "Send JSON (Content-Type: application/json)."


def init_app(app: Flask) -> None:
    @app.before_request
    def _json_only():
        # A form post or a text body would otherwise parse as "no fields" and
        # surface as a confusing missing-field error.
        if (request.path.startswith("/api/") and request.method in ("POST", "PUT", "PATCH")
                and request.content_length and not request.is_json):
            raise UnsupportedMediaType()
