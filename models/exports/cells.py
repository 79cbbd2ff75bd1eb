"""What goes into a cell, the same for CSV and XLSX: columns and their types, neutralised
text, money in fen and in yuan, times in Asia/Shanghai.

**Formula neutralisation** (OWASP, "CSV Injection"). A spreadsheet runs a cell that
starts with `=`, `+`, `-` or `@` as a formula — also after a leading tab or carriage
return, which some programs strip first — so text we did not write (a shopper's remark, a
product name, a staff note) could run `=HYPERLINK(...)` or worse on the merchant's
computer. Every *text* cell that starts with one of those (or their full-width forms,
which Chinese input methods type and some spreadsheet programs take for the ASCII ones)
gets a leading apostrophe: the spreadsheet shows it as text, and the reader sees that it
was changed. Numbers are never text: a negative amount stays a number (`-120` fen), not
`'-120`. In XLSX text is always written as a string cell, never as a formula, and
neutralised the same way, so both files say the same thing.

**Money** is integer fen, exported twice: the fen (a number) and the yuan, exact —
integer arithmetic only, `12.80`, never a float's `12.799999`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")

TEXT, INT, FEN, TIME, DATE, BOOL = "text", "int", "fen", "time", "date", "bool"

# A text cell starting with one of these is read as a formula by some spreadsheet.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


@dataclass(frozen=True)
class Col:
    """A column of an export: `key` (stable, English), its headers, its type. A `fen`
    column is two in the file: `<key>` in fen and `<key minus _fen>_yuan`."""
    key: str
    zh: str
    en: str
    type: str = TEXT

    def headers(self, lang: str) -> list[str]:
        name = self.zh if lang == "zh" else self.en
        if self.type != FEN:
            return [name]
        return [f"{name}（分）", f"{name}（元）"] if lang == "zh" else [f"{name} (fen)", f"{name} (yuan)"]

    def keys(self) -> list[str]:
        return [self.key, self.key.removesuffix("_fen") + "_yuan"] if self.type == FEN else [self.key]


def neutralise(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def yuan(fen: int) -> str:
    """12.80 for 1280 fen, -0.05 for -5: exact, by integer arithmetic."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole}.{cents:02d}"


def yuan_decimal(fen: int) -> Decimal:
    """The yuan as an exact Decimal (an XLSX number cell prints it digit for digit)."""
    return Decimal(yuan(fen))


def china_time(value: datetime) -> datetime:
    """An aware time as the stores' wall clock (naive: what a spreadsheet shows)."""
    return value.astimezone(CHINA).replace(tzinfo=None)


def time_text(value: datetime) -> str:
    return china_time(value).strftime("%Y-%m-%d %H:%M:%S")


def bool_text(value: bool, lang: str) -> str:
    if lang == "zh":
        return "是" if value else "否"
    return "yes" if value else "no"


def csv_cells(col: Col, value, lang: str) -> list[str]:
    """The text of a value in a CSV line (one string, two for money)."""
    if value is None:
        return ["", ""] if col.type == FEN else [""]
    if col.type == FEN:
        return [str(int(value)), yuan(value)]
    if col.type == INT:
        return [str(int(value))]
    if col.type == TIME:
        return [time_text(value)]
    if col.type == DATE:
        return [value.isoformat() if isinstance(value, date) else str(value)]
    if col.type == BOOL:
        return [bool_text(bool(value), lang)]
    return [neutralise(str(value))]
