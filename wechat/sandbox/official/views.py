"""The official account: template messages, QR codes with a scene, follower info
(WeChat's side), and `_/official/...` to play the follower: follow, scan a QR code,
send a message — each pushed, signed (and encrypted in safe mode), to the account's
server URL."""
from __future__ import annotations

import io
import time

import qrcode
from flask import Blueprint, Response, jsonify, request
from qrcode.image.pure import PyPNGImage

from wechat.sandbox.common import add_wechat_route, json_body, token_appid
from wechat.sandbox.errors import SandboxError
from wechat.sandbox.official import push as official_push  # register() has a view named push
from wechat.sandbox.official.state import OfficialAccount
from wechat.sandbox.state import SandboxState
from wechat.subscribe_rules import KINDS, keyword_type, validate_value


class _BadRequest(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def check_template_data(keywords: list[str] | None, data) -> None:
    """Each entry `{"value": str, "color"?}`; with known keywords, no others and typed
    values by the subscribe-message rules (47003 naming the keyword, as WeChat does).
    A missing keyword is shown empty (UNCONFIRMED), so it is allowed."""
    if not isinstance(data, dict):
        raise SandboxError(47001, "data format error")
    for key, entry in data.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("value"), str):
            raise SandboxError(47003, f"argument invalid! data.{key}.value invalid")
        if keywords is None:
            continue
        if key not in keywords:
            raise SandboxError(47003, f"argument invalid! data.{key} invalid")
        kind = keyword_type(key)
        if kind in KINDS and validate_value(kind, entry["value"]):
            raise SandboxError(47003, f"argument invalid! data.{key}.value invalid")


def register(bp: Blueprint, state: SandboxState) -> None:
    official = state.official

    def template_send():
        appid = token_appid(state)
        body = json_body()
        touser, template_id = body.get("touser"), body.get("template_id")
        if not isinstance(touser, str) or not touser:
            raise SandboxError(40003, "invalid openid")
        account = official.accounts.get(appid)
        keywords = None
        if account is not None:  # a configured official account: followers and templates
            follower = official.follower(appid, touser)
            if follower is None:
                raise SandboxError(40003, "invalid openid")
            if not follower.subscribed:
                raise SandboxError(43004, "require subscribe")
            if account.templates is not None:
                keywords = account.templates.get(template_id) if isinstance(template_id, str) else None
                if keywords is None:
                    raise SandboxError(40037, "invalid template_id")
        if not isinstance(template_id, str) or not template_id or (
                state.oa_templates is not None and template_id not in state.oa_templates):
            raise SandboxError(40037, "invalid template_id")
        check_template_data(keywords, body.get("data"))
        client_msg_id = body.get("client_msg_id")
        if client_msg_id:
            # De-dup per openid for 10 minutes. Answering the first msgid again is our
            # assumption (UNCONFIRMED).
            earlier = state.dedup_template(touser, client_msg_id)
            if earlier is not None:
                return {"errcode": 0, "errmsg": "ok", "msgid": earlier}
        fields = {k: body.get(k) for k in ("touser", "template_id", "url", "miniprogram",
                                           "client_msg_id", "data")}
        msgid = state.record_message("template", appid, fields)
        if client_msg_id:
            state.remember_template(touser, client_msg_id, msgid)
        return {"errcode": 0, "errmsg": "ok", "msgid": msgid}

    def qrcode_create():
        appid = token_appid(state)
        official.require_account(appid)
        return official.create_qrcode(appid, json_body())

    def user_info():
        appid = token_appid(state)
        official.require_account(appid)
        return official.user_info(appid, request.args.get("openid"))

    add_wechat_route(bp, state, "/cgi-bin/message/template/send", "POST", template_send)
    add_wechat_route(bp, state, "/cgi-bin/qrcode/create", "POST", qrcode_create)
    add_wechat_route(bp, state, "/cgi-bin/user/info", "GET", user_info)

    @bp.get("/cgi-bin/showqrcode")
    def showqrcode():
        # mp.weixin.qq.com/cgi-bin/showqrcode: the image of a ticket (no token needed).
        qr = official.qrcode(request.args.get("ticket"))
        if qr is None or official.qrcode_expired(qr):
            return Response("ticket invalid", 404, content_type="text/plain")
        code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2, box_size=6)
        code.add_data(qr["url"])
        out = io.BytesIO()
        code.make_image(image_factory=PyPNGImage).save(out)
        return Response(out.getvalue(), 200, content_type="image/png")

    # -- the follower's side (`_/official/...`) ----------------------------------------

    @bp.errorhandler(_BadRequest)
    def bad_request(exc):
        return jsonify(error=str(exc)), exc.status

    def body_() -> dict:
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict):
            raise _BadRequest("JSON object body required")
        return body

    def account_of(body: dict) -> OfficialAccount:
        try:
            return official.account(body.get("appid"))
        except KeyError:
            raise _BadRequest("unknown official account (give 'appid')") from None

    def user_of(body: dict) -> str:
        user = body.get("user")
        if not isinstance(user, str) or not user:
            raise _BadRequest("'user' must be a non-empty string")
        return user

    def push_options(body: dict) -> dict:
        options = {}
        for key in ("encrypt", "bad_signature", "bad_msg_signature"):
            if key in body:
                if not isinstance(body[key], bool):
                    raise _BadRequest(f"'{key}' must be true or false")
                options[key] = body[key]
        if "timestamp" in body:
            if isinstance(body["timestamp"], bool) or not isinstance(body["timestamp"], int):
                raise _BadRequest("'timestamp' must be an integer")
            options["timestamp"] = body["timestamp"]
        return options

    def deliver(account: OfficialAccount, fields: dict | None, kind: str, raw=None, **options):
        if not account.server_url and official.push_sender is None:
            raise _BadRequest("the official account has no server URL", 409)
        if options.get("encrypt") and not account.aes_key:
            raise _BadRequest("this official account has no EncodingAESKey", 409)
        # The signature's timestamp is the real time, whatever advance() did to the
        # sandbox clock: the server compares it with its own.
        result = official_push.push(account, fields, raw=raw, now=time.time(),
                                    sender=official.push_sender, timeout=official.push_timeout,
                                    **options)
        official.record_push({"appid": account.appid, "kind": kind,
                              "openid": (fields or {}).get("FromUserName"),
                              "status": result["status"], "reply": result["reply"],
                              "encrypted_reply": result["encrypted_reply"],
                              "reply_error": result["reply_error"]})
        return result

    @bp.post("/_/official/followers")
    def follow():
        """The user follows the account (no event pushed; see /scan and /push)."""
        body = body_()
        account = account_of(body)
        follower, _ = official.follow(account.appid, user_of(body))
        return jsonify(openid=follower.openid, unionid=follower.unionid)

    @bp.get("/_/official/followers")
    def followers():
        return jsonify(followers=[
            {"appid": f.appid, "openid": f.openid, "user": f.user, "unionid": f.unionid,
             "subscribed": f.subscribed, "subscribe_time": f.subscribe_time}
            for f in list(official.followers.values())])

    @bp.post("/_/official/scan")
    def scan():
        """The user scans a QR code: a follower's scan pushes SCAN with the scene, anyone
        else follows and pushes subscribe with EventKey "qrscene_<scene>"."""
        body = body_()
        qr = official.qrcode(body.get("ticket"))
        if qr is None:
            raise _BadRequest("unknown ticket", 404)
        if official.qrcode_expired(qr):
            # WeChat shows an expired code as invalid: nothing reaches the server.
            raise _BadRequest("the QR code has expired", 410)
        account = official.account(qr["appid"])
        follower, new = official.follow(account.appid, user_of(body), scene=qr["scene"])
        qr["scans"].append({"openid": follower.openid, "at": int(state.now())})
        if new:
            fields = official_push.event_fields(account, follower.openid, "subscribe", state.now(),
                                                "qrscene_" + qr["scene"], qr["ticket"])
        else:
            fields = official_push.event_fields(account, follower.openid, "SCAN", state.now(),
                                                qr["scene"], qr["ticket"])
        result = deliver(account, fields, "event", **push_options(body))
        return jsonify(openid=follower.openid, event=fields["Event"], **result)

    @bp.post("/_/official/push")
    def push():
        """A follower sends a text ("text") or triggers an event ("event", "event_key"),
        or any body at all ("raw": the XML as it goes, signed all the same)."""
        body = body_()
        account = account_of(body)
        options = push_options(body)
        if isinstance(body.get("raw"), str):
            openid = body.get("openid") or ""
            return jsonify(**deliver(account, {"FromUserName": openid}, "raw", raw=body["raw"],
                                     **options))
        if isinstance(body.get("openid"), str) and body["openid"]:
            follower = official.follower(account.appid, body["openid"])
            openid = body["openid"]
        else:
            follower, _ = official.follow(account.appid, user_of(body))
            openid = follower.openid
        if isinstance(body.get("text"), str):
            fields = official_push.text_fields(account, openid, body["text"], state.now())
            kind = "text"
        elif isinstance(body.get("event"), str) and body["event"]:
            event = body["event"]
            if event == "unsubscribe" and follower is not None:
                official.unfollow(account.appid, openid)
            key = body.get("event_key")
            fields = official_push.event_fields(account, openid, event, state.now(),
                                                key if isinstance(key, str) else None)
            kind = "event"
        else:
            raise _BadRequest("give 'text', 'event' or 'raw'")
        return jsonify(openid=openid, **deliver(account, fields, kind, **options))

    @bp.get("/_/official/qrcodes")
    def qrcodes():
        return jsonify(qrcodes=official.list_qrcodes())

    @bp.get("/_/official/pushes")
    def pushes():
        return jsonify(pushes=list(official.pushes))

    @bp.get("/_/official/templates")
    def templates():
        """Template messages the official accounts sent (newest last)."""
        touser = request.args.get("touser")
        return jsonify(messages=[m for m in list(state.messages)
                                 if m["kind"] == "template" and m["appid"] in official.accounts
                                 and touser in (None, m["touser"])])
