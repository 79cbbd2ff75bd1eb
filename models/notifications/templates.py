"""Subscribe-message templates per event (configuration), and rendering an event into
the `data` WeChat accepts.

A template names, for each of its keywords, one *field* of the event (the vocabulary
below). Values are made to obey the keyword's rules before sending
(`wechat.subscribe_rules.coerce_value`: `thing` cut to 20 characters, `phrase` to 5 CJK,
`character_string` to 32 ASCII, fen → `¥12.80`, times in Asia/Shanghai ...); a value that
cannot be made valid fails the message rather than sending what WeChat rejects. Every
configured template is rendered once with sample values at start-up, so a mapping that
could never work (a `phrase` keyword showing the order number) refuses to start.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from flask import Flask, current_app
from sqlalchemy import func, select

from app.config import ConfigError
from app.extensions import db
from models.aftersales.tables import AfterSale
from models.payments.tables import Refund
from models.stores import Store
from wechat.subscribe_rules import CHINA_TZ, KINDS, coerce_value, keyword_type

EVENTS = ("order_paid", "ready_for_pickup", "order_picked_up", "pickup_expiring",
          "order_cancelled", "pickup_expired_refunded", "order_shipped", "refund_succeeded",
          "aftersale_approved", "aftersale_due",
          # A parcel's stages as the carrier reports them (models/shipments/tracking.py).
          "parcel_collected", "parcel_out_for_delivery", "parcel_delivered", "parcel_exception",
          # A shopper's own events, not an order's (payload: user_id and the event's facts).
          "points_expiring", "invitation_reward", "campaign_message")
USER_EVENTS = ("points_expiring", "invitation_reward", "campaign_message")

# What a keyword can show. Money is in fen; times are aware datetimes.
FIELDS = {
    "order_no": "the order number",
    "store_name": "the order's store",
    "store_address": "the store's address",
    "items": "the goods, e.g. 大米 5kg×2等3件",
    "amount": "what the order cost (payable)",
    "refund_amount": "the refund (this refund, or all refunded so far)",
    "status": "a short status phrase, e.g. 待取货",
    "note": "a sentence for the shopper",
    "reason": "why (the cancel or refund reason)",
    "time": "when the event happened",
    "deadline": "the pickup deadline",
    "carrier": "the carrier",
    "tracking_no": "the tracking number",
    "points": "points (expiring, or given)",
    "reward": "what was given, e.g. 满50减10券 or 200积分",
    "campaign": "a campaign's name",
}

_PAGE = "pages/order/detail?order_no={order_no}"
# The sandbox's templates (wechat/sandbox/state.py DEFAULT_TEMPLATES): development default.
DEFAULT_TEMPLATES = {
    "order_paid": {"template_id": "TPL_ORDER_PAID", "page": _PAGE, "data": {
        "character_string1": "order_no", "amount2": "amount", "thing3": "items", "time4": "time"}},
    "ready_for_pickup": {"template_id": "TPL_PICKUP_READY", "page": _PAGE, "data": {
        "character_string1": "order_no", "thing2": "store_name", "phrase3": "status",
        "time4": "deadline"}},
    "order_picked_up": {"template_id": "TPL_PICKED_UP", "page": _PAGE, "data": {
        "character_string1": "order_no", "thing2": "items", "phrase3": "status", "time4": "time"}},
    "pickup_expiring": {"template_id": "TPL_PICKUP_EXPIRING", "page": _PAGE, "data": {
        "character_string1": "order_no", "thing2": "store_name", "time3": "deadline",
        "thing4": "note"}},
    "order_cancelled": {"template_id": "TPL_ORDER_CANCELLED", "page": _PAGE, "data": {
        "character_string1": "order_no", "thing2": "reason", "time3": "time"}},
    "pickup_expired_refunded": {"template_id": "TPL_REFUND", "page": _PAGE, "data": {
        "character_string1": "order_no", "amount2": "refund_amount", "thing3": "reason",
        "time4": "time"}},
    "order_shipped": {"template_id": "TPL_ORDER_SHIPPED", "page": _PAGE, "data": {
        "character_string1": "order_no", "thing2": "carrier", "character_string3": "tracking_no",
        "time4": "time"}},
    "refund_succeeded": {"template_id": "TPL_REFUND", "page": _PAGE, "data": {
        "character_string1": "order_no", "amount2": "refund_amount", "thing3": "reason",
        "time4": "time"}},
    # After-sales: approved (send the goods back / come to the store), and the shopper's
    # deadline near — the order number, the store, the deadline and a sentence.
    "aftersale_approved": {"template_id": "TPL_PICKUP_EXPIRING", "page": _PAGE, "data": {
        "character_string1": "order_no", "thing2": "store_name", "time3": "deadline",
        "thing4": "note"}},
    "aftersale_due": {"template_id": "TPL_PICKUP_EXPIRING", "page": _PAGE, "data": {
        "character_string1": "order_no", "thing2": "store_name", "time3": "deadline",
        "thing4": "note"}},
    # One "logistics update" template for every stage of a parcel (phrase4 says which).
    **{event: {"template_id": "TPL_PARCEL_UPDATE", "page": _PAGE, "data": {
        "character_string1": "order_no", "thing2": "carrier", "character_string3": "tracking_no",
        "phrase4": "status", "time5": "time"}}
       for event in ("parcel_collected", "parcel_out_for_delivery", "parcel_delivered", "parcel_exception")},
    "points_expiring": {"template_id": "TPL_POINTS_EXPIRING", "page": "pages/me/points", "data": {
        "number1": "points", "time2": "deadline", "thing3": "note"}},
    "invitation_reward": {"template_id": "TPL_INVITE_REWARD", "page": "pages/me/invitation", "data": {
        "number1": "points", "thing2": "reward", "time3": "time", "thing4": "note"}},
    "campaign_message": {"template_id": "TPL_CAMPAIGN", "page": "pages/index/index", "data": {
        "thing1": "campaign", "thing2": "note", "time3": "time"}},
}

STATUS = {"order_paid": "已支付", "ready_for_pickup": "待取货", "order_picked_up": "已取货",
          "pickup_expiring": "即将过期", "order_cancelled": "已取消",
          "pickup_expired_refunded": "已退款", "order_shipped": "已发货", "refund_succeeded": "已退款",
          "aftersale_approved": "售后通过", "aftersale_due": "即将超时",
          "parcel_collected": "已揽收", "parcel_out_for_delivery": "派送中", "parcel_delivered": "已签收",
          "parcel_exception": "物流异常", "points_expiring": "即将过期", "invitation_reward": "已发放",
          "campaign_message": "进行中"}
NOTE = {"order_paid": "支付成功，商家正在备货", "ready_for_pickup": "请在截止时间前到店出示取货码",
        "order_picked_up": "取货完成，感谢光临", "pickup_expiring": "取货即将截止，请尽快到店",
        "order_cancelled": "超时未支付，订单已自动取消",
        "pickup_expired_refunded": "超时未取货，款项将原路退回",
        "order_shipped": "商品已发出，请留意物流", "refund_succeeded": "退款已原路退回",
        "aftersale_approved": "售后已通过，请在截止前退回商品", "aftersale_due": "售后退货即将截止，请尽快寄回",
        "parcel_collected": "快递员已揽收您的包裹", "parcel_out_for_delivery": "包裹正在派送，请保持电话畅通",
        "parcel_delivered": "包裹已签收，请确认收货", "parcel_exception": "包裹配送异常，我们正在处理",
        "points_expiring": "积分即将过期，下单可抵现", "invitation_reward": "邀请奖励已到账，感谢分享",
        "campaign_message": "门店有新活动，欢迎回来看看"}
PARTIAL_STATUS, PARTIAL_NOTE = "部分取货", "剩余商品请在截止前取走"


class Fen(int):
    """An amount of money in fen: `¥12.80` wherever it is shown."""


@dataclass(frozen=True)
class Template:
    event: str
    template_id: str
    page: str | None
    data: dict  # keyword → field


def init_app(app: Flask) -> None:
    app.extensions["subscribe_templates"] = load(app.config["SUBSCRIBE_TEMPLATES"], app.config["APP_ENV"])


def load(raw: dict | None, app_env: str) -> dict[str, Template]:
    """Parse and check the configuration; ConfigError on anything that can't work."""
    if raw is None:
        raw = {} if app_env == "production" else DEFAULT_TEMPLATES
    out = {}
    for event, spec in raw.items():
        spec = spec if isinstance(spec, dict) else spec.model_dump()
        if event not in EVENTS:
            raise ConfigError(f"SUBSCRIBE_TEMPLATES: unknown event {event!r} (known: {', '.join(EVENTS)})")
        for keyword, fieldname in spec["data"].items():
            if keyword_type(keyword) not in KINDS:
                raise ConfigError(f"SUBSCRIBE_TEMPLATES[{event}]: {keyword!r} is not a keyword like thing1")
            if fieldname not in FIELDS:
                raise ConfigError(f"SUBSCRIBE_TEMPLATES[{event}].{keyword}: unknown field {fieldname!r}")
        template = Template(event, spec["template_id"], spec.get("page"), dict(spec["data"]))
        try:
            render(template, _sample(event))
            page_for(template, "TH202401011200" + "0" * 10)
        except (ValueError, KeyError, IndexError) as exc:
            raise ConfigError(f"SUBSCRIBE_TEMPLATES[{event}]: {exc}") from None
        out[event] = template
    return out


def templates() -> dict[str, Template]:
    return current_app.extensions["subscribe_templates"]


def template_ids() -> set[str]:
    return {t.template_id for t in templates().values()}


# -- rendering ------------------------------------------------------------------------

def render(template: Template, fields: dict) -> dict:
    """`{keyword: {"value": str}}` for subscribe/send; ValueError naming the keyword when
    a field is missing or cannot be made valid."""
    data = {}
    for keyword, fieldname in template.data.items():
        kind = keyword_type(keyword)
        value = fields.get(fieldname)
        if value is None or value == "":
            raise ValueError(f"{keyword}: no {fieldname} for this event")
        try:
            data[keyword] = {"value": coerce_value(kind, _for_kind(kind, value))}
        except ValueError as exc:
            raise ValueError(f"{keyword} ({fieldname}): {exc}") from None
    return data


def _for_kind(kind: str, value):
    """Money and times as the keyword type wants them: objects for `amount` and
    `time`/`date` (coerce_value formats those), text for every other type."""
    if isinstance(value, datetime):
        return value if kind in ("time", "date") else value.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, Fen):
        if kind == "amount":
            return int(value)
        return f"{value // 100}.{value % 100:02d}" if kind == "number" else f"¥{value // 100}.{value % 100:02d}"
    return value


def page_for(template: Template, order_no: str | None) -> str | None:
    return template.page.format(order_no=order_no or "") if template.page else None


def user_event_fields(event: str, payload: dict, happened_at: datetime) -> dict:
    """What a shopper's own event may show: `points_expiring` {points, expires_at};
    `invitation_reward` {invitees, reward: {kind: points, points} | {kind: coupon, name}}."""
    reward = payload.get("reward") or {}
    if event == "points_expiring":
        deadline = datetime.fromisoformat(payload["expires_at"]) if payload.get("expires_at") else happened_at
        return {"points": str(payload.get("points") or 0), "deadline": deadline, "note": NOTE[event],
                "status": STATUS[event], "time": happened_at}
    if event == "campaign_message":  # the merchant's own sentence for this campaign
        return {"campaign": payload.get("campaign") or "门店活动", "note": payload.get("note") or NOTE[event],
                "time": happened_at, "status": STATUS[event]}
    given = f"{reward.get('points')}积分" if reward.get("kind") == "points" else (reward.get("name") or "优惠券")
    return {"points": str(payload.get("invitees") or 0), "reward": f"邀请{payload.get('invitees')}人奖励：{given}",
            "time": happened_at, "note": NOTE[event], "status": STATUS[event]}


def event_fields(event: str, order, payload: dict, happened_at: datetime) -> dict:
    """Everything a template may show about this event of this order."""
    store = db.session.get(Store, order.store_id)
    partial = event == "order_picked_up" and bool(payload.get("partial"))
    times = {"order_paid": order.paid_at, "ready_for_pickup": order.ready_at,
             "order_picked_up": None if partial else order.picked_up_at,
             "order_cancelled": order.cancelled_at, "order_shipped": order.shipped_at,
             "parcel_delivered": order.delivered_at}
    fields = {
        "order_no": order.order_no, "store_name": store.name if store else None,
        "store_address": store.address if store else None, "items": items_summary(order.items),
        "amount": Fen(order.payable_fen),
        "status": PARTIAL_STATUS if partial else STATUS[event],
        "note": PARTIAL_NOTE if partial else NOTE[event],
        "reason": NOTE[event], "time": times.get(event) or happened_at,
        "deadline": order.pickup_deadline,
        # A parcel's event names its own parcel (an order may have several).
        "carrier": payload.get("carrier") or order.carrier,
        "tracking_no": payload.get("tracking_no") or order.tracking_no,
    }
    if event in ("aftersale_approved", "aftersale_due"):
        fields["deadline"] = _aftersale_deadline(payload) or happened_at
    if event in ("refund_succeeded", "pickup_expired_refunded"):
        refund_fen, refund_reason, refunded_at = _refund(order, payload.get("refund_id"))
        fields["refund_amount"] = Fen(refund_fen)
        if event == "refund_succeeded":
            fields["reason"] = refund_reason or NOTE[event]
            fields["time"] = refunded_at or happened_at
    return fields


def _aftersale_deadline(payload: dict) -> datetime | None:
    if payload.get("deadline"):
        return datetime.fromisoformat(payload["deadline"])
    sale = db.session.get(AfterSale, payload.get("after_sale_id")) if payload.get("after_sale_id") else None
    return sale.deadline_at if sale is not None else None


def items_summary(items) -> str:
    """`大米 5kg×2`, or `大米 5kg×2等3件` for several lines (counted in pieces)."""
    if not items:
        return "商品"
    first = items[0]
    text = f"{first.name} {first.spec}×{first.qty}".strip()
    pieces = sum(i.qty for i in items)
    return text if len(items) == 1 else f"{text}等{pieces}件"


def _refund(order, refund_id) -> tuple[int, str | None, datetime | None]:
    refund = db.session.get(Refund, refund_id) if refund_id else None
    if refund is not None and refund.order_id == order.id:
        return refund.amount_fen, refund.reason, refund.succeeded_at
    total = db.session.scalar(select(func.coalesce(func.sum(Refund.amount_fen), 0)).where(
        Refund.order_id == order.id, Refund.status.in_(("success", "processing", "pending"))))
    return int(total) or order.payable_fen, None, None


def _sample(event: str) -> dict:
    """Values as long and awkward as real ones, for the start-up check."""
    at = datetime(2024, 5, 1, 4, 0, tzinfo=timezone.utc)
    return {"order_no": "TH2024050112001234567890", "store_name": "静安寺店（南京西路1688号商场B1层）",
            "store_address": "上海市静安区南京西路1688号", "items": "有机五常大米 5kg×2等3件",
            "amount": Fen(12800), "refund_amount": Fen(12800), "status": STATUS[event],
            "note": NOTE[event], "reason": NOTE[event], "time": at, "deadline": at,
            "carrier": "顺丰速运", "tracking_no": "SF1234567890123", "points": "12800",
            "reward": "邀请10人奖励：满100减20券（全场通用）", "campaign": "双十二会员回馈周"}
