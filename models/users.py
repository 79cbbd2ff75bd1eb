"""Shoppers: identified by their mini-program openid; session_key and phone kept
encrypted, phone also as a keyed hash for lookup. Nothing here is ever logged."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from app import wechat
from app.crypto import cipher
from app.db import once, own_transaction
from app.errors import Unauthorized
from app.extensions import db
from app.sessions import INVALID
from models.base import MYSQL_TABLE, UTCDateTime, utcnow


class User(db.Model):
    __tablename__ = "users"
    __table_args__ = (MYSQL_TABLE,)
    audit_kind = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), unique=True)
    unionid: Mapped[str | None] = mapped_column(String(64), index=True)
    session_key_enc: Mapped[str | None] = mapped_column(Text)
    phone_enc: Mapped[str | None] = mapped_column(Text)
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    # The keyed hash of the phone's last 4 digits ("尾号", what a shopper tells a clerk at
    # the counter): `phone_tail_hash(phone)`. Only 10,000 values, so rows that share one
    # are many and the hash tells nobody without the key which digits they are.
    phone_tail_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def has_phone(self) -> bool:
        return self.phone_enc is not None

    @property
    def phone(self) -> str | None:
        return cipher().decrypt(self.phone_enc, aad=self._aad("phone")) if self.phone_enc else None

    @property
    def phone_masked(self) -> str | None:
        return mask_phone(self.phone) if self.phone_enc else None

    def _aad(self, field: str) -> bytes:
        # Binding ciphertext to its row and column stops a swapped value from decrypting.
        return f"users.{field}:{self.openid}".encode()


class Shopper:
    """The signed-in shopper. Most shopper routes need only the id, so the users row is
    read only when asked for (`.user`): a hot path like ordering skips that query."""

    audit_kind = "user"

    def __init__(self, user_id: int):
        self.id = user_id
        self._user = None

    @property
    def user(self) -> User:
        if self._user is None:
            self._user = db.session.get(User, self.id)
            if self._user is None:
                raise Unauthorized(INVALID)
        return self._user


def login(code: str) -> tuple[User, bool]:
    """`wx.login` code → code2session at WeChat → the shopper (created on first login)."""
    # A login code is single-use: a try run again after a write conflict reuses the answer.
    session = once(f"code2session:{code}",
                   lambda: wechat.call("code2session", wechat.miniprogram().code_to_session, code))
    return login_with_wechat(session)


def bind_phone_with_code(user: User, code: str) -> User:
    """Phone-button code → getuserphonenumber at WeChat → stored encrypted on the user."""
    info = once(f"getuserphonenumber:{code}",  # single-use, like the login code
                lambda: wechat.call("getuserphonenumber", wechat.miniprogram().get_phone_number, code))
    return bind_phone(user, info)


def login_with_wechat(session: dict) -> tuple[User, bool]:
    """Upsert the shopper for a code2session answer; returns (user, is_new)."""
    openid = session["openid"]
    user = db.session.scalars(select(User).where(User.openid == openid)).first()
    is_new = user is None
    if is_new:
        user = User(openid=openid)
        try:
            with db.session.begin_nested():  # two first logins at once: one insert wins
                db.session.add(user)
                db.session.flush()
        except IntegrityError:
            user = db.session.scalars(select(User).where(User.openid == openid)).one()
            is_new = False
    user.unionid = session.get("unionid") or user.unionid
    user.session_key_enc = cipher().encrypt(session["session_key"], aad=user._aad("session_key"))
    user.last_login_at = utcnow()
    return user, is_new


def bind_phone(user: User, phone_info: dict) -> User:
    # phoneNumber carries the country code for foreign numbers; purePhoneNumber never does.
    country = str(phone_info.get("countryCode") or "86")
    number = phone_info.get("purePhoneNumber") or phone_info["phoneNumber"]
    full = number if country == "86" else f"+{country}{number}"
    user.phone_enc = cipher().encrypt(full, aad=user._aad("phone"))
    user.phone_hash = cipher().lookup_hash(full)
    user.phone_tail_hash = phone_tail_hash(full)
    return user


def find_by_phone(phone: str) -> list[User]:
    # Either key's hash during a key rotation (app/crypto.py): rows not yet redone still match.
    return list(db.session.scalars(select(User).where(User.phone_hash.in_(cipher().lookup_hashes(phone)))))


def phone_tail_hash(phone_or_tail: str) -> str:
    """The lookup hash of a phone's last 4 digits (a whole number or just the 4). Its own
    domain ("tail:"), so it never equals a whole number's hash."""
    return cipher().lookup_hash("tail:" + phone_or_tail[-4:])


def phone_tail_hashes(phone_or_tail: str) -> list[str]:
    """What to look a tail up by: `phone_tail_hash` under each configured key."""
    return cipher().lookup_hashes("tail:" + phone_or_tail[-4:])


def backfill_phone_tails(batch: int = 500) -> int:
    """Give every user bound before `phone_tail_hash` existed their tail hash: a migration
    cannot (it would need FIELD_ENCRYPTION_KEY to decrypt the phone), so `flask users
    backfill-phone-tail` runs this once after the upgrade; binding a phone sets it from
    then on. Batches of `batch` users by id, each committed on its own, so it can be
    stopped and run again (it picks up the users still without one). Returns how many
    users it updated."""
    done, after = 0, 0
    while True:
        users = db.session.scalars(select(User).where(
            User.id > after, User.phone_enc.is_not(None), User.phone_tail_hash.is_(None))
            .order_by(User.id).limit(batch)).all()
        if not users:
            return done
        with own_transaction():
            for user in users:
                user.phone_tail_hash = phone_tail_hash(user.phone)
        done += len(users)
        after = users[-1].id


def mask_phone(phone: str) -> str:
    """13812345678 → 138****5678: enough for the owner to recognise, useless to others."""
    if len(phone) < 8:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
