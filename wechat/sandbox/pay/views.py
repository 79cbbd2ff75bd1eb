"""WeChat Pay APIv3 endpoints (api.mch.weixin.qq.com): Authorization checked on every
request, every answer signed with the platform key except a 401 and the bill file.

Canonical URL: WeChat signs the path and query the client requested. Mounted under a
prefix (the app uses /sandbox), a client that knows its full URL signs
`/sandbox/v3/...`, while gateway-relative SDKs (wechatpayv3 with `_gate_way` set to
`.../sandbox`) sign `/v3/...`. The sandbox rebuilds both from the request target as
received (raw, not re-encoded) and accepts a signature over either; on the real host
the two are the same string. The percent-decoded forms are accepted too, because
wechatpayv3 signs `a|b` while requests sends `a%7Cb` (what WeChat does is UNCONFIRMED)."""
from __future__ import annotations

import gzip
import hashlib
import json
import secrets
import time
from datetime import datetime, timedelta
from urllib.parse import unquote, urlsplit

from flask import Blueprint, Response, request

from wechat.sandbox.pay import bill as trade_bill
from wechat.sandbox.pay import complaints, validate
from wechat.sandbox.pay.crypto import aes_gcm_encrypt, parse_authorization, rsa_verify
from wechat.sandbox.pay.models import SHANGHAI, Merchant, PayError, rfc3339

PAY_JSON = "application/json; charset=utf-8"
_NO_CERTIFICATES = {
    404: ("RESOURCE_NOT_EXISTS", "无可用的平台证书，请在商户平台-API安全申请使用微信支付公钥。"),
    500: ("SYSTEM_ERROR", "系统错误"),
}


class SignError(Exception):
    def __init__(self, issue: str, method: str = "", url: str = "", message: bytes = b""):
        super().__init__(issue)
        self.body = {"code": "SIGN_ERROR", "message": "错误的签名，验签失败", "detail": {
            "field": "signature", "location": "authorization",
            "sign_information": {"method": method, "url": url,
                                 "sign_message_length": len(message),
                                 "truncated_sign_message": message[:200].decode(errors="replace")},
            "detail": {"issue": issue}}}


def request_target() -> tuple[str, str, str]:
    """(mount prefix, path after it, raw query) of the request as the client sent it."""
    env = request.environ
    raw = env.get("RAW_URI") or env.get("REQUEST_URI")
    if raw:
        if not raw.startswith("/"):  # absolute-form target
            parts = urlsplit(raw)
            raw = parts.path + ("?" + parts.query if parts.query else "")
        path, _, query = raw.partition("?")
    else:
        path, query = request.script_root + request.path, env.get("QUERY_STRING", "")
    i = path.find("/v3/")
    return (path[:i], path[i:], query) if i >= 0 else ("", path, query)


def canonical_urls() -> list[str]:
    prefix, path, query = request_target()
    relative = path + ("?" + query if query else "")
    return list(dict.fromkeys([prefix + relative, relative,
                               unquote(prefix + relative), unquote(relative)]))


def authenticate(state) -> Merchant:
    pay, method, body = state.pay, request.method, request.get_data(cache=True)
    urls = canonical_urls()
    auth = parse_authorization(request.headers.get("Authorization"))
    if auth is None:
        raise SignError("authorization header missing or malformed", method, urls[0])
    message = (f"{method}\n{urls[0]}\n{auth['timestamp']}\n{auth['nonce_str']}\n".encode()
               + body + b"\n")
    merchant = pay.merchants.get(auth["mchid"])
    if merchant is None:
        raise SignError("mchid not exist", method, urls[0], message)
    if auth["serial_no"].upper() != merchant.merchant_serial:
        raise SignError("serial_no not match", method, urls[0], message)
    if (not auth["timestamp"].isdigit()
            or abs(time.time() - int(auth["timestamp"])) > pay.request_time_window):
        raise SignError("timestamp expired", method, urls[0], message)
    for url in urls:
        signed = (f"{method}\n{url}\n{auth['timestamp']}\n{auth['nonce_str']}\n".encode()
                  + body + b"\n")
        if rsa_verify(merchant.public_key, signed, auth["signature"]):
            return merchant
    raise SignError("sign not match", method, urls[0], message)


def request_id() -> str:
    return secrets.token_hex(21).upper() + "-0"


def pay_response(pay, payload: dict | None, status: int = 200, signed: bool = True) -> Response:
    body = (b"" if payload is None
            else json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode())
    headers = {"Request-ID": request_id()}
    if signed:
        headers.update(pay.signature_headers(body))
    return Response(body, status, headers=headers, content_type=PAY_JSON)


def json_object() -> dict:
    try:
        body = json.loads(request.get_data(cache=True) or b"")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise PayError(400, "PARAM_ERROR", "请求体不是合法的 JSON 对象",
                       {"location": "body", "value": None})
    return body


def same_mchid(merchant: Merchant, mchid, location: str) -> None:
    if mchid is None:
        raise validate.param_error("mchid", None, "缺少必填参数", location)
    if mchid != merchant.mchid:
        raise PayError(403, "NO_AUTH", "商户号与请求签名的商户号不一致")


def add_pay_route(bp: Blueprint, state, rule: str, method: str, view, name: str | None = None) -> None:
    """`view(merchant, **url_args)` returns a dict (200), None (204) or a Response.
    `name`: the endpoint's, when one rule takes several methods."""

    def endpoint(**kwargs):
        pay = state.pay
        path = unquote(request_target()[1])
        code = None
        try:
            merchant = authenticate(state)
            failure = pay.take_failure(path)
            if failure:
                if failure.get("delay"):
                    time.sleep(failure["delay"])
                raise PayError(failure["http_status"], failure["code"], failure["message"])
            result = view(merchant, **kwargs)
            if isinstance(result, Response):
                res = result
            else:
                res = pay_response(pay, result, 204 if result is None else 200)
        except SignError as exc:
            code, res = "SIGN_ERROR", pay_response(pay, exc.body, 401, signed=False)
        except PayError as exc:
            code, res = exc.code, pay_response(pay, exc.body(), exc.status)
        pay.record_call(request.method, path, res.status_code, code)
        return res

    name = name or "pay_" + rule.strip("/").replace("/", "_").replace("<", "").replace(">", "")
    bp.add_url_rule(rule, endpoint=name, view_func=endpoint, methods=[method])


def register(bp: Blueprint, state) -> None:
    pay = lambda: state.pay  # noqa: E731 (tests may swap the pay part)

    def jsapi(merchant):
        body = json_object()
        validate.prepay(body, pay().allow_http_loopback_notify)
        same_mchid(merchant, body["mchid"], "body")
        prepay_id, _ = pay().prepay(merchant, body)
        return {"prepay_id": prepay_id}

    def query_by_out_trade_no(merchant, out_trade_no):
        same_mchid(merchant, request.args.get("mchid"), "query")
        return pay().transaction(merchant.mchid, out_trade_no=out_trade_no).to_json()

    def query_by_id(merchant, transaction_id):
        same_mchid(merchant, request.args.get("mchid"), "query")
        return pay().transaction(merchant.mchid, transaction_id=transaction_id).to_json()

    def close(merchant, out_trade_no):
        same_mchid(merchant, json_object().get("mchid"), "body")
        pay().close(merchant.mchid, out_trade_no)
        return None

    def refund(merchant):
        body = json_object()
        validate.refund(body, pay().allow_http_loopback_notify)
        return pay().create_refund(merchant, body).to_json()

    def query_refund(merchant, out_refund_no):
        return pay().refund(merchant.mchid, out_refund_no).to_json()

    def certificates(merchant):
        p = pay()
        if not p.certificates_available():
            status = p.no_certificates_status
            code, message = _NO_CERTIFICATES.get(status, _NO_CERTIFICATES[500])
            raise PayError(status, code, message)
        return {"data": [{
            "serial_no": c.serial, "effective_time": rfc3339(c.not_before.timestamp()),
            "expire_time": rfc3339(c.not_after.timestamp()),
            "encrypt_certificate": aes_gcm_encrypt(merchant.apiv3_key, c.pem, "certificate"),
        } for c in reversed(p.certificates)]}

    def tradebill(merchant):
        p = pay()
        day, bill_type, tar_type = validate.bill_query(request.args)
        today = datetime.fromtimestamp(p.now(), SHANGHAI).date()
        if day < today - timedelta(days=92):
            raise PayError(400, "INVALID_REQUEST", "只能下载三个月以内的账单")
        rows = trade_bill.rows_for(p, merchant.mchid, day, bill_type) if day <= today else []
        if not rows:
            raise PayError(400, "NO_STATEMENT_EXIST", "账单文件不存在")
        content = trade_bill.render(rows, bill_type).encode()
        token = p.store_bill(merchant.mchid, gzip.compress(content) if tar_type else content,
                             bool(tar_type))
        base = request.host_url.rstrip("/") + request_target()[0]
        return {"hash_type": "SHA1", "hash_value": hashlib.sha1(content).hexdigest(),
                "download_url": f"{base}/v3/billdownload/file?token={token}"}

    def billdownload(merchant):
        bill = pay().bill(request.args.get("token"))
        if bill is None:
            raise PayError(400, "INVALID_REQUEST", "token 无效或已过期")
        if bill["mchid"] != merchant.mchid:
            raise PayError(403, "NO_AUTH", "无权下载该账单")
        # The file itself is not signed [DOC]; gzip is the payload, not a Content-Encoding.
        return Response(bill["content"], 200, headers={"Request-ID": request_id()},
                        content_type="application/octet-stream")

    add_pay_route(bp, state, "/v3/pay/transactions/jsapi", "POST", jsapi)
    add_pay_route(bp, state, "/v3/pay/transactions/out-trade-no/<out_trade_no>", "GET",
                  query_by_out_trade_no)
    add_pay_route(bp, state, "/v3/pay/transactions/id/<transaction_id>", "GET", query_by_id)
    add_pay_route(bp, state, "/v3/pay/transactions/out-trade-no/<out_trade_no>/close",
                  "POST", close)
    add_pay_route(bp, state, "/v3/refund/domestic/refunds", "POST", refund)
    add_pay_route(bp, state, "/v3/refund/domestic/refunds/<out_refund_no>", "GET",
                  query_refund)
    add_pay_route(bp, state, "/v3/certificates", "GET", certificates)
    add_pay_route(bp, state, "/v3/bill/tradebill", "GET", tradebill)
    add_pay_route(bp, state, "/v3/billdownload/file", "GET", billdownload)
    complaints.register(bp, state, add_pay_route, json_object,
                        lambda: request.host_url.rstrip("/") + request_target()[0])

