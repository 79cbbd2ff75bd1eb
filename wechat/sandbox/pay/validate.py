"""Field rules of the Pay endpoints (§4.4, §4.8, §4.9): violations raise PayError
400 PARAM_ERROR with detail {"location", "value"}, the shape of real answers."""
from __future__ import annotations

import re
from datetime import date, datetime
from urllib.parse import urlsplit

from wechat.sandbox.pay.models import PayError

OUT_TRADE_NO_RE = re.compile(r"[0-9A-Za-z_\-|*]{6,32}")
OUT_REFUND_NO_RE = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")
RFC3339_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")
BILL_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

_LABELS = {
    "appid": "应用ID", "mchid": "直连商户号", "description": "商品描述",
    "out_trade_no": "商户订单号", "time_expire": "交易结束时间", "attach": "附加数据",
    "notify_url": "通知地址", "goods_tag": "订单优惠标记", "support_fapiao": "电子发票入口开放标识",
    "amount": "订单金额", "amount/total": "总金额", "amount/currency": "货币类型",
    "amount/refund": "退款金额", "payer": "支付者", "payer/openid": "用户标识",
    "detail": "优惠功能", "scene_info": "场景信息", "settle_info": "结算信息",
    "out_refund_no": "商户退款单号", "transaction_id": "微信支付订单号", "reason": "退款原因",
    "funds_account": "退款资金来源", "goods_detail": "退款商品", "bill_date": "账单日期",
    "bill_type": "账单类型", "tar_type": "压缩类型",
}


def param_error(path: str, value, reason: str, location: str = "body") -> PayError:
    label = _LABELS.get(path, path.rsplit("/", 1)[-1])
    return PayError(400, "PARAM_ERROR", f"输入源“/{location}/{path}”映射到值字段“{label}”{reason}",
                    {"location": location, "value": value})


def _get(body: dict, path: str):
    value = body
    for part in path.split("/"):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _string(body: dict, path: str, max_len: int, required: bool = True,
            pattern: re.Pattern | None = None, min_len: int = 1) -> str | None:
    value = _get(body, path)
    if value is None:
        if required:
            raise param_error(path, None, "缺少必填参数")
        return None
    if not isinstance(value, str):
        raise param_error(path, value, "类型错误，应为字符串")
    if not min_len <= len(value) <= max_len:
        raise param_error(path, value, f"字符串规则校验失败，长度 {len(value)}，"
                                       f"应在 {min_len} 到 {max_len} 之间")
    if pattern is not None and not pattern.fullmatch(value):
        raise param_error(path, value, "字符串规则校验失败，含有不允许的字符")
    return value


def _positive_int(body: dict, path: str) -> int:
    value = _get(body, path)
    if value is None:
        raise param_error(path, None, "缺少必填参数")
    if not isinstance(value, int) or isinstance(value, bool):
        raise param_error(path, value, "类型错误，应为整数（单位：分）")
    if value <= 0:
        raise param_error(path, value, f"数值规则校验失败，{value} 小于最小值 1")
    return value


def _currency(body: dict, required: bool) -> str:
    value = _string(body, "amount/currency", 16, required=required)
    if value is not None and value != "CNY":
        raise param_error("amount/currency", value, "只支持人民币 CNY")
    return "CNY"


def _object(body: dict, path: str, required: bool = False, kind=dict) -> None:
    value = _get(body, path)
    if value is None:
        if required:
            raise param_error(path, None, "缺少必填参数")
    elif not isinstance(value, kind):
        raise param_error(path, value, "类型错误")


def notify_url(body: dict, path: str, max_len: int, required: bool,
               allow_http_loopback: bool) -> str | None:
    url = _string(body, path, max_len, required=required)
    if url is None:
        return None
    parts = urlsplit(url)
    loopback = (allow_http_loopback and parts.scheme == "http"
                and parts.hostname in LOOPBACK_HOSTS)
    if not (parts.scheme == "https" or loopback) or not parts.hostname:
        raise param_error(path, url, "必须是 https 地址")
    if parts.query or "?" in url or parts.fragment:
        raise param_error(path, url, "不能携带参数")
    return url


def rfc3339(body: dict, path: str) -> str | None:
    value = _string(body, path, 64, required=False)
    if value is None:
        return None
    ok = RFC3339_RE.fullmatch(value)
    if ok:
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            ok = None
    if not ok:
        raise param_error(path, value, "必须是符合 RFC3339 日期时间格式，如 "
                                       "2018-06-08T10:34:56+08:00")
    return value


def prepay(body: dict, allow_http_loopback: bool) -> None:
    _string(body, "appid", 32)
    _string(body, "mchid", 32)
    _string(body, "description", 127)
    _string(body, "out_trade_no", 32, pattern=OUT_TRADE_NO_RE, min_len=6)
    rfc3339(body, "time_expire")
    _string(body, "attach", 128, required=False, min_len=0)
    notify_url(body, "notify_url", 255, True, allow_http_loopback)
    _string(body, "goods_tag", 32, required=False)
    value = body.get("support_fapiao")
    if value is not None and not isinstance(value, bool):
        raise param_error("support_fapiao", value, "类型错误，应为布尔值")
    _object(body, "amount", required=True)
    _positive_int(body, "amount/total")
    _currency(body, required=False)
    _object(body, "payer", required=True)
    _string(body, "payer/openid", 128)
    for key in ("detail", "scene_info", "settle_info"):
        _object(body, key)


def refund(body: dict, allow_http_loopback: bool) -> None:
    if body.get("transaction_id") is None and body.get("out_trade_no") is None:
        raise param_error("out_trade_no", None, "transaction_id 和 out_trade_no 必须二选一")
    _string(body, "transaction_id", 32, required=False)
    _string(body, "out_trade_no", 32, required=False)
    _string(body, "out_refund_no", 64, pattern=OUT_REFUND_NO_RE)
    _string(body, "reason", 80, required=False)
    notify_url(body, "notify_url", 256, False, allow_http_loopback)
    funds = _string(body, "funds_account", 32, required=False)
    if funds is not None and funds != "AVAILABLE":
        raise param_error("funds_account", funds, "只能为 AVAILABLE")
    _object(body, "amount", required=True)
    _positive_int(body, "amount/refund")
    _positive_int(body, "amount/total")
    _currency(body, required=True)
    _object(body, "amount/from", kind=list)
    _object(body, "goods_detail", kind=list)


def bill_query(args) -> tuple[date, str, str | None]:
    raw = args.get("bill_date")
    if raw is None:
        raise param_error("bill_date", None, "缺少必填参数", "query")
    try:
        if not BILL_DATE_RE.fullmatch(raw):
            raise ValueError
        day = date.fromisoformat(raw)
    except ValueError:
        raise param_error("bill_date", raw, "必须是 yyyy-MM-DD 格式的日期", "query") from None
    bill_type = args.get("bill_type", "ALL")
    if bill_type not in ("ALL", "SUCCESS", "REFUND"):
        raise param_error("bill_type", bill_type, "只能为 ALL、SUCCESS 或 REFUND", "query")
    tar_type = args.get("tar_type")
    if tar_type not in (None, "GZIP"):
        raise param_error("tar_type", tar_type, "只能为 GZIP", "query")
    return day, bill_type, tar_type
