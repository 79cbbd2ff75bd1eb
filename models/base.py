"""Shared column types and helpers for the model layer."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import DateTime, TypeDecorator
from sqlalchemy.orm.attributes import set_committed_value

from app.errors import NotFound
from app.extensions import db


# Every table: full Unicode (emoji in names and remarks) whatever the server default is.
MYSQL_TABLE = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Stored as naive UTC (MySQL DATETIME has no zone), always returned aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use an aware UTC datetime")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return value.replace(tzinfo=timezone.utc) if value is not None else None


def mirror(obj, values: dict) -> None:
    """Tell a loaded object what a Core UPDATE wrote to its row, as committed values: no
    re-read, and no second UPDATE at flush."""
    for name, value in values.items():
        set_committed_value(obj, name, value)


def get_or_404(model, ident, message: str | None = None):
    """The row, or 404 `not_found` with `message` ("No such store.": a whole sentence, so
    it can be translated; app/i18n.py)."""
    obj = db.session.get(model, ident) if ident is not None else None
    if obj is None:
        raise NotFound(message, details={"id": ident})
    return obj


def keyset_page(query, id_column, *, cursor: int | None, limit: int, newest_first: bool = False) -> list:
    """One page of a list by id (API.md's `?cursor=&limit=`): the same cost on page 1 and
    page 1000, unlike OFFSET. Callers ask for limit + 1 rows to know there is a next page."""
    if newest_first:
        query = query.order_by(id_column.desc())
        if cursor:
            query = query.where(id_column < cursor)
    else:
        query = query.order_by(id_column)
        if cursor:
            query = query.where(id_column > cursor)
    return list(db.session.scalars(query.limit(limit)))
