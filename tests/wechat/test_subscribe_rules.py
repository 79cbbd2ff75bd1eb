"""Keyword value rules (protocol doc §2.1): valid and invalid examples per type, and
what coerce_value makes of raw values."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest

from wechat.subscribe_rules import KINDS, coerce_value, keyword_type, validate_value


@pytest.mark.parametrize("key, kind", [
    ("thing1", "thing"), ("character_string2", "character_string"), ("time3", "time"),
    ("amount4", "amount"), ("phrase5", "phrase"), ("number01", "number"),
    ("letter6", "letter"), ("symbol7", "symbol"), ("date8", "date"),
    ("phone_number9", "phone_number"), ("car_number10", "car_number"), ("name11", "name"),
    ("enum12", "enum"), ("thing1.DATA", "thing"), ("thing", "thing"),
])
def test_keyword_type(key, kind):
    assert keyword_type(key) == kind
    assert kind in KINDS


VALID = {
    "thing": ["人民广场店", "Ready @ Store #3", "二" * 20],
    "number": ["0", "12", "-3", "3.1415", "9" * 32],
    "letter": ["abc", "Z" * 32],
    "symbol": ["%", "#@!", "-----"],
    "character_string": ["T20240501000123", "A-1_2/3", "x" * 32],
    "time": ["15:01", "09:05:30", "2019年10月1日 15:01", "10月1日 08:00",
             "2024-05-01 12:00", "2024/05/01 12:00:59", "15:01~16:00",
             "2019年10月1日 15:01 ~ 2019年10月1日 17:00"],
    "date": ["2019年10月1日", "10月1日", "2024-05-01", "2024-05-01 12:00",
             "2019年10月1日~2019年10月7日", "2024-02-29"],
    "amount": ["¥12.30", "￥0.5", "$100", "12.30元", "¥100元", "¥1234567890"],
    "phone_number": ["13800138000", "+86-0766-66888866", "(021) 6666 8888"],
    "car_number": ["粤A8Y0X8", "粤B12345学", "AB1234", "粤AD12345"],
    "name": ["张三", "张三丰李四王五赵六钱", "John Smith", "Jean-Luc Picard", "李Lee"],
    "phrase": ["配送中", "待取货", "已完成取货"],
    "enum": ["anything short"],
}

INVALID = {
    "thing": ["二" * 21, "line\nbreak", "tab\there", ""],
    "number": ["12a", "1.", "一", "9" * 33],
    "letter": ["abc1", "a b", "é", "a" * 33],
    "symbol": ["a", "%%%%%%", "1"],
    "character_string": ["订单1", "has space", "x" * 33],
    "time": ["tomorrow", "25:00", "12:60", "2024-13-01 12:00", "2019年10月1日",
             "15:01~16:00~17:00", "1501"],
    "date": ["15:01", "2024-02-30", "yesterday", "2019年13月1日"],
    "amount": ["十二元", "¥12.345", "¥12345678901", "12,30", "-¥1", "¥"],
    "phone_number": ["1380013800012345678", "call me", "+-()"],
    "car_number": ["粤A8Y0X8XYZ", "粤A-8Y0X8", "A", "粤粤粤"],
    "name": ["张三1", "张三丰李四王五赵六钱孙", "J" * 21, "R2D2"],
    "phrase": ["ready", "配送中了吗？", "已完成取货了", "配送 中"],
}


@pytest.mark.parametrize("kind, value", [(k, v) for k, vs in VALID.items() for v in vs])
def test_valid_values(kind, value):
    assert validate_value(kind, value) is None


@pytest.mark.parametrize("kind, value", [(k, v) for k, vs in INVALID.items() for v in vs])
def test_invalid_values(kind, value):
    reason = validate_value(kind, value)
    assert isinstance(reason, str) and reason
    assert len(value) < 3 or value not in reason  # reasons never echo the value


def test_enum_uses_configured_choices():
    assert validate_value("enum", "已发货", choices=["已发货", "已取消"]) is None
    assert validate_value("enum", "配送中", choices=["已发货", "已取消"]) is not None


def test_non_strings_and_unknown_kinds_are_invalid():
    assert validate_value("number", 12) == "must be a string"
    assert "unknown" in validate_value("colour", "red")


CHINA = timezone(timedelta(hours=8))


@pytest.mark.parametrize("kind, raw, expected", [
    ("thing", "人民广场旗舰店（地铁1号线2号口出站右转100米处）", "人民广场旗舰店（地铁1号线2号口出站右…"),
    ("thing", "two\nlines\t and  spaces", "two lines and spaces"),
    ("thing", "bell\x07char", "bellchar"),
    ("character_string", "订单 T-0001", "T-0001"),
    ("character_string", "A" * 40, "A" * 32),
    ("phrase", "配送中 (delivering)", "配送中"),
    ("phrase", "已完成取货了哦", "已完成取货"),
    ("letter", "abc123def", "abcdef"),
    ("symbol", "a%b#c", "%#"),
    ("amount", 1230, "¥12.30"),
    ("amount", 5, "¥0.05"),
    ("amount", Decimal("12.345"), "¥12.35"),
    ("amount", 9.9, "¥9.90"),
    ("amount", "12.3", "¥12.30"),
    ("amount", "¥12.30", "¥12.30"),
    ("number", 42, "42"),
    ("number", Decimal("3.50"), "3.50"),
    ("time", datetime(2024, 5, 1, 4, 30, tzinfo=timezone.utc), "2024-05-01 12:30"),
    ("time", datetime(2024, 5, 1, 9, 15), "2024-05-01 09:15"),
    ("time", time(7, 5), "07:05"),
    ("time", "15:01 ～ 16:00", "15:01~16:00"),
    ("date", date(2024, 5, 1), "2024-05-01"),
    ("date", datetime(2024, 5, 1, 23, 0, tzinfo=CHINA), "2024-05-01 23:00"),
    ("car_number", "粤a 8y0x8", "粤A8Y0X8"),
    ("name", "张三丰李四王五赵六钱孙李", "张三丰李四王五赵六钱"),
    ("name", "Agent 007 Bond", "Agent Bond"),
    ("phone_number", "（021）66668888", "(021)66668888"),
    ("enum", "已发货\n", "已发货"),
])
def test_coerce_value(kind, raw, expected):
    out = coerce_value(kind, raw)
    assert out == expected
    assert validate_value(kind, out) is None


@pytest.mark.parametrize("kind, raw", [
    ("phrase", "ready"), ("time", "tomorrow morning"), ("amount", -5),
    ("number", "twelve"), ("letter", "123"), ("character_string", "订单"),
    ("phone_number", "1" * 18), ("colour", "red"),
])
def test_coerce_value_refuses_what_cannot_be_made_valid(kind, raw):
    with pytest.raises(ValueError) as exc:
        coerce_value(kind, raw)
    assert str(raw) not in str(exc.value) or kind == "colour"


def test_coerce_enum_checks_choices():
    assert coerce_value("enum", "已取消", choices=["已取消"]) == "已取消"
    with pytest.raises(ValueError):
        coerce_value("enum", "其他", choices=["已取消"])
