"""The trade bill file (§4.9): CSV, amounts in yuan, every value backtick-prefixed,
a summary at the end, CRLF line ends. Built from the sandbox's payments (by
success_time) and refunds (by create_time) of one Asia/Shanghai day, plus rows a test
injected through `/_/pay/bill-rows`."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from wechat.sandbox.pay.models import SHANGHAI, local_time

ALL_COLUMNS = ("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,"
               "交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,"
               "商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,"
               "手续费,费率,订单金额,申请退款金额,费率备注").split(",")
_REFUND_ONLY = {"微信退款单号", "商户退款单号", "退款金额", "充值券退款金额", "退款类型",
                "退款状态", "申请退款金额"}
SUCCESS_COLUMNS = [c for c in ALL_COLUMNS if c not in _REFUND_ONLY]
_AT = ALL_COLUMNS.index("代金券金额") + 1
REFUND_COLUMNS = ALL_COLUMNS[:_AT] + ["退款申请时间", "退款成功时间"] + ALL_COLUMNS[_AT:]
COLUMNS = {"ALL": ALL_COLUMNS, "SUCCESS": SUCCESS_COLUMNS, "REFUND": REFUND_COLUMNS}
SUMMARY_COLUMNS = ["总交易单数", "应结订单总金额", "退款总金额", "充值券退款总金额",
                   "手续费总金额", "订单总金额", "申请退款总金额"]
_SUMMED = ["应结订单金额", "退款金额", "充值券退款金额", "手续费", "订单金额", "申请退款金额"]
FEE_RATE = "0.60%"


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def fee(fen: int) -> int:
    """0.6 %, rounded half up to the fen."""
    return (fen * 6 + 500) // 1000


def _day(ts: float) -> date:
    return datetime.fromtimestamp(ts, SHANGHAI).date()


def _payment_row(tx) -> dict:
    return {"交易时间": local_time(tx.success_time), "公众账号ID": tx.appid, "商户号": tx.mchid,
            "微信订单号": tx.transaction_id, "商户订单号": tx.out_trade_no,
            "用户标识": tx.openid, "交易类型": "JSAPI", "交易状态": "SUCCESS",
            "付款银行": tx.bank_type, "货币种类": "CNY", "应结订单金额": yuan(tx.total),
            "代金券金额": "0.00", "微信退款单号": "0", "商户退款单号": "0", "退款金额": "0.00",
            "充值券退款金额": "0.00", "商品名称": tx.description, "商户数据包": tx.attach or "",
            "手续费": yuan(fee(tx.total)), "费率": FEE_RATE, "订单金额": yuan(tx.total),
            "申请退款金额": "0.00"}


def _refund_row(refund, tx) -> dict:
    return {"交易时间": local_time(refund.created_at), "公众账号ID": tx.appid,
            "商户号": refund.mchid, "微信订单号": refund.transaction_id,
            "商户订单号": refund.out_trade_no, "用户标识": tx.openid, "交易类型": "JSAPI",
            "交易状态": "REFUND", "付款银行": tx.bank_type, "货币种类": "CNY",
            "应结订单金额": "0.00", "代金券金额": "0.00",
            "退款申请时间": local_time(refund.created_at),
            "退款成功时间": local_time(refund.success_time) if refund.success_time else "",
            "微信退款单号": refund.refund_id, "商户退款单号": refund.out_refund_no,
            "退款金额": yuan(refund.refund), "充值券退款金额": "0.00", "退款类型": "ORIGINAL",
            "退款状态": refund.status, "商品名称": tx.description, "商户数据包": tx.attach or "",
            "手续费": yuan(-fee(refund.refund)), "费率": FEE_RATE, "订单金额": "0.00",
            "申请退款金额": yuan(refund.refund)}


def rows_for(pay, mchid: str, day: date, bill_type: str) -> list[dict]:
    rows = []
    txs = {tx.transaction_id: tx for tx in pay.transactions(mchid) if tx.transaction_id}
    if bill_type in ("ALL", "SUCCESS"):
        rows += [(tx.success_time, _payment_row(tx)) for tx in txs.values()
                 if _day(tx.success_time) == day]
    if bill_type in ("ALL", "REFUND"):
        rows += [(r.created_at, _refund_row(r, txs[r.transaction_id]))
                 for r in pay.refunds(mchid) if _day(r.created_at) == day]
    rows = [row for _, row in sorted(rows, key=lambda item: item[0])]
    for extra in list(pay.extra_bill_rows):
        if (extra["bill_date"] == day.isoformat() and extra.get("mchid") in (None, mchid)
                and (bill_type == "ALL" or extra["kind"] == {"SUCCESS": "payment",
                                                             "REFUND": "refund"}[bill_type])):
            rows.append(dict(extra["fields"]))
    return rows


def _fen(text: str) -> int:
    try:
        return int((Decimal(text or "0") * 100).to_integral_value())
    except InvalidOperation:
        return 0


def render(rows: list[dict], bill_type: str) -> str:
    columns = COLUMNS[bill_type]
    lines = [",".join(columns)]
    lines += [",".join("`" + str(row.get(c, "")) for c in columns) for row in rows]
    totals = {c: sum(_fen(row.get(c, "0")) for row in rows) for c in _SUMMED}
    summary = [str(len(rows))] + [yuan(totals[c]) for c in _SUMMED]
    lines += [",".join(SUMMARY_COLUMNS), ",".join("`" + v for v in summary)]
    return "\r\n".join(lines) + "\r\n"
