"""An order number sent to the official account: its status, for its owner only.

The OA message carries the OA openid, which is not the mini-program openid our
shoppers are known by; the two meet at the unionid (cgi-bin/user/info), cached in
Redis. Someone else's order, an unknown number, or a follower we cannot link all get
the same neutral answer, so the reply never tells whether an order exists.
"""
from __future__ import annotations

import logging
import re

from sqlalchemy import select

from app import wechat
from app.errors import AppError
from app.extensions import db, rds
from models.orders.deadlines import expire_if_overdue
from models.orders.tables import Order
from models.official.today import CHINA
from models.stores import Store
from models.users import User

log = logging.getLogger(__name__)

# placement: TH + yymmddHHMM (UTC) + 16 random digits (10 before 2026-11-22: both are live)
ORDER_NO_RE = re.compile(r"^TH(\d{20}|\d{26})$")
UNIONID_TTL_S, NO_UNIONID_TTL_S = 7 * 24 * 3600, 10 * 60
NOT_FOUND = "没有找到你的这个订单。请确认订单号，或在小程序「我的订单」中查看。"
UNAVAILABLE = "暂时无法查询订单，请稍后再试。"

STATUS_TEXT = {
    "pending_payment": "待支付", "paid": "已支付，备货中", "ready_for_pickup": "待取货",
    "picked_up": "已取货", "shipped": "已发货", "delivered": "已送达", "completed": "已完成",
    "cancelled": "已取消", "pickup_expired": "超时未取，退款处理中", "refunding": "退款中",
    "refunded": "已退款",
}


def looks_like_order_no(text: str) -> bool:
    return bool(ORDER_NO_RE.match(text.strip().upper()))


def unionid_of(openid: str) -> str | None:
    """The follower's unionid; raises AppError (wechat_unavailable) when WeChat is down."""
    key = f"oa:unionid:{openid}"
    cached = rds().get(key)
    if cached is not None:
        value = cached.decode() if isinstance(cached, bytes) else cached
        return value or None
    unionid = wechat.call("user_info", wechat.official().get_unionid, openid)
    rds().set(key, unionid or "", ex=UNIONID_TTL_S if unionid else NO_UNIONID_TTL_S)
    return unionid


def reply_for(openid: str, text: str) -> str:
    order_no = text.strip().upper()
    try:
        unionid = unionid_of(openid)
    except AppError:
        return UNAVAILABLE
    if not unionid:
        return NOT_FOUND
    owners = select(User.id).where(User.unionid == unionid)
    order = db.session.scalars(
        select(Order).where(Order.order_no == order_no, Order.user_id.in_(owners))).first()
    if order is None:
        return NOT_FOUND
    expire_if_overdue(order)  # the same lazy deadline check as every other read
    return describe(order)


def describe(order: Order) -> str:
    store = db.session.get(Store, order.store_id)
    lines = [f"订单 {order.order_no}",
             f"状态：{STATUS_TEXT.get(order.status, order.status)}",
             f"门店：{store.name if store else '-'}",
             f"金额：¥{order.payable_fen // 100}.{order.payable_fen % 100:02d}"]
    if order.status == "ready_for_pickup" and order.pickup_deadline:
        lines.append(f"取货截止：{order.pickup_deadline.astimezone(CHINA):%m-%d %H:%M}")
    return "\n".join(lines)
