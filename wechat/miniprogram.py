"""Mini-program server API client. The access token, the error mapping and the log
redaction are shared with the official-account client (`wechat.client`).

SECURITY: session_key and phone numbers pass through here; nothing in this module
logs a response body.
"""
from __future__ import annotations

from wechat.client import SharedTokenClient, token_ttl, with_optional  # noqa: F401  (token_ttl: re-exported)
from wechat.errors import WeChatUnavailable

_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF8")


class MiniProgramClient(SharedTokenClient):
    """Server-side API of one mini-program (and the same shape for the official
    account's template message). Methods return plain dicts/values and raise only
    WeChatAPIError / WeChatUnavailable."""

    def __init__(self, appid: str, secret: str, api_base: str, redis, timeout: float = 5.0):
        super().__init__(appid, secret, api_base, redis, timeout)
        self.wxa.API_BASE_URL = self._root_url  # wechatpy reads it from the API object

    # -- API ------------------------------------------------------------------------

    def code_to_session(self, js_code: str) -> dict:
        """wx.login code → {"openid", "session_key", "unionid"?}. Never log the result
        or send session_key to the client. (wechatpy adds access_token to this call, so
        a token is obtained first.)"""
        result = self._call("jscode2session", lambda: self.wxa.code_to_session(js_code))
        if not isinstance(result, dict) or not (result.get("openid") and result.get("session_key")):
            raise WeChatUnavailable("jscode2session: answer without openid/session_key")
        out = {"openid": result["openid"], "session_key": result["session_key"]}
        if result.get("unionid"):
            out["unionid"] = result["unionid"]
        return out

    def get_phone_number(self, code: str) -> dict:
        """getPhoneNumber button code → phone_info. The code must go in the JSON body
        (in the query string WeChat answers 40029). countryCode is documented as a
        string but shown as a number in examples: we always return a string."""
        result = self._post_json("getuserphonenumber", "wxa/business/getuserphonenumber",
                                 {"code": code})
        info = result.get("phone_info")
        if not isinstance(info, dict) or not info.get("purePhoneNumber"):
            raise WeChatUnavailable("getuserphonenumber: answer without phone_info")
        info = dict(info)
        info["countryCode"] = str(info.get("countryCode", ""))
        return info

    def send_subscribe_message(self, touser: str, template_id: str, data: dict,
                               page: str | None = None, miniprogram_state: str | None = None,
                               lang: str | None = None) -> int:
        """Returns WeChat's msgid. 43101 (no grant left) comes out as WeChatAPIError."""
        body = with_optional({"touser": touser, "template_id": template_id, "data": data},
                             page=page, miniprogram_state=miniprogram_state, lang=lang)
        result = self._post_json("subscribe_send", "message/subscribe/send", body,
                                 base=self.API_BASE_URL)
        return result.get("msgid")

    def get_wxa_code_unlimited(self, scene: str, page: str | None = None, width: int = 430,
                               check_path: bool = True, env_version: str = "release") -> bytes:
        """Image bytes of a mini-program code. WeChat answers errors as JSON with HTTP
        200, so success is told by the body: wechatpy hands back the raw response when
        the body is not JSON and raises on a JSON errcode."""
        body = {"scene": scene, "width": width, "check_path": check_path,
                "env_version": env_version}
        if page is not None:
            body["page"] = page
        res = self._call("getwxacodeunlimit",
                         lambda: self.post("wxa/getwxacodeunlimit", data=body,
                                           api_base_url=self._root_url))
        if isinstance(res, dict):
            raise WeChatUnavailable("getwxacodeunlimit: JSON answer without an image")
        content = res.content
        if not content.startswith(_IMAGE_MAGIC):
            raise WeChatUnavailable("getwxacodeunlimit: answer is neither JSON nor an image")
        return content

    def upload_shipping_info(self, payload: dict) -> None:
        """Report how a paid order left (logistics_type 4 = user pickup)."""
        self._post_json("upload_shipping_info", "wxa/sec/order/upload_shipping_info", payload)

    def trace_waybill(self, body: dict) -> str:
        """Register a waybill with WeChat's logistics query component (§9.2); returns the
        `waybill_token` the mini-program opens WeChat's tracking page with."""
        result = self._post_json("trace_waybill", "cgi-bin/express/delivery/open_msg/trace_waybill", body)
        token = result.get("waybill_token")
        if not isinstance(token, str) or not token:
            raise WeChatUnavailable("trace_waybill: answer without waybill_token")
        return token

    def notify_confirm_receive(self, body: dict) -> None:
        """Remind the buyer to confirm receipt (§9.4): once per order, `received_time` in
        Unix seconds after the shipping time."""
        self._post_json("notify_confirm_receive", "wxa/sec/order/notify_confirm_receive", body)
