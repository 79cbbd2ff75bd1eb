"""Staff accounts: passwords (argon2id), creating, changing and listing them."""
from __future__ import annotations

import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.tasks import after_commit
from app.errors import Conflict, InvalidRequest
from app.extensions import db
from app.sessions import revoke_all
from models import audit
from models.base import keyset_page
from models.staff.abilities import Role
from models.staff.tables import Staff
from models.stores import Store

# argon2id with the library's defaults (RFC 9106 low-memory profile).
_hasher = PasswordHasher()
MIN_PASSWORD_LEN = 10


_dummy: list[str] = []
_dummy_lock = threading.Lock()


def _dummy_hash() -> str:
    """Verified against when the username is unknown, so both cases cost the same time.
    Made on a process's first login check rather than at import: argon2id takes 64 MiB
    for a moment by design, which every process — Celery workers that never check a
    password too — paid on start (their peak memory; scripts/bench_export.py). Made once,
    under a lock: a burst of first logins must not hash it (and take 64 MiB) each."""
    if not _dummy:
        with _dummy_lock:
            if not _dummy:
                _dummy.append(_hasher.hash("tihuo-dummy-password"))
    return _dummy[0]


def password_matches(staff: Staff | None, password: str) -> bool:
    """Whether `password` is the member's. Without a member the dummy hash is checked, so
    an unknown username costs the same time as a wrong password."""
    dummy = _dummy_hash()  # first, whoever logs in: the first check costs the same either way
    try:
        _hasher.verify(staff.password_hash if staff else dummy, password)
    except (VerificationError, InvalidHashError):
        return False
    return True


def rehash_if_needed(staff: Staff, password: str) -> None:
    """After a match: a hash made with older parameters is made again with today's."""
    if _hasher.check_needs_rehash(staff.password_hash):
        staff.password_hash = _hasher.hash(password)


def _hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LEN:
        raise InvalidRequest("Passwords need at least {min_length} characters.",
                             params={"min_length": MIN_PASSWORD_LEN}, details={"field": "password"})
    return _hasher.hash(password)


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
        # carry the role and stores (principal.StaffPrincipal). Ended now, so that if Redis
        # fails the change is not committed either; and again after the commit, for a login
        # that read the row in between. A new display name leaves them be (read from the row).
        staff_id = staff.id
        revoke_all("staff", staff_id)
        after_commit(lambda: revoke_all("staff", staff_id))
    return staff


def list_staff(*, cursor: int | None, limit: int) -> list[Staff]:
    return keyset_page(select(Staff), Staff.id, cursor=cursor, limit=limit)
