"""Test and demo endpoints of the Pay side under `_/pay/`: play the payer (pay an order,
wx.requestPayment), finish refunds, read deliveries, inject bill rows and failures.
JSON in and out; they never show APIv3 keys or private keys."""
from __future__ import annotations

import re

from flask import Blueprint, jsonify, request

from wechat.sandbox.pay import complaints
from wechat.sandbox.pay.bill import ALL_COLUMNS, REFUND_COLUMNS
from wechat.sandbox.pay.crypto import rsa_verify
from wechat.sandbox.pay.models import PayError, rfc3339

DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
PREPAY_TTL = 7200


class _PayBadRequest(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def _body() -> dict:
    if not request.get_data(cache=True).strip():
        return {}
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise _PayBadRequest("JSON object body required")
    return body


def _int(body: dict, key: str, low: int, high: int, default=None):
    value = body.get(key, default)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _PayBadRequest(f"{key!r} must be an integer in {low}..{high}")
    return value


def _bool(body: dict, key: str, default: bool) -> bool:
    value = body.get(key, default)
    if not isinstance(value, bool):
        raise _PayBadRequest(f"{key!r} must be true or false")
    return value


def _notify_options(body: dict) -> dict:
    delay = body.get("delay", 0)
    if not isinstance(delay, (int, float)) or isinstance(delay, bool) or not 0 <= delay <= 60:
        raise _PayBadRequest("'delay' must be 0–60 seconds")
    return {"duplicates": _int(body, "duplicates", 0, 20, 0),
            "signtest": _bool(body, "signtest", False), "stale": _bool(body, "stale", False),
            "delay": float(delay)}


def _transaction_view(tx) -> dict:
    return {**tx.to_json(), "description": tx.description, "notify_url": tx.notify_url,
            "time_expire": tx.time_expire, "created_at": rfc3339(tx.created_at),
            "prepay_ids": list(tx.prepay_ids)}


def _refund_view(refund) -> dict:
    return {**refund.to_json(), "reason": refund.reason, "notify_url": refund.notify_url}


def register(bp: Blueprint, state) -> None:
    @bp.errorhandler(_PayBadRequest)
    def bad_request(exc):
        return jsonify(error=str(exc)), exc.status

    def find_tx(out_trade_no, mchid=None):
        try:
            return state.pay.transaction(mchid, out_trade_no=out_trade_no)
        except PayError:
            raise _PayBadRequest("unknown out_trade_no", 404) from None

    def find_refund(out_refund_no, mchid=None):
        try:
            return state.pay.refund(mchid, out_refund_no)
        except PayError:
            raise _PayBadRequest("unknown out_refund_no", 404) from None

    def checked(action, *args):
        try:
            return action(*args)
        except PayError as exc:
            raise _PayBadRequest(exc.message, exc.status) from None

    @bp.get("/_/pay/config")
    def pay_config():
        p = state.pay
        return jsonify(
            merchants=[{"mchid": m.mchid, "appids": sorted(m.appids),
                        "merchant_serial": m.merchant_serial} for m in p.merchants.values()],
            verify_mode=p.verify_mode, public_key_id=p.public_key_id,
            platform_public_key_pem=p.platform_public_key_pem,
            certificates=[{"serial_no": c.serial,
                           "effective_time": rfc3339(c.not_before.timestamp()),
                           "expire_time": rfc3339(c.not_after.timestamp())}
                          for c in p.issued_certificates()],
            certificates_available=p.certificates_available(),
            allow_http_loopback_notify=p.allow_http_loopback_notify,
            notify_time_scale=p.notify_time_scale, notify_timeout=p.notify_timeout,
            max_notify_attempts=p.max_notify_attempts)

    @bp.post("/_/pay/rotate-certificate")
    def rotate_certificate():
        cert = state.pay.rotate_certificate()
        return jsonify(serial_no=cert.serial)

    @bp.get("/_/pay/transactions")
    def list_transactions():
        return jsonify(transactions=[_transaction_view(t) for t in state.pay.transactions()])

    @bp.get("/_/pay/transactions/<out_trade_no>")
    def get_transaction(out_trade_no):
        return jsonify(transaction=_transaction_view(
            find_tx(out_trade_no, request.args.get("mchid"))))

    @bp.post("/_/pay/transactions/<out_trade_no>/pay")
    def pay_transaction(out_trade_no):
        body = _body()
        tx = find_tx(out_trade_no, body.get("mchid"))
        amount = _int(body, "amount", 1, 10 ** 12)
        notify, options = _bool(body, "notify", True), _notify_options(body)
        checked(state.pay.mark_paid, tx, amount)
        if notify:
            state.pay.notify_transaction(tx, **options)
        return jsonify(transaction=_transaction_view(tx), notified=notify)

    @bp.post("/_/pay/request-payment")
    def request_payment():
        """What wx.requestPayment checks, then (unless "pay": false) pays and notifies."""
        body = _body()
        p = state.pay
        package = body.get("package")
        tx = (p.transaction_by_prepay_id(package[len("prepay_id="):])
              if isinstance(package, str) and package.startswith("prepay_id=") else None)
        problem = None
        if tx is None:
            problem = "package must be prepay_id=<a prepay_id the sandbox issued>"
        elif p.now() - tx.prepay_ids[package[len("prepay_id="):]] > PREPAY_TTL:
            problem = "prepay_id expired"
        elif body.get("appId") != tx.appid:
            problem = "appId differs from the appid of the prepay"
        elif not isinstance(body.get("timeStamp"), str) or not body["timeStamp"].isdigit():
            problem = "timeStamp must be a string of seconds"
        elif not isinstance(body.get("nonceStr"), str) or not 0 < len(body["nonceStr"]) <= 32:
            problem = "nonceStr must be 1–32 characters"
        elif body.get("signType") != "RSA":
            problem = "signType must be RSA"
        else:
            message = f"{tx.appid}\n{body['timeStamp']}\n{body['nonceStr']}\n{package}\n"
            if not rsa_verify(p.merchants[tx.mchid].public_key, message.encode(),
                              str(body.get("paySign", ""))):
                problem = "paySign does not verify"
            elif tx.trade_state != "NOTPAY":
                problem = f"the order is {tx.trade_state}"
        if problem:
            return jsonify(errMsg=f"requestPayment:fail {problem}", error=problem), 400
        if _bool(body, "pay", True):
            checked(p.mark_paid, tx, _int(body, "amount", 1, 10 ** 12))
            if _bool(body, "notify", True):
                p.notify_transaction(tx, **_notify_options(body))
        return jsonify(errMsg="requestPayment:ok", transaction=_transaction_view(tx))

    @bp.get("/_/pay/refunds")
    def list_refunds():
        return jsonify(refunds=[_refund_view(r) for r in state.pay.refunds()])

    @bp.get("/_/pay/refunds/<out_refund_no>")
    def get_refund(out_refund_no):
        return jsonify(refund=_refund_view(find_refund(out_refund_no, request.args.get("mchid"))))

    @bp.post("/_/pay/refunds/<out_refund_no>/finish")
    def finish_refund(out_refund_no):
        body = _body()
        refund = find_refund(out_refund_no, body.get("mchid"))
        status = body.get("status", "SUCCESS")
        if status not in ("SUCCESS", "CLOSED", "ABNORMAL"):
            raise _PayBadRequest("'status' is SUCCESS, CLOSED or ABNORMAL")
        notify, options = _bool(body, "notify", True), _notify_options(body)
        checked(state.pay.finish_refund, refund, status)
        notified = notify and state.pay.notify_refund(refund, **options)
        return jsonify(refund=_refund_view(refund), notified=notified)

    @bp.get("/_/pay/notifications")
    def notifications():
        try:
            wait = min(float(request.args.get("wait", 0)), 30.0)
        except ValueError:
            raise _PayBadRequest("'wait' is seconds") from None
        if wait > 0:
            state.pay.notifier.wait(wait)
        filters = {k: request.args[k] for k in ("kind", "out_trade_no", "out_refund_no",
                                                "complaint_id", "variant") if k in request.args}
        log = [n for n in list(state.pay.notifier.log)
               if all(n.get(k) == v for k, v in filters.items())]
        return jsonify(notifications=log, pending=state.pay.notifier.pending())

    @bp.post("/_/pay/bill-rows")
    def bill_rows():
        body = _body()
        day, kind, fields = body.get("bill_date"), body.get("kind", "payment"), body.get("fields")
        if not isinstance(day, str) or not DATE_RE.fullmatch(day):
            raise _PayBadRequest("'bill_date' is YYYY-MM-DD")
        if kind not in ("payment", "refund"):
            raise _PayBadRequest("'kind' is payment or refund")
        known = set(ALL_COLUMNS) | set(REFUND_COLUMNS)
        if (not isinstance(fields, dict) or not fields
                or not all(k in known and isinstance(v, str) for k, v in fields.items())):
            raise _PayBadRequest("'fields' maps bill column names (交易时间, 商户订单号, "
                                 "应结订单金额, ...) to strings")
        row = {"bill_date": day, "kind": kind, "fields": fields, "mchid": body.get("mchid")}
        return jsonify(rows=state.pay.add_bill_row(row))

    @bp.get("/_/pay/calls")
    def pay_calls():
        path = request.args.get("path")
        return jsonify(calls=[c for c in list(state.pay.calls) if path in (None, c["path"])])

    @bp.post("/_/pay/fail-next")
    def pay_fail_next():
        body = _body()
        path, code = body.get("path"), body.get("code")
        if not isinstance(path, str) or not path.startswith("/v3/"):
            raise _PayBadRequest("'path' is the request path, e.g. /v3/pay/transactions/jsapi")
        status = _int(body, "http_status", 400, 599, 500)
        if not isinstance(code, str) or not code:
            code = "SYSTEM_ERROR" if status >= 500 else "INVALID_REQUEST"
        delay = body.get("delay", 0)
        if not isinstance(delay, (int, float)) or isinstance(delay, bool) or not 0 <= delay <= 10:
            raise _PayBadRequest("'delay' must be 0–10 seconds")
        spec = {"path": path, "http_status": status, "code": code, "delay": float(delay),
                "message": body.get("message") if isinstance(body.get("message"), str)
                else "系统错误" if status >= 500 else "注入的错误"}
        return jsonify(pending=state.pay.add_failure(spec))

    complaints.register_control(bp, state, _PayBadRequest, _body, _notify_options)

    @bp.post("/_/pay/reset")
    def pay_reset():
        state.pay.reset()
        return jsonify(ok=True)
