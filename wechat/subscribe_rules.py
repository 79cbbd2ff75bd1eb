"""Value rules of subscribe-message keywords (protocol doc §2.1).

WeChat rejects a whole send with 47003 when one keyword value breaks the rule of its
type, and the type is encoded in the key: `thing1` is a `thing`, `character_string2` a
`character_string`. These functions are pure: the sandbox validates with
`validate_value`, the sender fixes values up with `coerce_value` before sending.

Where the official table is vague we chose the stricter reading, so that a value that
passes here passes on WeChat:
- `character_string`: printable ASCII without spaces.
- `amount`: optional currency symbol, at most 10 digits in all, at most 2 decimals,
  optional trailing 元; `coerce_value` always emits the `¥12.34` form.
- `time`/`date` points: `15:01`, `15:01:30`, `2019年10月1日 15:01`, `10月1日`,
  `2019-10-01 15:01` (also `/` or `.` as date separator); a range is two points
  joined by `~`.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

KINDS = frozenset({
    "thing", "number", "letter", "symbol", "character_string", "time", "date",
    "amount", "phone_number", "car_number", "name", "phrase", "enum",
})

# WeChat shows times to Chinese users: aware datetimes are rendered in UTC+8.
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")

_KEY_RE = re.compile(r"^([a-z_]+?)_?(\d+)$")
_DATE_RE = re.compile(
    r"(?:(?P<y>\d{4})年)?(?P<m>\d{1,2})月(?P<d>\d{1,2})日"
    r"|(?P<y2>\d{4})[-/.](?P<m2>\d{1,2})[-/.](?P<d2>\d{1,2})"
)
_TIME_RE = re.compile(r"(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?")
_NUMBER_RE = re.compile(r"^-?\d+(?:\.\d+)?$")
_AMOUNT_RE = re.compile(r"^[¥￥$€£]?(?P<int>\d+)(?:\.(?P<dec>\d{1,2}))?元?$")
_BARE_AMOUNT_RE = re.compile(r"^\d+(?:\.\d+)?$")


def keyword_type(name: str) -> str:
    """`thing1` → `thing`, `character_string2` → `character_string`. A key without a
    number is returned as is; check the result against KINDS."""
    key = name.strip().lower()
    if key.endswith(".data"):  # people copy `{{thing1.DATA}}` from the template page
        key = key[:-5]
    m = _KEY_RE.match(key)
    return m.group(1) if m else key


def is_cjk(ch: str) -> bool:
    o = ord(ch)
    return (0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF
            or 0x20000 <= o <= 0x2FFFF)


def _is_symbol(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PS"


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in text)


# -- validation ---------------------------------------------------------------------

def validate_value(kind: str, value, choices=None) -> str | None:
    """None when WeChat would accept `value` for a keyword of type `kind`, else a short
    reason. Reasons never echo the value (it may be a phone number)."""
    if not isinstance(value, str):
        return "must be a string"
    if not value.strip():
        return "is empty"
    if _has_control(value):
        return "contains control characters or newlines"
    check = _VALIDATORS.get(kind)
    if check is None:
        return f"unknown keyword type {kind!r}"
    return check(value, choices)


def _v_thing(v, _):
    return None if len(v) <= 20 else "longer than 20 characters"


def _v_number(v, _):
    if len(v) > 32:
        return "longer than 32 characters"
    return None if _NUMBER_RE.match(v) else "not a number"


def _v_letter(v, _):
    if len(v) > 32:
        return "longer than 32 letters"
    return None if v.isascii() and v.isalpha() else "letters only"


def _v_symbol(v, _):
    if len(v) > 5:
        return "longer than 5 symbols"
    return None if all(_is_symbol(c) for c in v) else "symbols only"


def _v_character_string(v, _):
    if len(v) > 32:
        return "longer than 32 characters"
    ok = all("\x21" <= c <= "\x7e" for c in v)
    return None if ok else "digits, ASCII letters and symbols only"


def _valid_date(m: re.Match) -> bool:
    y = m.group("y") or m.group("y2")
    mo = int(m.group("m") or m.group("m2"))
    d = int(m.group("d") or m.group("d2"))
    try:
        date(int(y) if y else 2000, mo, d)  # 2000 is a leap year: 2月29日 is fine
    except ValueError:
        return False
    return True


def _valid_time(m: re.Match) -> bool:
    return (int(m.group("H")) <= 23 and int(m.group("M")) <= 59
            and int(m.group("S") or 0) <= 59)


def _point_ok(text: str, need_date: bool, need_time: bool) -> bool:
    text = text.strip()
    dm = _DATE_RE.match(text)
    if dm:
        if not _valid_date(dm):
            return False
        text = text[dm.end():].strip()
    elif need_date:
        return False
    if not text:
        return not need_time
    tm = _TIME_RE.fullmatch(text)
    return bool(tm) and _valid_time(tm)


def _range_ok(v: str, need_date: bool, need_time: bool) -> bool:
    points = v.split("~")
    if len(points) > 2:
        return False
    return all(_point_ok(p, need_date, need_time) for p in points)


def _v_time(v, _):
    ok = _range_ok(v, need_date=False, need_time=True)
    return None if ok else "not a 24-hour time (optionally with a date, or a~b range)"


def _v_date(v, _):
    ok = _range_ok(v, need_date=True, need_time=False)
    return None if ok else "not a date (optionally with a time, or a~b range)"


def _v_amount(v, _):
    m = _AMOUNT_RE.match(v)
    if not m:
        return "not an amount like ¥12.34"
    if len(m.group("int")) + len(m.group("dec") or "") > 10:
        return "more than 10 digits"
    return None


def _v_phone_number(v, _):
    if len(v) > 17:
        return "longer than 17 characters"
    ok = all(c.isdigit() and c.isascii() or c == " " or (c.isascii() and _is_symbol(c))
             for c in v)
    return None if ok and any(c.isdigit() for c in v) else "digits and symbols only"


def _v_car_number(v, _):
    if len(v) > 8:
        return "longer than 8 characters"
    if len(v) < 2:
        return "too short"

    def alnum(c):
        return c.isascii() and c.isalnum()

    ends_ok = all(alnum(c) or is_cjk(c) for c in (v[0], v[-1]))
    return None if ends_ok and all(alnum(c) for c in v[1:-1]) else "not a licence plate"


def _v_name(v, _):
    if not all(c.isalpha() or c == " " or _is_symbol(c) for c in v):
        return "letters, Chinese characters and symbols only"
    if any(is_cjk(c) for c in v):  # mixed text counts as Chinese
        return None if len(v) <= 10 else "longer than 10 Chinese characters"
    return None if len(v) <= 20 else "longer than 20 letters"


def _v_phrase(v, _):
    if len(v) > 5:
        return "longer than 5 Chinese characters"
    return None if all(is_cjk(c) for c in v) else "Chinese characters only"


def _v_enum(v, choices):
    if choices is None:  # the sandbox knows no enum values unless configured
        return _v_thing(v, None)
    return None if v in choices else "not one of the enum values"


_VALIDATORS = {
    "thing": _v_thing, "number": _v_number, "letter": _v_letter, "symbol": _v_symbol,
    "character_string": _v_character_string, "time": _v_time, "date": _v_date,
    "amount": _v_amount, "phone_number": _v_phone_number, "car_number": _v_car_number,
    "name": _v_name, "phrase": _v_phrase, "enum": _v_enum,
}


# -- coercion -----------------------------------------------------------------------

def clean_text(text: str) -> str:
    """Newlines and tabs become spaces, other control characters go, runs of spaces
    collapse: WeChat rejects control characters in every keyword type."""
    out = []
    for ch in text:
        if ch in "\r\n\t\v\f":
            out.append(" ")
        elif unicodedata.category(ch) != "Cc":
            out.append(ch)
    return " ".join("".join(out).split())


def coerce_value(kind: str, value, choices=None) -> str:
    """A string WeChat accepts for `kind`, made from `value` by cleaning, truncating and
    formatting. Raises ValueError when no faithful value exists (a `phrase` without
    Chinese characters, text where a time is needed...); the message never echoes the
    value. Non-strings: datetime/date/time for `time`/`date` (aware ones shown in
    UTC+8), int (fen, Tihuo's money unit) or Decimal/float (yuan) for `amount`,
    numbers for `number`."""
    if kind not in KINDS:
        raise ValueError(f"unknown keyword type {kind!r}")
    text = _format_object(kind, value)
    if text is None:
        text = _COERCERS.get(kind, lambda t: t)(clean_text(str(value)))
    reason = validate_value(kind, text, choices)
    if reason:
        raise ValueError(f"cannot make a valid {kind} value: {reason}")
    return text


def _format_object(kind: str, value) -> str | None:
    if isinstance(value, bool):
        return None
    if kind in ("time", "date"):
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                value = value.astimezone(CHINA_TZ)
            return value.strftime("%Y-%m-%d %H:%M")
        if isinstance(value, date):
            return value.strftime("%Y-%m-%d")
        if isinstance(value, time) and kind == "time":
            return value.strftime("%H:%M")
    if kind == "amount":
        if isinstance(value, int):
            if value < 0:
                raise ValueError("cannot make a valid amount value: negative")
            return f"¥{value // 100}.{value % 100:02d}"
        if isinstance(value, (Decimal, float)):
            return _yuan(Decimal(str(value)))
    if kind == "number" and isinstance(value, (int, float, Decimal)):
        return format(Decimal(str(value)), "f")
    return None


def _yuan(amount: Decimal) -> str:
    if amount < 0:
        raise ValueError("cannot make a valid amount value: negative")
    return f"¥{amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}"


def _c_thing(t):
    return t if len(t) <= 20 else t[:19] + "…"


def _c_amount(t):
    t = t.replace(" ", "")
    if _BARE_AMOUNT_RE.match(t):
        try:
            return _yuan(Decimal(t))
        except InvalidOperation:  # pragma: no cover - the regex already guards it
            return t
    return t


def _c_name(t):
    t = " ".join("".join(c for c in t if not c.isdigit()).split())
    return t[:10].strip() if any(is_cjk(c) for c in t) else t[:20].strip()


_COERCERS = {
    "thing": _c_thing,
    "enum": _c_thing,
    "character_string": lambda t: "".join(c for c in t if "\x21" <= c <= "\x7e")[:32],
    "letter": lambda t: "".join(c for c in t if c.isascii() and c.isalpha())[:32],
    "symbol": lambda t: "".join(c for c in t if _is_symbol(c))[:5],
    "phrase": lambda t: "".join(c for c in t if is_cjk(c))[:5],
    "time": lambda t: t.replace("～", "~").replace(" ~ ", "~"),
    "date": lambda t: t.replace("～", "~").replace(" ~ ", "~"),
    "amount": _c_amount,
    "phone_number": lambda t: t.replace("（", "(").replace("）", ")"),
    "car_number": lambda t: t.replace(" ", "").upper(),
    "name": _c_name,
    "number": lambda t: t.replace(" ", ""),
}
