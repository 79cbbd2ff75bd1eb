"""Parsing of the trade bill (对账单, protocol §4.9).

The file: a header row, detail rows whose every field starts with a backtick, a summary
header row and one backtick-prefixed summary row. Amounts are yuan strings; they come
out as integer fen, converted with Decimal (never through a float)."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

DETAIL_COLUMNS = {
    "交易时间": "trade_time",
    "公众账号ID": "appid",
    "商户号": "mchid",
    "特约商户号": "sub_mchid",
    "设备号": "device_info",
    "微信订单号": "transaction_id",
    "商户订单号": "out_trade_no",
    "用户标识": "openid",
    "交易类型": "trade_type",
    "交易状态": "trade_state",
    "付款银行": "bank_type",
    "货币种类": "currency",
    "应结订单金额": "total_fen",
    "代金券金额": "coupon_fen",
    "微信退款单号": "refund_id",
    "商户退款单号": "out_refund_no",
    "退款金额": "refund_fen",
    "充值券退款金额": "coupon_refund_fen",
    "退款类型": "refund_type",
    "退款状态": "refund_state",
    "商品名称": "description",
    "商户数据包": "attach",
    "手续费": "fee_fen",
    "费率": "fee_rate",  # e.g. "0.60%": kept as text
    "订单金额": "order_amount_fen",
    "申请退款金额": "requested_refund_fen",
    "费率备注": "fee_rate_note",
    "退款申请时间": "refund_apply_time",
    "退款成功时间": "refund_success_time",
}
SUMMARY_COLUMNS = {
    "总交易单数": "total_count",
    "应结订单总金额": "total_fen",
    "退款总金额": "refund_fen",
    "充值券退款总金额": "coupon_refund_fen",
    "手续费总金额": "fee_fen",
    "订单总金额": "order_amount_fen",
    "申请退款总金额": "requested_refund_fen",
}
_SUMMARY_FIRST = "总交易单数"
# Fees are written with 5 decimals ("0.04000"). Every bill seen has whole fen, but a
# sub-fen fee must not make the whole bill unreadable: it comes out as an exact Decimal.
_FEE_KEYS = frozenset({"fee_fen"})


def yuan_to_fen(value: str) -> int:
    """"1234.56" → 123456, exactly. ValueError for anything that is not whole fen."""
    fen = _fen(value)
    if fen != fen.to_integral_value():
        raise ValueError(f"not an amount in whole fen: {value!r}")
    return int(fen)


def _fen(value: str) -> Decimal:
    try:
        fen = Decimal(value.strip()) * 100
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None
    if not fen.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    return fen


def _fields(line: str) -> list[str]:
    # Values may contain commas (商品名称); the separator is really ",`".
    if line.startswith("`"):
        return line[1:].split(",`")
    return line.split(",")


def _row(header: list[str], line: str, names: dict[str, str]) -> dict:
    values = _fields(line)
    if len(values) != len(header):
        raise ValueError(f"bill row has {len(values)} fields, header has {len(header)}")
    row = {}
    for title, value in zip(header, values):
        key = names.get(title, title)  # unknown columns keep their Chinese name
        value = value.strip()
        if not value and (key.endswith("_fen") or key == "total_count"):
            row[key] = None
        elif key in _FEE_KEYS:
            fen = _fen(value)
            row[key] = int(fen) if fen == fen.to_integral_value() else fen
        elif key.endswith("_fen"):
            row[key] = yuan_to_fen(value)
        elif key == "total_count":
            row[key] = int(value)
        else:
            row[key] = value
    return row


def parse_trade_bill(text: str) -> tuple[list[dict], dict]:
    """(detail rows, summary) of an ALL / SUCCESS / REFUND bill; `\\n` or `\\r\\n`."""
    lines = [ln for ln in text.lstrip("\ufeff").splitlines() if ln.strip()]
    if not lines:
        raise ValueError("empty bill")
    header = [h.strip() for h in lines[0].split(",")]
    rows, summary = [], {}
    i = 1
    while i < len(lines) and not lines[i].startswith(_SUMMARY_FIRST):
        rows.append(_row(header, lines[i], DETAIL_COLUMNS))
        i += 1
    if i < len(lines):
        summary_header = [h.strip() for h in lines[i].split(",")]
        if i + 1 >= len(lines):
            raise ValueError("bill summary header without a summary row")
        summary = _row(summary_header, lines[i + 1], SUMMARY_COLUMNS)
    return rows, summary
