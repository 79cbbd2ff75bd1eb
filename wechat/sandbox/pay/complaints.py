"""WeChat Pay 消费者投诉2.0 (protocol §11) in the sandbox: the notification URL, the
complaints of paid transactions with their negotiation history, the merchant's actions
(204, signed), images, and notifications (the §4.7 envelope, AES-256-GCM) to the URL.

What the docs leave UNCONFIRMED is chosen here and written down so tests can rely on it:
- POST over an existing URL: 400 INVALID_REQUEST; PUT/GET with none: 404 RESOURCE_NOT_EXISTS.
- begin_date..end_date over 30 days, or limit outside 1–50: 400 PARAM_ERROR.
- complete before any merchant response, or twice: 400 INVALID_REQUEST.
- update-refund-progress on a complaint that is not 申请退款: 400 INVALID_REQUEST;
  APPROVE needs launch_refund_day, REJECT needs reject_reason (400 PARAM_ERROR).
- payer_phone: RSAES-OAEP with SHA-1/MGF1-SHA1 under the merchant's public key.
- Notifications: event_type COMPLAINT.CREATE for a new complaint, COMPLAINT.STATE_CHANGE
  otherwise; resource.original_type "complaint".
"""
from __future__ import annotations

import base64
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from Crypto.Cipher import PKCS1_OAEP
from Crypto.Hash import SHA1
from flask import Blueprint, Response, jsonify, request

from wechat.sandbox.pay import validate
from wechat.sandbox.pay.models import SHANGHAI, Merchant, PayError, digits, rfc3339
from wechat.sandbox.pay.notify import envelope

PROBLEM_TYPES = ("REFUND", "SERVICE_NOT_WORK", "OTHERS")
STATES = ("PENDING", "PROCESSING", "PROCESSED")
# A tiny valid PNG: what an uploaded complaint image downloads as.
PNG_1X1 = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def rfc3339_ms(ts: float) -> str:
    """complaint_time as the notification carries it: with milliseconds."""
    return datetime.fromtimestamp(ts, SHANGHAI).isoformat(timespec="milliseconds")


@dataclass
class Complaint:
    mchid: str
    complaint_id: str
    complaint_time: float
    detail: str
    problem_type: str
    problem_description: str
    payer_openid: str
    payer_phone_enc: str
    order: dict                       # {transaction_id, out_trade_no, amount}
    apply_refund_amount: int | None = None
    state: str = "PENDING"
    full_refunded: bool = False
    incoming_user_response: bool = False
    user_complaint_times: int = 1
    media: list = field(default_factory=list)   # media_ids of the user's images
    history: list = field(default_factory=list)
    merchant_responded: bool = False

    def to_json(self, base: str, detail: bool = False) -> dict:
        out = {"complaint_id": self.complaint_id, "complaint_time": rfc3339(self.complaint_time),
               "complaint_detail": self.detail, "complaint_state": self.state,
               "complainted_mchid": self.mchid, "payer_phone": self.payer_phone_enc,
               "complaint_order_info": [dict(self.order)], "service_order_info": [],
               "complaint_media_list": ([{"media_type": "USER_COMPLAINT_IMAGE",
                                          "media_url": [f"{base}/v3/merchant-service/images/{m}"
                                                        for m in self.media]}] if self.media else []),
               "complaint_full_refunded": self.full_refunded,
               "incoming_user_response": self.incoming_user_response,
               "problem_description": self.problem_description,
               "user_complaint_times": self.user_complaint_times,
               "problem_type": self.problem_type, "user_tag_list": [], "additional_info": None,
               "in_platform_service": False, "need_immediate_service": False}
        if self.apply_refund_amount is not None:
            out["apply_refund_amount"] = self.apply_refund_amount
        if detail:
            out["payer_openid"] = self.payer_openid
        return out


class ComplaintsSandbox:
    def __init__(self, pay):
        self.pay = pay
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.urls: dict[str, str] = {}
            self.complaints: dict[str, Complaint] = {}
            self.media: dict[str, bytes] = {}

    # -- WeChat's side --------------------------------------------------------------------

    def create(self, tx, *, problem_type: str, detail: str, phone: str,
               apply_refund_amount: int | None, images: int = 0) -> Complaint:
        merchant = self.pay.merchants[tx.mchid]
        now = self.pay.now()
        cid = datetime.fromtimestamp(now, SHANGHAI).strftime("2002018%Y%m%d") + digits(12)
        with self._lock:
            media = []
            for _ in range(images):
                media_id = "MEDIA-" + secrets.token_hex(12)
                self.media[media_id] = PNG_1X1
                media.append(media_id)
            complaint = Complaint(
                mchid=tx.mchid, complaint_id=cid, complaint_time=now, detail=detail,
                problem_type=problem_type,
                problem_description={"REFUND": "申请退款", "SERVICE_NOT_WORK": "服务未生效"}.get(
                    problem_type, "其他"),
                payer_openid=tx.openid, payer_phone_enc=encrypt_field(merchant, phone),
                order={"transaction_id": tx.transaction_id, "out_trade_no": tx.out_trade_no,
                       "amount": tx.total},
                apply_refund_amount=(apply_refund_amount if problem_type == "REFUND" else None),
                media=media)
            self._log(complaint, "user", "USER_CREATE_COMPLAINT", detail, now)
            self._log(complaint, "system", "USER_CREATE_COMPLAINT_SYSTEM_MESSAGE", "用户提交投诉", now)
            self.complaints[cid] = complaint
        return complaint

    def user_response(self, complaint: Complaint, content: str) -> None:
        with self._lock:
            complaint.incoming_user_response = True
            if complaint.state == "PROCESSED":  # the user complains again: open once more
                complaint.state, complaint.user_complaint_times = "PENDING", complaint.user_complaint_times + 1
            self._log(complaint, "user", "USER_RESPONSE", content, self.pay.now())

    def find(self, mchid: str, complaint_id: str) -> Complaint:
        with self._lock:
            complaint = self.complaints.get(complaint_id)
        if complaint is None or complaint.mchid != mchid:
            raise PayError(404, "RESOURCE_NOT_EXISTS", "投诉单不存在")
        return complaint

    def notify(self, complaint: Complaint, action_type: str, **variants) -> bool:
        url = self.urls.get(complaint.mchid)
        if not url:
            return False
        merchant = self.pay.merchants[complaint.mchid]
        resource = {"complaint_id": complaint.complaint_id, "action_type": action_type,
                    "out_trade_no": complaint.order["out_trade_no"],
                    "complaint_time": rfc3339_ms(complaint.complaint_time),
                    "amount": complaint.order["amount"]}
        event = "COMPLAINT.CREATE" if action_type == "CREATE_COMPLAINT" else "COMPLAINT.STATE_CHANGE"
        body = envelope(merchant.apiv3_key, self.pay.now(), event, "投诉通知", "complaint", resource)
        self.pay.notifier.send("complaint", complaint.complaint_id, url, body, **variants)
        return True

    # -- the merchant's calls -------------------------------------------------------------

    def respond(self, complaint: Complaint, content: str) -> None:
        with self._lock:
            if complaint.state == "PROCESSED":
                raise PayError(400, "INVALID_REQUEST", "投诉单已处理完成，不能回复")
            complaint.state, complaint.merchant_responded = "PROCESSING", True
            complaint.incoming_user_response = False
            self._log(complaint, "merchant", "MERCHANT_RESPONSE", content, self.pay.now())

    def refund_progress(self, complaint: Complaint, body: dict) -> None:
        action = body.get("action")
        if action not in ("APPROVE", "REJECT"):
            raise validate.param_error("action", action, "不是合法的枚举值")
        if action == "APPROVE":
            days = body.get("launch_refund_day")
            if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 7:
                raise validate.param_error("launch_refund_day", days, "同意退款时必填，取值0-7")
        else:
            reason = body.get("reject_reason")
            if not isinstance(reason, str) or not 0 < len(reason) <= 200:
                raise validate.param_error("reject_reason", reason, "拒绝退款时必填，长度不超过200")
        with self._lock:
            if complaint.problem_type != "REFUND":
                raise PayError(400, "INVALID_REQUEST", "该投诉单不是申请退款类型")
            if complaint.state == "PROCESSED":
                raise PayError(400, "INVALID_REQUEST", "投诉单已处理完成")
            complaint.state, complaint.merchant_responded = "PROCESSING", True
            self._log(complaint, "merchant",
                      "MERCHANT_APPROVE_REFUND" if action == "APPROVE" else "MERCHANT_REFUSE_RERUND",
                      body.get("reject_reason") or body.get("remark") or "", self.pay.now())

    def complete(self, complaint: Complaint) -> None:
        with self._lock:
            if complaint.state == "PROCESSED":
                raise PayError(400, "INVALID_REQUEST", "投诉单已完结")
            if not complaint.merchant_responded:
                raise PayError(400, "INVALID_REQUEST", "请先回复用户后再反馈处理完成")
            complaint.state = "PROCESSED"
            self._log(complaint, "merchant", "MERCHANT_CONFIRM_COMPLETE", "商户反馈处理完成", self.pay.now())

    def _log(self, complaint: Complaint, operator: str, operate_type: str, details: str, ts: float) -> None:
        complaint.history.append({
            "log_id": f"{complaint.complaint_id}-{len(complaint.history) + 1:04d}",
            "operator": {"user": "投诉人", "merchant": "商户", "system": "系统"}.get(operator, operator),
            "operate_time": rfc3339(ts), "operate_type": operate_type, "operate_details": details,
            "image_list": [], "complaint_media_list": {"media_type": "", "media_url": []},
            "user_appy_platform_service_reason": "", "user_appy_platform_service_reason_description": ""})


def encrypt_field(merchant: Merchant, value: str) -> str:
    return base64.b64encode(PKCS1_OAEP.new(merchant.public_key, hashAlgo=SHA1)
                            .encrypt(value.encode())).decode()


# --- the APIv3 endpoints ------------------------------------------------------------------

def _notify_url(body: dict, allow_http_loopback: bool) -> str:
    url = body.get("url")
    if not isinstance(url, str) or not url:
        raise validate.param_error("url", url, "缺少必填参数")
    parts = urlsplit(url)
    loopback_http = (allow_http_loopback and parts.scheme == "http"
                     and parts.hostname in validate.LOOPBACK_HOSTS)
    if (parts.scheme != "https" and not loopback_http) or not parts.netloc or parts.query or len(url) > 256:
        raise validate.param_error("url", url, "必须是不带参数的 HTTPS 地址")
    return url


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise validate.param_error(name, raw, f"取值范围为{low}-{high}", "query")
    return int(raw)


def _date_arg(name: str):
    raw = request.args.get(name)
    if raw is None:
        raise validate.param_error(name, None, "缺少必填参数", "query")
    try:
        return datetime.strptime(raw, "%Y-%m-%d").date()
    except ValueError:
        raise validate.param_error(name, raw, "不是合法的日期格式 yyyy-MM-dd", "query") from None


def register(bp: Blueprint, state, add_pay_route, json_object, api_base) -> None:
    box = lambda: state.pay.complaints  # noqa: E731 (tests may swap the pay part)

    def notification_url(merchant):
        c, method = box(), request.method
        current = c.urls.get(merchant.mchid)
        if method == "GET":
            if current is None:
                raise PayError(404, "RESOURCE_NOT_EXISTS", "商户未设置投诉通知回调地址")
            return {"mchid": merchant.mchid, "url": current}
        if method == "DELETE":
            if current is None:
                raise PayError(404, "RESOURCE_NOT_EXISTS", "商户未设置投诉通知回调地址")
            c.urls.pop(merchant.mchid, None)
            return None
        url = _notify_url(json_object(), state.pay.allow_http_loopback_notify)
        if method == "POST" and current is not None:
            raise PayError(400, "INVALID_REQUEST", "已存在投诉通知回调地址，请使用更新接口")
        if method == "PUT" and current is None:
            raise PayError(404, "RESOURCE_NOT_EXISTS", "商户未设置投诉通知回调地址")
        c.urls[merchant.mchid] = url
        return {"mchid": merchant.mchid, "url": url}

    def list_complaints(merchant):
        limit, offset = _int_arg("limit", 10, 1, 50), _int_arg("offset", 0, 0, 10 ** 6)
        begin, end = _date_arg("begin_date"), _date_arg("end_date")
        if end < begin or (end - begin).days >= 30:
            raise validate.param_error("end_date", request.args.get("end_date"),
                                       "与开始日期的跨度不能超过30天", "query")
        mchid = request.args.get("complainted_mchid")
        if mchid is not None and mchid != merchant.mchid:
            raise PayError(403, "NO_AUTH", "无权查询该商户的投诉单")
        with box()._lock:
            found = sorted((c for c in box().complaints.values() if c.mchid == merchant.mchid
                            and begin <= datetime.fromtimestamp(c.complaint_time, SHANGHAI).date() <= end),
                           key=lambda c: (c.complaint_time, c.complaint_id))
        base = api_base()
        return {"data": [c.to_json(base) for c in found[offset:offset + limit]],
                "limit": limit, "offset": offset, "total_count": len(found)}

    def detail(merchant, complaint_id):
        return box().find(merchant.mchid, complaint_id).to_json(api_base(), detail=True)

    def history(merchant, complaint_id):
        limit, offset = _int_arg("limit", 100, 1, 300), _int_arg("offset", 0, 0, 10 ** 6)
        entries = box().find(merchant.mchid, complaint_id).history
        return {"data": entries[offset:offset + limit], "limit": limit, "offset": offset,
                "total_count": len(entries)}

    def _own(merchant, body: dict) -> None:
        mchid = body.get("complainted_mchid")
        if mchid is None:
            raise validate.param_error("complainted_mchid", None, "缺少必填参数")
        if mchid != merchant.mchid:
            raise PayError(403, "NO_AUTH", "被诉商户号与请求商户号不一致")

    def respond(merchant, complaint_id):
        body = json_object()
        _own(merchant, body)
        content = body.get("response_content")
        if not isinstance(content, str) or not 0 < len(content) <= 200:
            raise validate.param_error("response_content", content, "必填，长度不超过200")
        images = body.get("response_images", [])
        if not isinstance(images, list) or len(images) > 4:
            raise validate.param_error("response_images", images, "最多4张图片")
        box().respond(box().find(merchant.mchid, complaint_id), content)
        return None

    def refund_progress(merchant, complaint_id):
        box().refund_progress(box().find(merchant.mchid, complaint_id), json_object())
        return None

    def complete(merchant, complaint_id):
        _own(merchant, json_object())
        box().complete(box().find(merchant.mchid, complaint_id))
        return None

    def image(merchant, media_id):
        content = box().media.get(media_id)
        if content is None:
            raise PayError(404, "RESOURCE_NOT_EXISTS", "图片不存在")
        return Response(content, 200, content_type="image/png")

    for method in ("GET", "POST", "PUT", "DELETE"):
        add_pay_route(bp, state, "/v3/merchant-service/complaint-notifications", method,
                      notification_url, name=f"pay_complaint_notifications_{method.lower()}")
    base = "/v3/merchant-service/complaints-v2"
    add_pay_route(bp, state, base, "GET", list_complaints)
    add_pay_route(bp, state, base + "/<complaint_id>", "GET", detail)
    add_pay_route(bp, state, base + "/<complaint_id>/negotiation-historys", "GET", history)
    add_pay_route(bp, state, base + "/<complaint_id>/response", "POST", respond)
    add_pay_route(bp, state, base + "/<complaint_id>/update-refund-progress", "POST", refund_progress)
    add_pay_route(bp, state, base + "/<complaint_id>/complete", "POST", complete)
    add_pay_route(bp, state, "/v3/merchant-service/images/<media_id>", "GET", image)


# --- control endpoints (`/_/pay/complaints`): play the complaining payer --------------------

def register_control(bp: Blueprint, state, bad_request, body_of, notify_options) -> None:
    def find(complaint_id):
        with state.pay.complaints._lock:
            complaint = state.pay.complaints.complaints.get(complaint_id)
        if complaint is None:
            raise bad_request("unknown complaint_id", 404)
        return complaint

    def view(complaint) -> dict:
        base = request.host_url.rstrip("/")
        return {**complaint.to_json(base, detail=True), "history": list(complaint.history),
                "notification_url": state.pay.complaints.urls.get(complaint.mchid)}

    @bp.post("/_/pay/complaints")
    def create_complaint():
        """A payer complains about a paid transaction; WeChat notifies the registered URL."""
        body = body_of()
        try:
            tx = state.pay.transaction(body.get("mchid"), out_trade_no=body.get("out_trade_no"))
        except PayError:
            raise bad_request("unknown out_trade_no", 404) from None
        if tx.transaction_id is None:
            raise bad_request("only a paid transaction can be complained about", 409)
        problem_type = body.get("problem_type", "OTHERS")
        if problem_type not in PROBLEM_TYPES:
            raise bad_request(f"'problem_type' is one of {PROBLEM_TYPES}")
        detail, phone = body.get("complaint_detail", "商品与描述不符"), body.get("phone", "13800138000")
        if not isinstance(detail, str) or not detail or not isinstance(phone, str) or not phone.isdigit():
            raise bad_request("'complaint_detail' is text, 'phone' digits")
        amount = body.get("apply_refund_amount", tx.total)
        if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= tx.total:
            raise bad_request("'apply_refund_amount' is 1..the transaction's total")
        images = body.get("images", 0)
        if not isinstance(images, int) or isinstance(images, bool) or not 0 <= images <= 9:
            raise bad_request("'images' is 0–9")
        options = notify_options(body)
        complaint = state.pay.complaints.create(tx, problem_type=problem_type, detail=detail, phone=phone,
                                                apply_refund_amount=amount, images=images)
        notified = body.get("notify", True) is not False and state.pay.complaints.notify(
            complaint, "CREATE_COMPLAINT", **options)
        return jsonify(complaint=view(complaint), notified=notified)

    @bp.get("/_/pay/complaints/<complaint_id>")
    def get_complaint(complaint_id):
        return jsonify(complaint=view(find(complaint_id)))

    @bp.post("/_/pay/complaints/<complaint_id>/user-response")
    def user_response(complaint_id):
        body = body_of()
        complaint = find(complaint_id)
        content = body.get("content", "还没有处理吗？")
        if not isinstance(content, str) or not content:
            raise bad_request("'content' is text")
        state.pay.complaints.user_response(complaint, content)
        notified = state.pay.complaints.notify(complaint, "USER_RESPONSE", **notify_options(body))
        return jsonify(complaint=view(complaint), notified=notified)

    @bp.post("/_/pay/complaints/<complaint_id>/notify")
    def renotify(complaint_id):
        """Send a complaint's notification again (duplicates, probes, stale copies)."""
        body = body_of()
        complaint = find(complaint_id)
        action = body.get("action_type", "CREATE_COMPLAINT")
        if not isinstance(action, str) or not action.isupper():
            raise bad_request("'action_type' is e.g. CREATE_COMPLAINT")
        return jsonify(notified=state.pay.complaints.notify(complaint, action, **notify_options(body)))
