"""WeChat's logistics component (§9.2: trace_waybill, query_trace) and the buyer's
confirm-receipt reminder (§9.4: notify_confirm_receive).

trace_waybill: `openid`, `receiver_phone`, `waybill_id`, `goods_info.detail_list[]`
(`goods_name` ≤ 60 chars, `goods_img_url`) required, else 47001 naming the field;
`trans_id` and `order_detail_path` optional (UNCONFIRMED whether WeChat still requires
them). The same waybill again returns the token it gave (WeChat caches the goods too).
query_trace: 9300507 for an unknown token; the status follows the waybill's trace at the
sandbox's 快递100 (§9.2's enum).

notify_confirm_receive: `transaction_id`, or `merchant_id` + `merchant_trade_no`; a
`received_time` in Unix seconds (a millisecond value → 10060029), after the order's
express shipping upload (before it → 10060029); no express upload for that order →
10060001 (UNCONFIRMED: the doc's table was cut off); a second reminder of one order →
10060030 (UNCONFIRMED code: "each order may be reminded once")."""
from __future__ import annotations

import secrets
from datetime import datetime

from flask import Blueprint

from wechat.sandbox.common import add_wechat_route, json_body, token_appid
from wechat.sandbox.errors import SandboxError

ALREADY_REMINDED = 10060030
# 快递100 state → WeChat's waybill status (§9.2): 0 unknown, 1 collected, 2 in transit,
# 3 out for delivery, 4 signed, 5 exception.
_STATUS = {1: 1, 0: 2, 6: 2, 7: 2, 5: 3, 3: 4, 2: 5, 4: 5, 14: 5}


def _fail(field: str) -> SandboxError:
    return SandboxError(47001, f"data format error hint: [{field}]")


def _text(body: dict, key: str, limit: int = 128) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise _fail(key)
    return value


def register(bp: Blueprint, state) -> None:
    def trace_waybill():
        appid = token_appid(state)
        body = json_body()
        _text(body, "openid")
        _text(body, "receiver_phone", 32)
        waybill_id = _text(body, "waybill_id", 64)
        goods = body.get("goods_info")
        items = goods.get("detail_list") if isinstance(goods, dict) else None
        if not isinstance(items, list) or not items:
            raise _fail("goods_info.detail_list")
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise _fail(f"goods_info.detail_list[{i}]")
            _text(item, "goods_name", 60)
            _text(item, "goods_img_url", 1024)
        for key in ("trans_id", "order_detail_path", "delivery_id"):
            if key in body and not isinstance(body[key], str):
                raise _fail(key)
        with state._lock:
            known = next((w for w in state.waybills if w["appid"] == appid and w["waybill_id"] == waybill_id), None)
        if known is not None:
            return {"errcode": 0, "errmsg": "ok", "waybill_token": known["waybill_token"]}
        token = secrets.token_urlsafe(24)
        state.record("waybills", {"appid": appid, "waybill_id": waybill_id, "waybill_token": token,
                                  "openid": body["openid"], "goods": items, "trans_id": body.get("trans_id"),
                                  "order_detail_path": body.get("order_detail_path"),
                                  "delivery_id": body.get("delivery_id")})
        return {"errcode": 0, "errmsg": "ok", "waybill_token": token}

    def query_trace():
        token_appid(state)
        body = json_body()
        with state._lock:
            known = next((w for w in state.waybills if w["waybill_token"] == body.get("waybill_token")), None)
        if known is None:
            raise SandboxError(9300507, "invalid token, can't decryption or decryption errors")
        sub = state.kuaidi100.subs.get(known["waybill_id"])
        status = _STATUS.get(sub.state, 0) if sub is not None and sub.trace else 0
        return {"errcode": 0, "errmsg": "ok", "waybill_info": {"waybill_id": known["waybill_id"], "status": status},
                "shop_info": {"goods_info": {"detail_list": known["goods"]}},
                "delivery_info": {"delivery_id": known.get("delivery_id") or "", "delivery_name": ""}}

    def notify_confirm_receive():
        appid = token_appid(state)
        body = json_body()
        if isinstance(body.get("transaction_id"), str) and body["transaction_id"]:
            key = ("transaction_id", body["transaction_id"])
        elif isinstance(body.get("merchant_id"), str) and isinstance(body.get("merchant_trade_no"), str):
            key = ("out_trade_no", body["merchant_trade_no"])
        else:
            raise _fail("transaction_id")
        received = body.get("received_time")
        if isinstance(received, bool) or not isinstance(received, int):
            raise _fail("received_time")
        if received > 10 ** 11:  # milliseconds
            raise SandboxError(10060029, "签收时间不合理")
        with state._lock:
            uploads = [u for u in state.shipping_uploads if u["appid"] == appid
                       and u["payload"].get("logistics_type") == 1
                       and u["payload"]["order_key"].get(key[0]) == key[1]]
            reminded = any(c["appid"] == appid and c["key"] == list(key) for c in state.confirm_receives)
        if not uploads:
            raise SandboxError(10060001, "支付单不存在")
        shipped = min(int(datetime.fromisoformat(u["payload"]["upload_time"]).timestamp()) for u in uploads)
        if received < shipped or received > state.now() + 300:
            raise SandboxError(10060029, "签收时间不合理")
        if reminded:
            raise SandboxError(ALREADY_REMINDED, "该订单已提醒过确认收货")
        state.record("confirm_receives", {"appid": appid, "key": list(key), "received_time": received})
        return {"errcode": 0, "errmsg": "ok"}

    add_wechat_route(bp, state, "/cgi-bin/express/delivery/open_msg/trace_waybill", "POST", trace_waybill)
    add_wechat_route(bp, state, "/cgi-bin/express/delivery/open_msg/query_trace", "POST", query_trace)
    add_wechat_route(bp, state, "/wxa/sec/order/notify_confirm_receive", "POST", notify_confirm_receive)
