"""Tokens, login (jscode2session) and the phone-number code exchange."""
from __future__ import annotations

from flask import Blueprint, request

from wechat.sandbox.common import add_wechat_route, json_body, token_appid
from wechat.sandbox.errors import SandboxError
from wechat.sandbox.state import SandboxState


def register(bp: Blueprint, state: SandboxState) -> None:
    def token():
        args = request.args
        if args.get("grant_type") != "client_credential":
            raise SandboxError(40002, "invalid grant_type")
        state.check_app(args.get("appid"), args.get("secret"), 40001)
        value, expires_in = state.issue_token(args["appid"])
        return {"access_token": value, "expires_in": expires_in}

    def stable_token():
        body = json_body()
        if body.get("grant_type") != "client_credential":
            raise SandboxError(40002, "invalid grant_type")
        state.check_app(body.get("appid"), body.get("secret"), 40001)
        force = body.get("force_refresh", False)
        if not isinstance(force, bool):
            raise SandboxError(40097, "invalid args")
        value, expires_in = state.stable_token(body["appid"], force)
        return {"access_token": value, "expires_in": expires_in}

    def jscode2session():
        # wechatpy adds an access_token to this call; WeChat ignores it, so do we.
        args = request.args
        if args.get("grant_type") != "authorization_code":
            raise SandboxError(40002, "invalid grant_type")
        # 40125 for a wrong secret is our assumption (UNCONFIRMED for this endpoint).
        state.check_app(args.get("appid"), args.get("secret"), 40125)
        if not args.get("js_code"):
            raise SandboxError(41008, "missing code")
        openid, session_key, unionid = state.redeem_login_code(args["appid"], args["js_code"])
        # jscode2session answers without errcode on success; unionid only when the app
        # is bound to an Open Platform account.
        answer = {"session_key": session_key, "openid": openid}
        if unionid:
            answer["unionid"] = unionid
        return answer

    def getuserphonenumber():
        appid = token_appid(state)
        if "code" in request.args:  # community reports: the code must be in the body
            raise SandboxError(40029, "invalid code")
        body = json_body()
        phone, country_code = state.redeem_phone_code(appid, body.get("code"))
        # Foreign numbers carry their country code in phoneNumber; "+cc" is our guess.
        full = phone if country_code == "86" else f"+{country_code}{phone}"
        return {"errcode": 0, "errmsg": "ok", "phone_info": {
            "phoneNumber": full, "purePhoneNumber": phone, "countryCode": country_code,
            "watermark": {"timestamp": int(state.now()), "appid": appid},
        }}

    add_wechat_route(bp, state, "/cgi-bin/token", "GET", token)
    add_wechat_route(bp, state, "/cgi-bin/stable_token", "POST", stable_token)
    add_wechat_route(bp, state, "/sns/jscode2session", "GET", jscode2session)
    add_wechat_route(bp, state, "/wxa/business/getuserphonenumber", "POST", getuserphonenumber)
