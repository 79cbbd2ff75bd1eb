"""Official account (公众号): the server API client and the message protocol of the
server URL (signature, XML, safe-mode AES), on wechatpy 1.8.18.

- `OfficialAccountClient`: template messages to followers, temporary QR codes with a
  scene string, a follower's unionid. Its access token is shared in Redis under its
  own appid, exactly like the mini-program's (`wechat.client`).
- `MessageCrypto`: what `GET/POST /wechat/official` needs — the plain signature
  (sha1 of token, timestamp, nonce), safe-mode decryption after checking
  msg_signature, and encryption of the passive reply.
- `parse_message` / `text_reply`: XML in and out, through wechatpy.

The plain-mode signature covers the token, timestamp and nonce only, never the body;
callers that care must bind a (signature, timestamp, nonce) triple to one body and
refuse stale timestamps (see models.official.inbound).
"""
from __future__ import annotations

import binascii
import struct
from urllib.parse import quote
from xml.parsers.expat import ExpatError

from wechatpy import parse_message as _wechatpy_parse
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from wechat.client import SharedTokenClient
from wechat.errors import WeChatUnavailable

MAX_SCENE_STR = 64            # WeChat: scene_str is 1–64 characters
MAX_QR_EXPIRE_S = 2_592_000   # temporary QR codes live at most 30 days
REAL_API_BASE = "https://api.weixin.qq.com"
SHOWQRCODE_URL = "https://mp.weixin.qq.com/cgi-bin/showqrcode"


class OfficialAccountClient(SharedTokenClient):
    """Server-side API of one official account. Methods return plain values and raise
    only WeChatAPIError / WeChatUnavailable. The OA openid is not the mini-program one:
    the two meet only through the unionid."""

    def create_temporary_qrcode(self, scene_str: str, expire_seconds: int) -> dict:
        """A temporary QR code carrying `scene_str`: {"ticket", "url", "expire_seconds"}.
        `url` is what the code encodes; `qrcode_image_url(ticket)` shows it as an image."""
        if not 1 <= len(scene_str) <= MAX_SCENE_STR:
            raise ValueError("scene_str must be 1–64 characters")
        body = {"expire_seconds": max(1, min(int(expire_seconds), MAX_QR_EXPIRE_S)),
                "action_name": "QR_STR_SCENE",
                "action_info": {"scene": {"scene_str": scene_str}}}
        result = self._post_json("qrcode_create", "qrcode/create", body, base=self.API_BASE_URL)
        ticket, url = result.get("ticket"), result.get("url")
        if not isinstance(ticket, str) or not ticket or not isinstance(url, str):
            raise WeChatUnavailable("qrcode_create: answer without ticket/url")
        expires = result.get("expire_seconds")
        return {"ticket": ticket, "url": url,
                "expire_seconds": expires if isinstance(expires, int) else body["expire_seconds"]}

    def qrcode_image_url(self, ticket: str) -> str:
        """Where the QR image is: mp.weixin.qq.com for the real WeChat, the imitation's
        own showqrcode otherwise (it serves api and mp on one origin)."""
        base = (SHOWQRCODE_URL if self.api_base == REAL_API_BASE
                else self.api_base + "/cgi-bin/showqrcode")
        return f"{base}?ticket={quote(ticket, safe='')}"

    def get_unionid(self, openid: str) -> str | None:
        """The follower's unionid (None when the account is not bound to an Open
        Platform account, or WeChat gives none for this user)."""
        result = self._get_json("user_info", "user/info", {"openid": openid, "lang": "zh_CN"})
        unionid = result.get("unionid")
        return unionid if isinstance(unionid, str) and unionid else None


# -- the server URL's message protocol ---------------------------------------------------

class SignatureInvalid(Exception):
    """The request was not signed with our token (or not for our appid): refuse it."""


class UnreadableMessage(Exception):
    """Signed correctly, but not a message we can read (bad XML, bad ciphertext)."""


class MessageCrypto:
    """Signature checks and safe-mode AES for one official account. `aes_key` is the
    43-character EncodingAESKey; without it only plain mode works."""

    def __init__(self, token: str, aes_key: str | None, appid: str):
        self.token = token
        self._crypto = WeChatCrypto(token, aes_key, appid) if aes_key else None

    @property
    def can_decrypt(self) -> bool:
        return self._crypto is not None

    def check_signature(self, signature: str | None, timestamp: str | None,
                        nonce: str | None) -> None:
        if not (signature and timestamp and nonce):
            raise SignatureInvalid("signature, timestamp and nonce are required")
        try:
            check_signature(self.token, signature, timestamp, nonce)
        except InvalidSignatureException:
            raise SignatureInvalid("bad signature") from None

    def decrypt(self, body: bytes, msg_signature: str | None, timestamp: str,
                nonce: str) -> str:
        """The plaintext XML inside a safe-mode (or compatible-mode) body. A wrong
        msg_signature or another appid inside raises SignatureInvalid; anything else
        unreadable raises UnreadableMessage."""
        if self._crypto is None:
            raise UnreadableMessage("encrypted message but no EncodingAESKey configured")
        if not msg_signature:
            raise SignatureInvalid("msg_signature is required in safe mode")
        try:
            return self._crypto.decrypt_message(body, msg_signature, timestamp, nonce)
        except InvalidSignatureException:
            raise SignatureInvalid("bad msg_signature") from None
        except InvalidAppIdException:
            raise SignatureInvalid("message for another appid") from None
        except (ExpatError, KeyError, TypeError, ValueError, IndexError, struct.error,
                binascii.Error, UnicodeDecodeError):
            raise UnreadableMessage("cannot decrypt") from None

    def encrypt(self, reply_xml: str, nonce: str, timestamp: str) -> str:
        """The safe-mode envelope of a passive reply (Encrypt, MsgSignature, TimeStamp, Nonce)."""
        if self._crypto is None:
            raise UnreadableMessage("no EncodingAESKey configured")
        return self._crypto.encrypt_message(reply_xml, nonce, timestamp)


def parse_message(xml: str):
    """A wechatpy message or event (UnknownMessage for types it does not know).
    Malformed XML raises UnreadableMessage. xmltodict ≥ 0.13 refuses entity
    declarations, so no entity expansion happens here."""
    try:
        message = _wechatpy_parse(xml)
    except (ExpatError, KeyError, TypeError, ValueError, AttributeError):
        raise UnreadableMessage("not a WeChat message") from None
    if message is None or not isinstance(message.source, str) or not message.source:
        raise UnreadableMessage("not a WeChat message")
    return message


def text_reply(message, content: str) -> str:
    """A passive text reply to `message` (from the account to the sender), as XML."""
    return TextReply(message=message, content=content).render()
