"""Push a message or event to an official account's server URL exactly as WeChat does,
and read the passive reply.

The request: `POST <server_url>?signature=&timestamp=&nonce=&openid=` with the XML
body; in compatible and safe mode also `encrypt_type=aes&msg_signature=`, the body
carrying `<Encrypt>` (safe mode: only ToUserName and Encrypt; compatible mode: the
plaintext fields too). The reply is "success", empty, or XML — encrypted (Encrypt,
MsgSignature, TimeStamp, Nonce) when the request was.

Usable without a server too: `push(account, fields, sender=...)` (tests, the demo).
"""
from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET

import requests

from wechat.sandbox.official import crypto
from wechat.sandbox.official.state import OfficialAccount


def cdata(value) -> str:
    # "]]>" cannot appear inside one CDATA section: split it across two.
    return "<![CDATA[" + str(value).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def build_xml(fields: dict) -> str:
    """`<xml>` with one element per field: numbers bare, text in CDATA (WeChat's form)."""
    parts = []
    for key, value in fields.items():
        text = str(value) if isinstance(value, int) and not isinstance(value, bool) else cdata(value)
        parts.append(f"<{key}>{text}</{key}>")
    return "<xml>" + "".join(parts) + "</xml>"


def text_fields(account: OfficialAccount, openid: str, content: str, now: float) -> dict:
    return {"ToUserName": account.original_id, "FromUserName": openid,
            "CreateTime": int(now), "MsgType": "text", "Content": content,
            "MsgId": secrets.randbelow(2 ** 63)}


def event_fields(account: OfficialAccount, openid: str, event: str, now: float,
                 event_key: str | None = None, ticket: str | None = None) -> dict:
    fields = {"ToUserName": account.original_id, "FromUserName": openid,
              "CreateTime": int(now), "MsgType": "event", "Event": event}
    if event_key is not None:
        fields["EventKey"] = event_key
    if ticket is not None:
        fields["Ticket"] = ticket
    return fields


def signed_request(account: OfficialAccount, plain_xml: str, openid: str, *, now: float,
                   encrypt: bool | None = None, timestamp: int | None = None,
                   nonce: str | None = None, bad_signature: bool = False,
                   bad_msg_signature: bool = False) -> tuple[dict, str]:
    """(query parameters, body) of one push. `encrypt` None follows the account's mode."""
    timestamp = str(int(now) if timestamp is None else timestamp)
    nonce = nonce or str(secrets.randbelow(10 ** 10))
    signature = crypto.sha1_signature(account.token, timestamp, nonce)
    if bad_signature:
        signature = crypto.sha1_signature("not-the-token", timestamp, nonce)
    params = {"signature": signature, "timestamp": timestamp, "nonce": nonce, "openid": openid}
    mode = account.mode if encrypt is None else ("safe" if encrypt else "plain")
    if mode == "plain":
        return params, plain_xml
    encrypted = crypto.encrypt(account.aes_key, account.appid, plain_xml)
    msg_signature = crypto.sha1_signature(account.token, timestamp, nonce, encrypted)
    if bad_msg_signature:
        msg_signature = crypto.sha1_signature(account.token, timestamp, nonce, "x")
    params.update(encrypt_type="aes", msg_signature=msg_signature)
    if mode == "safe":
        body = build_xml({"ToUserName": account.original_id, "Encrypt": encrypted})
    else:  # compatible mode: the plaintext fields and the ciphertext side by side
        body = plain_xml[:-len("</xml>")] + f"<Encrypt>{cdata(encrypted)}</Encrypt></xml>"
    return params, body


def read_reply(account: OfficialAccount, text: str) -> tuple[dict | None, bool, str | None]:
    """(reply fields or None for "success"/empty, whether it was encrypted, error)."""
    text = (text or "").strip()
    if text in ("", "success"):
        return None, False, None
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None, False, "reply is not XML"
    fields = {child.tag: child.text or "" for child in root}
    if "Encrypt" not in fields:
        return fields, False, None
    expected = crypto.sha1_signature(account.token, fields.get("TimeStamp", ""),
                                     fields.get("Nonce", ""), fields["Encrypt"])
    if fields.get("MsgSignature") != expected:
        return None, True, "reply MsgSignature does not verify"
    try:
        inner, appid = crypto.decrypt(account.aes_key, fields["Encrypt"])
        inner_fields = {child.tag: child.text or "" for child in ET.fromstring(inner)}
    except (ValueError, ET.ParseError, UnicodeDecodeError):
        return None, True, "reply does not decrypt"
    if appid != account.appid:
        return None, True, "reply encrypted for another appid"
    return inner_fields, True, None


def push(account: OfficialAccount, fields: dict | None = None, *, raw: str | None = None,
         now: float, url: str | None = None, sender=None, timeout: float = 5.0,
         **options) -> dict:
    """Send one message/event (or a raw body, signed all the same) and read the reply:
    {"status", "body", "reply", "encrypted_reply", "reply_error", "params"}."""
    url = url or account.server_url
    if not url:
        raise ValueError("the official account has no server URL")
    plain = raw if raw is not None else build_xml(fields)
    openid = (fields or {}).get("FromUserName", "")
    params, body = signed_request(account, plain, openid, now=now, **options)
    if sender is not None:
        status, text = sender(url, params, body.encode())
    else:
        try:
            res = requests.post(url, params=params, data=body.encode(), timeout=timeout,
                                headers={"Content-Type": "text/xml"})
            status, text = res.status_code, res.text
        except requests.RequestException as exc:
            return {"status": None, "body": None, "reply": None, "encrypted_reply": False,
                    "reply_error": f"not delivered: {type(exc).__name__}", "params": params}
    reply, encrypted, error = (read_reply(account, text) if status == 200
                               else (None, False, None))
    return {"status": status, "body": text, "reply": reply, "encrypted_reply": encrypted,
            "reply_error": error, "params": params}
