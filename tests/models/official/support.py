"""The official account's side of the tests: follow, scan, send — through the sandbox,
which pushes signed (and encrypted) XML to the live app's /wechat/official, as WeChat
does; and a wechatpy-built counterpart for requests the sandbox would never make."""
from __future__ import annotations

import hashlib
import secrets
import time

import requests
from flask import has_app_context
from wechatpy.crypto import WeChatCrypto

from app.extensions import db
from models.official.tables import OfficialBinding
from tests.conftest import OA_AES_KEY, OA_APPID, OA_TOKEN
from wechat.sandbox import openid_for


def oa_openid(user: str) -> str:
    return openid_for(OA_APPID, user)


def sandbox_post(sandbox, path: str, body: dict, expect: int = 200) -> dict:
    # The push reaches the live app, which writes: on SQLite every open transaction
    # (even a read: BEGIN IMMEDIATE) holds the one write lock, so end the test's first.
    if has_app_context():
        db.session.commit()
    res = requests.post(sandbox.base_url + path, json=body, timeout=10)
    assert res.status_code == expect, res.text
    return res.json()


def sandbox_get(sandbox, url_path: str, **params) -> dict:
    res = requests.get(sandbox.base_url + url_path, params=params, timeout=10)
    assert res.status_code == 200, res.text
    return res.json()


def say(sandbox, user: str, text: str, **options) -> dict:
    """`user` sends `text` to the account (following it first if needed)."""
    return sandbox_post(sandbox, "/_/official/push", {"user": user, "text": text, **options})


def reply_text(result: dict) -> str | None:
    assert result["status"] == 200, result
    assert result["reply_error"] is None, result
    return result["reply"]["Content"] if result["reply"] else None


def bind(staff, user: str) -> str:
    """A shortcut past the QR code (its own tests go the whole way): `user`'s OA openid
    receives `staff`'s alerts."""
    openid = oa_openid(user)
    db.session.add(OfficialBinding(staff_id=staff.id, openid=openid))
    db.session.commit()
    return openid


def follow(sandbox, user: str) -> dict:
    return sandbox_post(sandbox, "/_/official/followers", {"user": user})


# -- requests built with wechatpy, posted through the Flask test client ------------------

def signature(timestamp: str, nonce: str, token: str = OA_TOKEN) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()


def signed_args(token: str = OA_TOKEN, timestamp: int | None = None) -> dict:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = str(secrets.randbelow(10 ** 9))
    return {"signature": signature(ts, nonce, token), "timestamp": ts, "nonce": nonce}


def text_xml(openid: str, content: str) -> str:
    return (f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{int(time.time())}"
            f"</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]>"
            f"</Content><MsgId>{secrets.randbelow(10 ** 15)}</MsgId></xml>")


def wechatpy_crypto(appid: str = OA_APPID) -> WeChatCrypto:
    return WeChatCrypto(OA_TOKEN, OA_AES_KEY, appid)


def post_plain(client, xml: str, args: dict | None = None):
    return client.post("/wechat/official", query_string=args or signed_args(), data=xml.encode(),
                       content_type="text/xml")


def post_encrypted(client, xml: str, crypto: WeChatCrypto | None = None, **override):
    """A safe-mode push made with wechatpy: returns (response, the query it used)."""
    import xmltodict

    crypto = crypto or wechatpy_crypto()
    args = signed_args()
    envelope = crypto.encrypt_message(xml, args["nonce"], args["timestamp"])
    fields = xmltodict.parse(envelope)["xml"]
    body = f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><Encrypt><![CDATA[{fields['Encrypt']}]]></Encrypt></xml>"
    query = {**args, "encrypt_type": "aes", "msg_signature": fields["MsgSignature"], **override}
    return client.post("/wechat/official", query_string=query, data=body.encode(),
                       content_type="text/xml"), query
