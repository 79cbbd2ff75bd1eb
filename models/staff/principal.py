"""The signed-in staff member as their session describes them (`StaffPrincipal`)."""
from __future__ import annotations

from app.errors import Unauthorized
from app.extensions import db
from app.sessions import INVALID
from models.staff.abilities import Role, StoreAccess
from models.staff.tables import Staff


class StaffPrincipal(StoreAccess):
    """The signed-in staff member as their session describes them: id, role, stores.

    Written into the session at login (`claims`), so authorizing a staff request reads no
    row. They stay true because every change to a role, a store binding, a password or
    the active flag ends the member's sessions (`accounts.update_staff`). Anything else
    (name, username, bindings) comes from the row, read on first use (`row`)."""

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
