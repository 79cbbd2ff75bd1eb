"""What goes into a cell (models/exports/cells.py) and the two writers: formula
neutralisation in CSV and XLSX (numbers untouched), the BOM, Chinese headers, money in fen
and exact yuan, times in Asia/Shanghai, XlsxWriter's rich-string markup defused, sheets
that roll over."""
from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from models.exports import writers
from models.exports.cells import BOOL, DATE, FEN, INT, TIME, Col, neutralise, yuan, yuan_decimal
from models.exports.writers import CsvWriter, XlsxWriter
from tests.models.exports.support import BOM, csv_rows, ooxml_text, xlsx_cells, xlsx_rows

COLUMNS = (Col("text", "文本", "Text"), Col("n", "数量", "Qty", INT), Col("amount_fen", "金额", "Amount", FEN),
           Col("at", "时间", "At", TIME), Col("day", "日期", "Day", DATE), Col("flag", "秒杀", "Flash", BOOL))
AT = datetime(2026, 12, 7, 16, 30, 5, tzinfo=UTC)  # 00:30:05 on the 8th in Shanghai
DANGEROUS = ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1", "＝1+1"]


@pytest.mark.parametrize("text", DANGEROUS)
def test_text_that_a_spreadsheet_would_run_gets_an_apostrophe(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", ["大米 5kg", "1+1", "a=b", "", "'quoted", "TH20261207"])
def test_other_text_is_left_alone(text):
    assert neutralise(text) == text


@pytest.mark.parametrize("fen, text", [(1280, "12.80"), (5, "0.05"), (0, "0.00"), (-5, "-0.05"),
                                       (-123456, "-1234.56"), (10**15 + 1, "10000000000000.01")])
def test_yuan_is_exact(fen, text):
    assert yuan(fen) == text
    assert yuan_decimal(fen) == Decimal(text) and str(yuan_decimal(fen)) == text


def rows():
    return [[text, -3, -1280, AT, date(2026, 12, 8), True] for text in DANGEROUS] + [
        ["大米", 7, 1280, None, None, False]]


def write(cls, lang="zh"):
    out = io.BytesIO()
    writer = cls(COLUMNS, lang, out, "订单")
    writer.rows(rows()[:3])
    writer.rows(rows()[3:])  # a page at a time
    writer.close()
    return out.getvalue()


def test_csv_has_a_bom_chinese_headers_neutralised_text_and_untouched_numbers():
    data = write(CsvWriter)
    assert data.startswith(BOM) and data.count(BOM) == 1
    table = csv_rows(data)
    assert table[0] == ["文本", "数量", "金额（分）", "金额（元）", "时间", "日期", "秒杀"]
    assert [row[0] for row in table[1:-1]] == ["'" + t for t in DANGEROUS]
    assert table[1][1:] == ["-3", "-1280", "-12.80", "2026-12-08 00:30:05", "2026-12-08", "是"]
    assert table[-1] == ["大米", "7", "1280", "12.80", "", "", "否"]
    assert b"\r\n" in data and "文本".encode() in data  # UTF-8, CRLF lines


def test_csv_headers_in_english():
    assert csv_rows(write(CsvWriter, "en"))[0] == ["Text", "Qty", "Amount (fen)", "Amount (yuan)", "At", "Day",
                                                   "Flash"]


def test_xlsx_writes_strings_as_neutralised_strings_and_numbers_as_numbers():
    cells = xlsx_cells(write(XlsxWriter))
    assert [c.value for c in cells[0]] == ["文本", "数量", "金额（分）", "金额（元）", "时间", "日期", "秒杀"]
    for row, text in zip(cells[1:], DANGEROUS):
        assert row[0].data_type == "s" and ooxml_text(row[0].value) == "'" + text  # a string, not a formula
        assert (row[1].data_type, row[1].value) == ("n", -3)
        assert (row[2].data_type, row[2].value, row[3].value) == ("n", -1280, -12.8)
        assert row[3].number_format == "0.00"
        assert row[4].value == datetime(2026, 12, 8, 0, 30, 5)  # Shanghai wall-clock time
        assert row[5].value == datetime(2026, 12, 8)
    assert [c.value for c in cells[-1]] == ["大米", 7, 1280, 12.8, None, None, "否"]


def test_xlsx_keeps_the_yuan_exact_in_the_file():
    data = write(XlsxWriter)
    import zipfile

    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert "<v>-12.80</v>" in sheet and "<v>12.80</v>" in sheet  # the digits, not a float's repr


def test_xlsx_text_that_looks_like_its_rich_string_markup_is_not_written_raw():
    """XlsxWriter's constant_memory mode writes a string "<r>...</r>" into the sheet's XML
    unescaped (its own rich strings): text from a user must not become markup (a formula
    cell smuggled in, or a broken file)."""
    evil = '<r><t>x</t></r></is></c><c r="B9"><f>HYPERLINK("http://x","y")</f></c><c><is><r><t>z</t></r>'
    out = io.BytesIO()
    writer = XlsxWriter(COLUMNS[:1], "en", out, "t")
    writer.rows([[evil]])
    writer.close()
    cells = xlsx_cells(out.getvalue())
    assert len(cells) == 2 and len(cells[1]) == 1
    assert cells[1][0].data_type == "s" and cells[1][0].value == "'" + evil


def test_xlsx_rolls_over_to_a_new_sheet_at_the_row_limit(monkeypatch):
    monkeypatch.setattr(writers, "XLSX_MAX_ROWS", 3)  # a header and two rows a sheet
    out = io.BytesIO()
    writer = XlsxWriter(COLUMNS[:2], "en", out, "Orders")
    writer.rows([[f"r{i}", i] for i in range(5)])
    writer.close()
    data = out.getvalue()
    assert [xlsx_rows(data, n) for n in range(3)] == [
        [["Text", "Qty"], ["r0", 0], ["r1", 1]], [["Text", "Qty"], ["r2", 2], ["r3", 3]], [["Text", "Qty"], ["r4", 4]]]
