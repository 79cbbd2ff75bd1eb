"""Checks every API request passes before a handler sees it."""
from __future__ import annotations

import json
import re

from flask import Flask, request

from app.errors import AppError, InvalidRequest


class UnsupportedMediaType(AppError):
    status, code, message = 415, "unsupported_media_type", "Send JSON (Content-Type: application/json)."


# No body of this API nests deeper than a few levels or holds a number past 64 bits; the
# bounds are far beyond any real request and far below what costs the parser anything.
MAX_JSON_DEPTH = 32
MAX_INT_DIGITS = 20
_SURROGATE = re.compile("[\ud800-\udfff]")
# What a body needs to hold for the full check to matter: enough brackets to nest that
# deep, a run of 21 digits, or a surrogate's \u escape (raw UTF-8 cannot carry one).
# Almost every body has none of them and is not parsed here at all.
_SUSPECT = re.compile(rb"\d{%d}|\\u[dD][89a-fA-F]" % (MAX_INT_DIGITS + 1))


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise InvalidRequest("A number in the body is too long.", details={"max_digits": MAX_INT_DIGITS})
    return int(digits)


def check_json_body(raw: bytes) -> None:
    """Refuse, as 400 `invalid_request`, a JSON body that would break what parses it after
    this: nesting past MAX_JSON_DEPTH (Python's parser recurses and fails at ~1,000 levels),
    an integer past MAX_INT_DIGITS (Python refuses to read 4,300 digits or more, and no
    field needs 21), and a lone surrogate (`"\\ud800"`: valid JSON, but no UTF-8 string,
    so the database or the response would fail on it). An empty or malformed body is left
    to the route's own parsing (which answers 400 as well)."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH and not _SUSPECT.search(raw):
        return  # cannot break any of the three rules: the route parses it once
    try:
        doc = json.loads(raw, parse_int=_bounded_int)
    except RecursionError:
        raise InvalidRequest("The body nests too deeply.", details={"max_depth": MAX_JSON_DEPTH}) from None
    except ValueError:  # not JSON (JSONDecodeError), not UTF-8: the route says so
        return
    stack = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if not value.isascii() and _SURROGATE.search(value):
                raise InvalidRequest("The body holds text that is not valid Unicode.")
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth > MAX_JSON_DEPTH:
            raise InvalidRequest("The body nests too deeply.", details={"max_depth": MAX_JSON_DEPTH})
        if isinstance(value, dict):
            stack.extend((key, depth) for key in value)
            value = value.values()
        stack.extend((item, depth + 1) for item in value)


# Routes whose body is a file, not JSON: endpoint → (the content types taken, the largest
# body). Everything else stays JSON under MAX_CONTENT_LENGTH.
RAW_BODIES: dict[str, tuple[frozenset[str], int]] = {
    "aftersales.add_photo": (frozenset({"image/jpeg", "image/png", "image/webp"}), 5 * 1024 * 1024),
}


def init_app(app: Flask) -> None:
    @app.before_request
    def _json_only():
        raw = RAW_BODIES.get(request.endpoint or "")
        if raw is not None:  # a file upload: its own types and size (413 past it)
            if request.mimetype not in raw[0]:
                raise UnsupportedMediaType("Send the image as the body (Content-Type: image/jpeg, image/png "
                                           "or image/webp).")
            request.max_content_length = raw[1]
            return
        # A form post or a text body would otherwise parse as "no fields" and
        # surface as a confusing missing-field error.
        if (request.path.startswith("/api/") and request.method in ("POST", "PUT", "PATCH")
                and request.content_length and not request.is_json):
            raise UnsupportedMediaType()
        # Before any route parses it (webargs, or a notify's own reading): see above. The
        # body is read once and cached (bounded by MAX_CONTENT_LENGTH); parsing it twice
        # costs microseconds at the sizes this API takes.
        if request.is_json:
            raw = request.get_data(cache=True)
            if raw:
                check_json_body(raw)
