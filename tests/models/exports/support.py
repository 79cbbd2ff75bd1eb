"""Reading exports back: a CSV by Python's csv module (after checking its BOM), an XLSX by
openpyxl — an independent reader of what XlsxWriter wrote."""
from __future__ import annotations

import csv
import io
import re

import openpyxl

BOM = b"\xef\xbb\xbf"


def csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(BOM), data[:10]
    return list(csv.reader(io.StringIO(data[len(BOM):].decode("utf-8"), newline="")))


def xlsx_cells(data: bytes, sheet: int = 0) -> list[list]:
    """The sheet's cells (openpyxl's Cell objects: value and data_type)."""
    book = openpyxl.load_workbook(io.BytesIO(data))
    return [list(row) for row in book.worksheets[sheet].iter_rows()]


def xlsx_rows(data: bytes, sheet: int = 0) -> list[list]:
    return [[c.value for c in row] for row in xlsx_cells(data, sheet)]


def records(rows: list[list]) -> list[dict]:
    """Rows as {header: value}, the first row being the headers."""
    return [dict(zip(rows[0], row)) for row in rows[1:]]


def ooxml_text(value: str) -> str:
    """A string cell's text as Excel shows it: XlsxWriter writes control characters as
    OOXML's `_xHHHH_` escapes (a carriage return is `_x000D_`), which openpyxl leaves as is."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), value)
