"""Staff accounts: role, the stores they may act for, password (argon2id)."""
from __future__ import annotations

import enum
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Column, Enum, ForeignKey, String, Table, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.tasks import after_commit
from app.errors import Conflict, Forbidden, InvalidRequest, Unauthorized
from app.extensions import db
from app.sessions import INVALID, revoke_all
from models import audit
from models.base import MYSQL_TABLE, UTCDateTime, keyset_page, utcnow
from models.stores import Store

# argon2id with the library's defaults (RFC 9106 low-memory profile).
_hasher = PasswordHasher()
# Verified against when the username is unknown, so both cases cost the same time.
_DUMMY_HASH = _hasher.hash("tihuo-dummy-password")
MIN_PASSWORD_LEN = 10


class Role(str, enum.Enum):
    admin = "admin"        # everything, every store
    manager = "manager"    # runs their stores: stock, staff reviews, refunds
    clerk = "clerk"        # serves at the counter of their stores
    analyst = "analyst"    # reads reports and the catalog, changes nothing


staff_stores = Table(
    "staff_stores", db.metadata,
    Column("staff_id", ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True),
    Column("store_id", ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True),
    **MYSQL_TABLE,
)


class StoreAccess:
    """Which stores a staff member may act for, from `role` and `store_ids`: the same
    rule for the row and for the session's principal."""

    def can_act_for(self, store_id: int) -> bool:
        return self.role == Role.admin or store_id in self.store_ids

    def require_store(self, store_id: int) -> None:
        if not self.can_act_for(store_id):
            raise Forbidden("You are not bound to this store.", details={"store_id": store_id})


class Staff(StoreAccess, db.Model):
    __tablename__ = "staff"
    __table_args__ = (MYSQL_TABLE,)
    audit_kind = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16,
                                            validate_strings=True))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    stores: Mapped[list[Store]] = relationship(secondary=staff_stores, order_by=Store.id)

    @property
    def store_ids(self) -> list[int]:
        return [s.id for s in self.stores]


class StaffPrincipal(StoreAccess):
    """The signed-in staff member as their session describes them: id, role, stores.

    Written into the session at login (`claims`), so authorizing a staff request reads no
    row. They stay true because every change to a role, a store binding, a password or
    the active flag ends the member's sessions (`update_staff`). Anything else (name,
    username, bindings) comes from the row, read on first use (`row`)."""

    audit_kind = "staff"
    __tablename__ = Staff.__tablename__  # as a target, audited as its row (audit.record)

    def __init__(self, staff_id: int, role: Role, store_ids: list[int], row: Staff | None = None):
        self.id, self.role, self.store_ids, self._row = staff_id, role, store_ids, row

    @staticmethod
    def claims(staff: Staff) -> str:
        return f"{staff.role.value}:{','.join(map(str, staff.store_ids))}"

    @classmethod
    def of_session(cls, staff_id: int, claims: str) -> StaffPrincipal:
        role, _, stores = claims.partition(":")
        if role in Role.__members__:
            return cls(staff_id, Role(role), [int(s) for s in stores.split(",") if s])
        row = _active_row(staff_id)  # a session written before sessions held claims
        return cls(staff_id, row.role, row.store_ids, row)

    @property
    def row(self) -> Staff:
        if self._row is None:
            self._row = _active_row(self.id)
        return self._row

    def __getattr__(self, name: str):  # called only for what the claims don't hold
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.row, name)


def _active_row(staff_id: int) -> Staff:
    row = db.session.get(Staff, staff_id)
    if row is None or not row.active:
        raise Unauthorized(INVALID)
    return row


def _hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LEN:
        raise InvalidRequest(f"Passwords need at least {MIN_PASSWORD_LEN} characters.",
                             details={"field": "password"})
    return _hasher.hash(password)


def authenticate(username: str, password: str) -> Staff | None:
    staff = db.session.scalars(select(Staff).where(Staff.username == username)).first()
    try:
        _hasher.verify(staff.password_hash if staff else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if staff is None or not staff.active:
        return None
    if _hasher.check_needs_rehash(staff.password_hash):
        staff.password_hash = _hasher.hash(password)
    staff.last_login_at = utcnow()
    return staff


def _stores(store_ids: list[int]) -> list[Store]:
    stores = list(db.session.scalars(select(Store).where(Store.id.in_(store_ids))))
    missing = sorted(set(store_ids) - {s.id for s in stores})
    if missing:
        raise InvalidRequest("Unknown store ids.", details={"store_ids": missing})
    return stores


def create_staff(actor, *, username: str, password: str, role: str,
                 store_ids: list[int], display_name: str = "") -> Staff:
    username = username.strip().lower()
    staff = Staff(username=username, display_name=display_name, role=Role(role),
                  password_hash=_hash_password(password), stores=_stores(store_ids))
    db.session.add(staff)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise Conflict("That username is taken.", details={"field": "username"}) from None
    audit.record("staff.create", staff, actor=actor,
                 changes={"username": username, "role": role, "store_ids": sorted(store_ids)})
    return staff


_ENDS_SESSIONS = {"password", "store_ids", "role", "active"}


def update_staff(actor, staff: Staff, fields: dict) -> Staff:
    fields = dict(fields)
    changes = {}
    if "password" in fields:
        staff.password_hash = _hash_password(fields.pop("password"))
        changes["password"] = "changed"
    if "store_ids" in fields:
        new_ids = sorted(fields.pop("store_ids"))
        if new_ids != staff.store_ids:
            changes["store_ids"] = [staff.store_ids, new_ids]
            staff.stores = _stores(new_ids)
    if "role" in fields:
        fields["role"] = Role(fields["role"])
    if staff.id == getattr(actor, "id", None) and (
            fields.get("active") is False or fields.get("role", staff.role) != staff.role):
        raise Conflict("You cannot deactivate yourself or change your own role.")
    changes.update(audit.diff(staff, fields))
    if changes:
        audit.record("staff.update", staff, actor=actor, changes=changes)
    if changes.keys() & _ENDS_SESSIONS:
        # A changed role, store binding or password must not live on in old sessions, which
        # carry the role and stores (StaffPrincipal). Ended now, so that if Redis fails the
        # change is not committed either; and again after the commit, for a login that read
        # the row in between. A new display name leaves them be (read from the row).
        staff_id = staff.id
        revoke_all("staff", staff_id)
        after_commit(lambda: revoke_all("staff", staff_id))
    return staff


def list_staff(*, cursor: int | None, limit: int) -> list[Staff]:
    return keyset_page(select(Staff), Staff.id, cursor=cursor, limit=limit)
