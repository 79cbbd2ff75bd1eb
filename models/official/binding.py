"""Binding a staff member to the official-account openid that will receive their alerts.

An admin asks for a binding QR code: a temporary OA QR code whose scene carries a
one-time token (kept only as its SHA-256; valid once, until it expires, and only the
staff member's newest one). The staff member scans it with their own WeChat; WeChat
pushes SCAN (or subscribe, for a first follow) with that scene to /wechat/official,
and the openid in that push is bound. One openid per staff member and one staff member
per openid: a second binding replaces the first.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app import wechat
from app.errors import Conflict, NotFound
from app.extensions import db
from models import audit
from models.base import utcnow
from models.official.status import BINDING_TOKENS
from models.official.tables import BindingToken, OfficialBinding
from models.staff.tables import Staff
from models.state_machine import InvalidTransition

log = logging.getLogger(__name__)

SCENE_PREFIX = "bind:"
BOUND = "绑定成功：{name}。门店提醒将发送到这里，发送「今日」查看今日提货与销售。"
INVALID = "该绑定二维码已失效，请联系管理员重新生成。"
RETRY = "绑定未完成，请稍后重新扫码。"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def mask_openid(openid: str) -> str:
    return openid[:6] + "…" if len(openid) > 6 else "…"


def create_binding_qr(actor, staff: Staff) -> dict:
    """A binding QR code for `staff` (its earlier unused codes stop working)."""
    if not staff.active:
        raise Conflict("This staff account is deactivated.", details={"staff_id": staff.id})
    ttl = current_app.config["WECHAT_OA_BINDING_TTL_S"]
    token = secrets.token_urlsafe(24)
    client = wechat.official()
    # WeChat first, before this transaction writes (and locks) anything.
    qr = wechat.call("qrcode_create", client.create_temporary_qrcode, SCENE_PREFIX + token, ttl)
    expires_at = utcnow() + timedelta(seconds=min(ttl, qr["expire_seconds"]))
    BINDING_TOKENS.move_all("revoke", BindingToken.staff_id == staff.id)
    db.session.add(BindingToken(staff_id=staff.id, token_hash=_hash(token), expires_at=expires_at,
                                created_by=getattr(actor, "id", None)))
    audit.record("staff.official_binding_qr", staff, actor=actor,
                 changes={"expires_at": expires_at.isoformat(timespec="seconds")})
    return {"staff_id": staff.id, "ticket": qr["ticket"], "url": qr["url"],
            "qr_image_url": client.qrcode_image_url(qr["ticket"]),
            "expire_seconds": qr["expire_seconds"], "expires_at": expires_at}


def is_binding_scene(scene) -> bool:
    return isinstance(scene, str) and scene.startswith(SCENE_PREFIX)


def bind_by_scene(openid: str, scene: str) -> str:
    """Use the token in a scanned binding code: bind `openid`, or say why not (the
    reply text). A repeat of the same scan (WeChat retries) answers "bound" again."""
    token_hash = _hash(scene[len(SCENE_PREFIX):])
    row = db.session.scalars(select(BindingToken).where(BindingToken.token_hash == token_hash)).first()
    if row is None:
        return INVALID
    staff = db.session.get(Staff, row.staff_id)
    if row.status == "used" and row.used_by_openid == openid and staff is not None:
        return BOUND.format(name=staff.display_name or staff.username)
    if row.status != "pending" or row.expires_at <= utcnow() or staff is None or not staff.active:
        return INVALID
    # Guarded: of two scans racing for one token, exactly one gets it.
    try:
        used = BINDING_TOKENS.move(row, "use", used_by_openid=openid).applied
    except InvalidTransition:  # revoked meanwhile
        used = False
    if not used:
        return INVALID
    try:
        with db.session.begin_nested():
            db.session.execute(delete(OfficialBinding).where(
                (OfficialBinding.openid == openid) | (OfficialBinding.staff_id == staff.id)))
            db.session.add(OfficialBinding(staff_id=staff.id, openid=openid))
            db.session.flush()
    except IntegrityError:  # a concurrent binding of the same staff member or openid
        log.warning("official binding of staff %s raced; asked to scan again", staff.id)
        return RETRY
    audit.record("staff.official_bound", staff, changes={"openid": mask_openid(openid)})
    return BOUND.format(name=staff.display_name or staff.username)


def staff_for_openid(openid: str) -> Staff | None:
    return db.session.scalars(
        select(Staff).join(OfficialBinding, OfficialBinding.staff_id == Staff.id)
        .where(OfficialBinding.openid == openid, Staff.active.is_(True))).first()


def forget_openid(openid: str) -> None:
    """The follower left the account: template messages can no longer reach them."""
    binding = db.session.scalars(select(OfficialBinding).where(OfficialBinding.openid == openid)).first()
    if binding is None:
        return
    staff = db.session.get(Staff, binding.staff_id)
    db.session.delete(binding)
    audit.record("staff.official_unbound", staff, changes={"reason": "unsubscribed"})


def binding_of(staff: Staff) -> dict:
    binding = db.session.get(OfficialBinding, staff.id)
    return {"staff_id": staff.id, "bound": binding is not None,
            "bound_at": binding.bound_at if binding else None}


def unbind(actor, staff: Staff) -> None:
    binding = db.session.get(OfficialBinding, staff.id)
    if binding is None:
        raise NotFound("This staff member has no official-account binding.",
                       details={"staff_id": staff.id})
    db.session.delete(binding)
    audit.record("staff.official_unbound", staff, actor=actor, changes={"reason": "admin"})
