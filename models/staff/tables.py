"""The staff tables: an account (`staff`) and the stores it is bound to (`staff_stores`)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Enum, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from models.base import MYSQL_TABLE, UTCDateTime, utcnow
from models.staff.abilities import Role, StoreAccess
from models.stores import Store

staff_stores = Table(
    "staff_stores", db.metadata,
    Column("staff_id", ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True),
    Column("store_id", ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True),
    **MYSQL_TABLE,
)


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
