"""A small export, answered straight away: counted first (reading at most
EXPORT_STREAM_MAX_ROWS + 1 index entries), refused with 409 `export_too_large` above the
cap, audited, then streamed — a CSV line by line as its pages are read after the
request's transaction has committed, an XLSX (whose zip is only complete at its end)
made in a temporary file first."""
from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

from flask import current_app

from models import audit
from models.exports.asking import file_name, resolve
from models.exports.errors import ExportTooLarge
from models.exports.writers import MEDIA_TYPES, CsvWriter, XlsxWriter

BLOCK = 64 * 1024  # what is handed to the server at a time


@dataclass
class Streamed:
    name: str          # ASCII
    local_name: str    # in the headers' language
    media_type: str
    rows: int
    body: Iterator[bytes]


@dataclass
class _Kinds:
    """The audit's target of a streamed export (no row of its own): the kind."""
    id: str
    __tablename__ = "export_kinds"


class _Buffer:
    def __init__(self):
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def take(self) -> bytes:
        data, self.parts, self.size = b"".join(self.parts), [], 0
        return data


def stream(actor, kind_name: str, fmt: str, **asked) -> Streamed:
    kind, filters = resolve(actor, kind_name, **asked)
    limit = current_app.config["EXPORT_STREAM_MAX_ROWS"]
    rows = kind.count(filters, limit)
    if rows > limit:
        raise ExportTooLarge(params={"limit": limit}, details={"kind": kind.name, "limit": limit})
    audit.record("export.stream", _Kinds(kind.name), actor=actor,
                 changes={"kind": kind.name, "format": fmt, "filters": filters.as_json(), "rows": rows})
    name, local_name = file_name(kind, filters, fmt)
    body = _csv(kind, filters) if fmt == "csv" else _xlsx(kind, filters)
    return Streamed(name, local_name, MEDIA_TYPES[fmt], rows, body)


def _csv(kind, filters) -> Iterator[bytes]:
    out = _Buffer()
    writer = CsvWriter(kind.columns, filters.lang, out, kind.title[filters.lang])
    for page in kind.pages(filters):
        writer.rows(page)
        if out.size >= BLOCK:
            yield out.take()
    writer.close()
    yield out.take()


def _xlsx(kind, filters) -> Iterator[bytes]:
    tmp = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115 — closed by _blocks, after the answer
    try:
        writer = XlsxWriter(kind.columns, filters.lang, tmp, kind.title[filters.lang])
        for page in kind.pages(filters):
            writer.rows(page)
        writer.close()
        tmp.seek(0)
    except BaseException:
        tmp.close()
        raise
    return _blocks(tmp)


def _blocks(tmp) -> Iterator[bytes]:
    with tmp:
        while block := tmp.read(BLOCK):
            yield block
