"""Schema pieces shared by several handler modules."""
from __future__ import annotations

import re

from apiflask import Schema, fields, validators
from marshmallow import RAISE


class StrictSchema(Schema):
    """Input schemas refuse unknown fields: a typo must not silently do nothing."""

    class Meta:
        unknown = RAISE


class PageQuery(StrictSchema):
    cursor = fields.String(load_default=None, validate=validators.Length(max=64))
    limit = fields.Integer(load_default=20, validate=validators.Range(1, 100))


def page_of(item_schema: type[Schema], name: str) -> type[Schema]:
    """The list shape of API.md: `{"items": [...], "next_cursor": "..." | null}`."""
    return Schema.from_dict({"items": fields.Nested(item_schema, many=True),
                             "next_cursor": fields.String(allow_none=True)}, name=name)


def page(items: list, limit: int, key=lambda obj: obj.id) -> dict:
    """`{"items", "next_cursor"}`: fetch limit+1 rows, hand out limit, cursor = last key."""
    more = len(items) > limit
    items = items[:limit]
    return {"items": items, "next_cursor": str(key(items[-1])) if more and items else None}


def cursor_int(cursor: str | None) -> int | None:
    from app.errors import InvalidRequest

    if cursor in (None, ""):
        return None
    if not cursor.isdigit() or len(cursor) > 18:
        raise InvalidRequest("The cursor is not valid.", details={"field": "cursor"})
    return int(cursor)


_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def idempotency_key() -> str | None:
    """The request's Idempotency-Key header, validated (1–64 of [A-Za-z0-9_.:-])."""
    from flask import request

    from app.errors import InvalidRequest

    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.match(key):
        raise InvalidRequest("Idempotency-Key must be 1–64 of A-Z a-z 0-9 _ . : -",
                             details={"header": "Idempotency-Key"})
    return key
