"""What a staff alert says and to whom it goes, per event.

Each event yields named values; the template configuration (WECHAT_OA_ALERT_TEMPLATES)
maps template keywords to these names, and each value is formatted by its keyword's
type (thing ≤ 20 characters, amount "¥12.30", time in UTC+8 …, wechat.subscribe_rules).

| event | payload | values | recipients (bound, active) |
| --- | --- | --- | --- |
| new_paid_order | order_id, store_id | order_no, store, amount, items, time | clerks + managers of the store |
| pickup_locked | order_id, store_id | order_no, store, reason, time | clerks + managers of the store |
| stock_level | store_id, sku_id, level, available, baseline, level_event_id | item, store, level, available, baseline, time | managers of the store + admins |
| payment_case | case_id, kind | case, order_no, store, amount, time | managers of the order's store + admins |
| reconciliation_differences | report_id, bill_date, count | title, bill_date, count, time | admins |
| shipping_upload_failed | order_id, store_id, reason | order_no, store, reason, time, title | managers of the store |
| parcel_exception | order_id, store_id, reason, issue_id | order_no, store, reason, time, title | clerks + managers of the store |
| bottleneck | store_id, day, step, p90_s, usual_p90_s, kind | title, store, reason, day, time | managers of the store + admins |
| aftersale_requested | after_sale_id, store_id | after_sale_no, store, reason, time, title | managers of the store |
| aftersale_escalated | after_sale_id, store_id | after_sale_no, store, reason, time, title | managers of the store + admins |
| aftersale_due | after_sale_id, store_id, deadline | after_sale_no, store, reason, time (the deadline), title | managers of the store |
| webhook_endpoint_disabled | endpoint_id, client_id, reason | title, reason, case, time | admins |
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from app.extensions import db
from models.aftersales.tables import AfterSale
from models.base import utcnow
from models.catalog import Product, Sku
from models.orders.tables import Order
from models.payments.tables import PaymentCase
from models.staff.abilities import Role
from models.stock.tables import StockLevelEvent
from models.stores import Store

# event → (store roles, admins too)
ROUTES: dict[str, tuple[frozenset, bool]] = {
    "new_paid_order": (frozenset({Role.clerk, Role.manager}), False),
    "pickup_locked": (frozenset({Role.clerk, Role.manager}), False),
    "stock_level": (frozenset({Role.manager}), True),
    "payment_case": (frozenset({Role.manager}), True),
    "reconciliation_differences": (frozenset(), True),
    "shipping_upload_failed": (frozenset({Role.manager}), False),
    "bottleneck": (frozenset({Role.manager}), True),
    "aftersale_requested": (frozenset({Role.manager}), False),
    "aftersale_escalated": (frozenset({Role.manager}), True),
    "aftersale_due": (frozenset({Role.manager}), False),
    "parcel_exception": (frozenset({Role.clerk, Role.manager}), False),
    "webhook_endpoint_disabled": (frozenset(), True),
}

LEVEL_TEXT = {"red": "库存告急", "closed": "暂停售卖", "critical": "库存见底"}
CASE_TEXT = {
    "amount_mismatch": "支付金额与订单不符", "mchid_mismatch": "支付商户号不符",
    "appid_mismatch": "支付应用号不符", "second_transaction": "同一订单重复支付",
    "paid_after_cancel": "订单取消后到账，已自动退款",
}


@dataclass
class Alert:
    event: str
    store_id: int | None
    values: dict = field(default_factory=dict)


def render(payload: dict) -> Alert | None:
    """None when the event is unknown or what it is about no longer exists."""
    fn = _RENDERERS.get(payload.get("event"))
    return fn(payload) if fn else None


def _store_name(store_id) -> str | None:
    store = db.session.get(Store, store_id) if store_id else None
    return store.name if store else None


def _order(payload: dict):
    return db.session.get(Order, payload.get("order_id")) if payload.get("order_id") else None


def _new_paid_order(p: dict) -> Alert | None:
    order = _order(p)
    if order is None:
        return None
    qty = sum(i.qty for i in order.items)
    first = order.items[0].name if order.items else ""
    return Alert("new_paid_order", order.store_id, {
        "order_no": order.order_no, "store": _store_name(order.store_id),
        "amount": order.payable_fen, "items": f"{first} 等{qty}件" if qty > 1 else first,
        "time": order.paid_at or utcnow(), "title": "新订单待备货"})


def _pickup_locked(p: dict) -> Alert | None:
    order = _order(p)
    if order is None:
        return None
    return Alert("pickup_locked", order.store_id, {
        "order_no": order.order_no, "store": _store_name(order.store_id),
        "reason": "取货码多次输错，待店长核验", "time": utcnow(), "title": "取货码已锁定"})


def _stock_level(p: dict) -> Alert | None:
    sku = db.session.get(Sku, p.get("sku_id")) if p.get("sku_id") else None
    if sku is None or p.get("level") not in LEVEL_TEXT:
        return None
    product = db.session.get(Product, sku.product_id)
    event = db.session.get(StockLevelEvent, p["level_event_id"]) if p.get("level_event_id") else None
    return Alert("stock_level", p.get("store_id"), {
        "item": f"{product.name if product else ''} {sku.spec}".strip(),
        "store": _store_name(p.get("store_id")), "level": LEVEL_TEXT[p["level"]],
        "available": p.get("available"), "baseline": p.get("baseline"),
        "time": event.at if event else utcnow(), "title": "库存预警"})


def _payment_case(p: dict) -> Alert | None:
    case = db.session.get(PaymentCase, p.get("case_id")) if p.get("case_id") else None
    if case is None:
        return None
    order = db.session.get(Order, case.order_id) if case.order_id else None
    amount = (case.details or {}).get("amount") or {}
    paid = amount.get("payer_total", amount.get("total")) if isinstance(amount, dict) else None
    if not isinstance(paid, int):
        paid = order.payable_fen if order else None
    return Alert("payment_case", order.store_id if order else None, {
        "case": CASE_TEXT.get(case.kind, case.kind), "order_no": order.order_no if order else "-",
        "store": _store_name(order.store_id) if order else None, "amount": paid,
        "time": case.created_at, "title": "支付异常待处理"})


def _reconciliation(p: dict) -> Alert | None:
    try:
        bill_date = date.fromisoformat(p.get("bill_date") or "")
    except ValueError:
        return None
    return Alert("reconciliation_differences", None, {
        "title": "对账差异待处理", "bill_date": bill_date, "count": p.get("count"),
        "time": utcnow()})


def _shipping_upload_failed(p: dict) -> Alert | None:
    order = _order(p)
    if order is None:
        return None
    # WeChat's reason is short and holds no personal data (Result.reason's rule).
    return Alert("shipping_upload_failed", order.store_id, {
        "order_no": order.order_no, "store": _store_name(order.store_id),
        "reason": p.get("reason") or "微信拒绝了发货信息", "time": utcnow(),
        "title": "发货信息上传失败"})


def _parcel_exception(p: dict) -> Alert | None:
    order = _order(p)
    if order is None:
        return None
    return Alert("parcel_exception", order.store_id, {
        "order_no": order.order_no, "store": _store_name(order.store_id),
        "reason": p.get("reason") or "物流异常", "time": utcnow(), "title": "包裹异常待处理"})


STEP_TEXT = {"pay": "付款", "ready": "备货", "pickup": "到店提货", "ship": "发货", "deliver": "配送"}


def duration_text(seconds: int | None) -> str:
    """3725 → "1小时2分"; under a minute → "不到1分钟"."""
    if not isinstance(seconds, int) or seconds < 60:
        return "不到1分钟"
    days, rest = divmod(seconds // 60, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days}天" if days else "", f"{hours}小时" if hours else "", f"{minutes}分" if minutes and not days else ""]
    return "".join(parts) or "不到1分钟"


def _bottleneck(p: dict) -> Alert | None:
    if p.get("step") not in STEP_TEXT or not _store_name(p.get("store_id")):
        return None
    try:
        day = date.fromisoformat(p.get("day") or "")
    except ValueError:
        return None
    usual = "其他门店" if p.get("kind") == "vs_stores" else "以往"
    # thing ≤ 20 characters: "备货慢：9成订单2小时5分内（以往1小时）" fits once the rules cut it.
    reason = (f"{STEP_TEXT[p['step']]}慢：9成订单{duration_text(p.get('p90_s'))}内"
              f"（{usual}{duration_text(p.get('usual_p90_s'))}）")
    return Alert("bottleneck", p.get("store_id"), {
        "title": f"{STEP_TEXT[p['step']]}环节变慢", "store": _store_name(p.get("store_id")),
        "reason": reason, "day": day, "time": utcnow()})


AFTERSALE_TEXT = {"aftersale_requested": ("新的售后申请", "请在48小时内处理"),
                  "aftersale_escalated": ("售后已升级", "商家未按时处理或买家申诉"),
                  "aftersale_due": ("售后即将超时", "请在截止前处理")}


def _aftersale(p: dict) -> Alert | None:
    sale = db.session.get(AfterSale, p.get("after_sale_id")) if p.get("after_sale_id") else None
    if sale is None or p.get("event") not in AFTERSALE_TEXT:
        return None
    title, reason = AFTERSALE_TEXT[p["event"]]
    at = datetime.fromisoformat(p["deadline"]) if p.get("deadline") else utcnow()
    return Alert(p["event"], sale.store_id, {
        "after_sale_no": sale.after_sale_no, "store": _store_name(sale.store_id),
        "reason": f"{reason}：{sale.reason}", "time": at, "title": title})


def _webhook_disabled(p: dict) -> Alert | None:
    # No personal data: the endpoint's number and the reason we wrote ourselves.
    return Alert("webhook_endpoint_disabled", None, {
        "title": "合作方回调地址已停用", "reason": p.get("reason") or "持续投递失败",
        "case": f"webhook #{p.get('endpoint_id')}", "time": utcnow()})


_RENDERERS = {
    "aftersale_requested": _aftersale,
    "aftersale_escalated": _aftersale,
    "aftersale_due": _aftersale,
    "webhook_endpoint_disabled": _webhook_disabled,
    "new_paid_order": _new_paid_order,
    "pickup_locked": _pickup_locked,
    "stock_level": _stock_level,
    "payment_case": _payment_case,
    "reconciliation_differences": _reconciliation,
    "shipping_upload_failed": _shipping_upload_failed,
    "bottleneck": _bottleneck,
    "parcel_exception": _parcel_exception,
}
