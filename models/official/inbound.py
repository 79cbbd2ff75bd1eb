"""What WeChat pushes to the official account's server URL, `/wechat/official`.

GET: the URL check — a valid signature gets `echostr` back. POST: a message or event,
plain or encrypted (safe/compatible mode, `encrypt_type=aes`). Before anything is
read: the signature must verify (403 otherwise) and the timestamp must be recent; in
plain mode the signature does not cover the body, so a (signature, timestamp, nonce)
triple is bound in Redis to the first body seen with it — a replayed triple with
another body is refused too.

Then: a scan of a binding code binds the staff member; a bound staff member's 「今日」
gets today's figures; an order number gets its status for its owner. Everything else,
and anything unreadable, is answered "success" with no content (never an error, which
would make WeChat retry and show the follower "service unavailable").
"""
from __future__ import annotations

import hashlib
import logging
import time

from app import wechat
from app.errors import AppError, NotFound
from app.extensions import rds
from models.official import binding, order_lookup, today
from wechat.official import SignatureInvalid, UnreadableMessage, parse_message, text_reply

log = logging.getLogger(__name__)

SUCCESS = "success"
MAX_SKEW_S = 300  # WeChat retries within ~15 s; older timestamps are replays
TODAY_WORDS = {"今日", "今天"}


class SignatureRejected(AppError):
    status, code, message = 403, "signature_invalid", "The request is not signed by WeChat."


def _crypto():
    crypto = wechat.official_crypto()
    if crypto is None:
        raise NotFound("This deployment has no official account (WECHAT_OA_APPID ... unset).")
    return crypto


def echo(args) -> str:
    """GET: the server URL check."""
    try:
        _crypto().check_signature(args.get("signature"), args.get("timestamp"), args.get("nonce"))
    except SignatureInvalid:
        raise SignatureRejected() from None
    return args.get("echostr", "")


def receive(args, body: bytes) -> tuple[str, str]:
    """POST: (reply body, mimetype)."""
    crypto = _crypto()
    signature, timestamp, nonce = args.get("signature"), args.get("timestamp"), args.get("nonce")
    encrypted = args.get("encrypt_type") == "aes"
    try:
        crypto.check_signature(signature, timestamp, nonce)
        _check_fresh(timestamp)
        _bind_triple(signature, timestamp, nonce, args.get("msg_signature"), body)
        xml = (crypto.decrypt(body, args.get("msg_signature"), timestamp, nonce) if encrypted
               else body.decode("utf-8"))
    except SignatureInvalid as exc:
        log.warning("official account push refused: %s", exc)
        raise SignatureRejected() from None
    except (UnreadableMessage, UnicodeDecodeError) as exc:
        log.warning("official account push unreadable: %s", type(exc).__name__)
        return SUCCESS, "text/plain"
    try:
        message = parse_message(xml)
    except UnreadableMessage:
        log.info("official account push is not a message we can read")
        return SUCCESS, "text/plain"
    content = handle(message)
    if not content:
        return SUCCESS, "text/plain"
    reply = text_reply(message, content)
    if encrypted:
        reply = crypto.encrypt(reply, nonce, str(int(time.time())))
    return reply, "application/xml"


def _check_fresh(timestamp: str) -> None:
    try:
        skew = abs(time.time() - int(timestamp))
    except ValueError:
        raise SignatureInvalid("timestamp is not a number") from None
    if skew > MAX_SKEW_S:
        raise SignatureInvalid("stale timestamp")


def _bind_triple(signature: str, timestamp: str, nonce: str, msg_signature, body: bytes) -> None:
    triple = hashlib.sha256(f"{signature}|{timestamp}|{nonce}|{msg_signature}".encode()).hexdigest()
    digest = hashlib.sha256(body).hexdigest()
    key = f"oa:push:{triple}"
    if rds().set(key, digest, nx=True, ex=2 * MAX_SKEW_S):
        return
    if rds().get(key) != digest:  # WeChat's own retries resend the same body
        raise SignatureInvalid("signature replayed with another body")


def handle(message) -> str | None:
    """The reply text for one message, or None for "success"."""
    openid = message.source
    if message.type == "text":
        return on_text(openid, message.content or "")
    if message.type == "event":
        event = message.event
        if event in ("scan", "subscribe_scan") and binding.is_binding_scene(message.scene_id):
            return binding.bind_by_scene(openid, message.scene_id)
        if event == "unsubscribe":
            binding.forget_openid(openid)
    return None


def on_text(openid: str, content: str) -> str | None:
    text = content.strip()
    if text in TODAY_WORDS:
        staff = binding.staff_for_openid(openid)
        return today.report(staff) if staff is not None else None
    if order_lookup.looks_like_order_no(text):
        return order_lookup.reply_for(openid, text)
    return None
