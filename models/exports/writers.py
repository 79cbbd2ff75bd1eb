"""The two file formats, written a page of rows at a time into any binary `out` (a
chunked store, a response being streamed, a temporary file), so a file of 10^6 rows
costs the memory of one page.

- CSV: UTF-8 with a byte-order mark (Excel opens it as UTF-8 only then; without it the
  Chinese is mojibake), CRLF lines, Python's csv module quoting.
- XLSX: XlsxWriter in `constant_memory` mode. Chosen over openpyxl's write-only mode:
  XlsxWriter is maintained actively (3.3.1, 2026; openpyxl's last release is 3.1.5,
  2024), has no dependencies, documents constant memory as a mode of its own (each row
  goes to a temporary file as the next one starts, strings inline — no shared-string
  table growing with the file), and writes a string only as a string when asked with
  `write_string` (its `write` would turn "=..." into a formula; we never call it).
  openpyxl stays a test tool: it reads our files back, as an independent reader.
  One quirk of constant_memory mode is guarded here: a string that looks like
  XlsxWriter's own rich-text markup (`<r>...</r>`) is written into the sheet's XML
  unescaped, so text from users gets a leading apostrophe there too.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import BinaryIO

import xlsxwriter

from models.exports.cells import (BOOL, DATE, FEN, INT, TEXT, TIME, Col, bool_text, china_time, csv_cells,
                                  neutralise, yuan_decimal)

BOM = "\ufeff".encode()
XLSX_MAX_ROWS = 1_048_576  # rows per sheet (the header's included): the rest go on the next sheet

MEDIA_TYPES = {"csv": "text/csv",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class CsvWriter:
    def __init__(self, columns: Sequence[Col], lang: str, out: BinaryIO, title: str = ""):
        self.columns, self.lang, self.out = columns, lang, out
        self._text = io.StringIO()
        self._csv = csv.writer(self._text, lineterminator="\r\n")
        out.write(BOM)
        self._csv.writerow([h for col in columns for h in col.headers(lang)])
        self._flush()

    def rows(self, rows: Iterable[Sequence]) -> None:
        columns, lang, write = self.columns, self.lang, self._csv.writerow
        for values in rows:
            # strict: a kind whose rows and columns disagree fails, never shifts cells
            write([cell for col, value in zip(columns, values, strict=True) for cell in csv_cells(col, value, lang)])
        self._flush()

    def close(self) -> None:
        self._flush()

    def _flush(self) -> None:
        self.out.write(self._text.getvalue().encode("utf-8"))
        self._text.seek(0)
        self._text.truncate()


class XlsxWriter:
    """`out` must be seekable (a zip's directory is written at its end): a temporary file."""

    def __init__(self, columns: Sequence[Col], lang: str, out: BinaryIO, title: str = "export"):
        self.columns, self.lang, self.title = columns, lang, title[:28] or "export"
        self.book = xlsxwriter.Workbook(out, {
            "constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
            "strings_to_urls": False, "use_zip64": True})
        self.money = self.book.add_format({"num_format": "0.00"})
        self.time = self.book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.date = self.book.add_format({"num_format": "yyyy-mm-dd"})
        self.bold = self.book.add_format({"bold": True})
        self.sheets = 0
        self._new_sheet()

    def _new_sheet(self) -> None:
        self.sheets += 1
        self.sheet = self.book.add_worksheet(self.title if self.sheets == 1 else f"{self.title} {self.sheets}")
        col = 0
        for column in self.columns:
            width = {TIME: 19, DATE: 11, TEXT: 16}.get(column.type, 10)
            for header in column.headers(self.lang):
                self.sheet.set_column(col, col, max(width, min(len(header) + 2, 30)))
                self.sheet.write_string(0, col, header, self.bold)
                col += 1
        self.sheet.freeze_panes(1, 0)
        self.row = 1

    def rows(self, rows: Iterable[Sequence]) -> None:
        for values in rows:
            if self.row >= XLSX_MAX_ROWS:
                self._new_sheet()
            self._write(self.row, values)
            self.row += 1

    def _write(self, r: int, values: Sequence) -> None:
        sheet, c = self.sheet, 0
        for column, value in zip(self.columns, values, strict=True):
            kind = column.type
            if value is None:
                c += 2 if kind == FEN else 1
                continue
            if kind == FEN:
                sheet.write_number(r, c, int(value))
                sheet.write_number(r, c + 1, yuan_decimal(value), self.money)
                c += 2
                continue
            if kind == INT:
                sheet.write_number(r, c, int(value))
            elif kind == TIME:
                sheet.write_datetime(r, c, china_time(value), self.time)
            elif kind == DATE:
                sheet.write_datetime(r, c, value, self.date)
            elif kind == BOOL:
                sheet.write_string(r, c, bool_text(bool(value), self.lang))
            else:
                sheet.write_string(r, c, xlsx_text(str(value)))
            c += 1

    def close(self) -> None:
        self.book.close()


def xlsx_text(text: str) -> str:
    text = neutralise(text)
    if text.startswith("<r>") and text.endswith("</r>"):  # see the module's docstring
        return "'" + text
    return text


WRITERS = {"csv": CsvWriter, "xlsx": XlsxWriter}
