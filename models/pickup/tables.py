"""Pickup tables: the codes issued for orders, and the verification ledger (a hash chain
per store, with a head row that serialises appends)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from models.base import MYSQL_TABLE, UTCDateTime, utcnow


class PickupCode(db.Model):
    """One issued code of an order (a reissue adds a row and retires the old one).

    The code itself is never stored: `seed` is 128 random bits from `secrets`, and the
    12 digits are HMAC(code key, seed) — recomputable only with FIELD_ENCRYPTION_KEY, to
    show the owner. Staff look codes up by `code_hash` = HMAC(lookup key, digits).
    `live_hash` equals `code_hash` while the code is live and is NULL after: its unique
    index makes codes unique among live codes, while old ones stay findable (a second
    scan of a collected order is told when and by whom)."""

    __tablename__ = "pickup_codes"
    __table_args__ = (
        UniqueConstraint("order_id", "version"),
        Index("ix_pickup_codes_store_id_locked_at", "store_id", "locked_at"),  # the review list
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    version: Mapped[int]                      # 1, 2, ... per order; signed payloads name it
    level: Mapped[int]                        # 1 = V1 digits, 2 = V2 signed QR, 3 = V3 dynamic QR
    seed: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(64), index=True)
    live_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # HMAC of the scene of the order's latest mini-program code (NULL: none issued).
    wxa_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # live | used (all collected) | replaced (reissued) | expired (deadline passed)
    status: Mapped[str] = mapped_column(String(16), default="live")
    failed_attempts: Mapped[int] = mapped_column(default=0)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PickupVerification(db.Model):
    """The verification ledger: one row per hand-over, append-only, chained per store.

    `row_hash` = HMAC(ledger key, prev_hash | store | seq | order | staff | items | partial
    | time), `prev_hash` the row_hash of the store's previous row (64 zeros for the first).
    Editing, deleting or reordering a row breaks the chain at that row; the key keeps
    someone with only database access from re-hashing a forged tail."""

    __tablename__ = "pickup_verifications"
    __table_args__ = (
        UniqueConstraint("store_id", "seq"),
        Index("ix_pickup_verifications_verified_at", "verified_at"),  # a range's hand-overs (exports, analytics)
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    seq: Mapped[int]
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    items: Mapped[list] = mapped_column(JSON)   # [[sku_id, qty], ...] handed over, by sku_id
    partial: Mapped[bool] = mapped_column(default=False)
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime)
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))


class PickupLedgerHead(db.Model):
    """The end of a store's chain. Appends lock this row, so two verifications at once
    never both chain onto the same predecessor; it also pins the last row (deleting the
    tail of the chain shows)."""

    __tablename__ = "pickup_ledger_heads"
    __table_args__ = (MYSQL_TABLE,)

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class VerifyRequest(db.Model):
    """A verification sent with an `Idempotency-Key`: the answer it got, so the same
    request sent again (a lost response, a double tap) gets that answer instead of a
    second hand-over (models/pickup/replay.py). Keys are the staff member's own."""

    __tablename__ = "pickup_verify_requests"
    __table_args__ = (UniqueConstraint("staff_id", "key"), MYSQL_TABLE)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    key: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str] = mapped_column(String(64))
    answer: Mapped[dict | None] = mapped_column(JSON)  # None: not answered (yet, or refused)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PickupLedgerCheckpoint(db.Model):
    """How far a clean ledger check got in a store's chain: the incremental check starts
    after it (models/pickup/ledger.py `check`)."""

    __tablename__ = "pickup_ledger_checkpoints"
    __table_args__ = (MYSQL_TABLE,)

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True, autoincrement=False)
    seq: Mapped[int]
    row_hash: Mapped[str] = mapped_column(String(64))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
