"""Pickup-card tables: a batch (what its cards entitle to, when, where, how), its cards,
one row per redemption (the order a card's units became), and a batch's export (the job
that makes the passwords, and its encrypted result until the admin has it)."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from models.base import MYSQL_TABLE, UTCDateTime, utcnow
from models.catalog import Sku
from models.orders.tables import Order


class Channels(str, enum.Enum):
    pickup = "pickup"
    delivery = "delivery"
    both = "both"

    def allows(self, fulfillment: str) -> bool:
        return self.value in ("both", fulfillment)


class CardStatus(str, enum.Enum):
    new = "new"            # made, no password yet (passwords are born at the export)
    issued = "issued"      # password printed, not sold yet: not redeemable
    active = "active"      # sold: redeemable within the batch's window
    used_up = "used_up"    # every unit redeemed
    void = "void"          # withdrawn by the merchant


class ExportStatus(str, enum.Enum):
    queued = "queued"        # started; its task not running yet
    running = "running"      # making and hashing the passwords (cards_done of cards_total)
    ready = "ready"          # the result, encrypted, waits for its admin to download it
    delivered = "delivered"  # the admin confirmed receipt: the result is destroyed
    expired = "expired"      # not confirmed within CARD_EXPORT_TTL_S: the result is destroyed
    failed = "failed"        # stopped with nothing stored (the batch voided meanwhile, an error)


class CardBatch(db.Model):
    __tablename__ = "card_batches"
    __table_args__ = (
        CheckConstraint("qty_per_unit > 0 AND units_per_card > 0 AND card_count > 0", name="counts_positive"),
        CheckConstraint("valid_until > valid_from", name="window_order"),
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    # The entitlement: one unit of a card is `qty_per_unit` of this SKU (a bundle SKU too).
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    qty_per_unit: Mapped[int]
    units_per_card: Mapped[int]
    card_count: Mapped[int]
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime)
    channels: Mapped[str] = mapped_column(String(16))  # pickup | delivery | both
    # Cards sold for one store: picked up there, shipped from there. None: any store.
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None]
    # Set once, by the one export that shows the passwords (a guarded update).
    exported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    exported_by: Mapped[int | None]
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    sku: Mapped[Sku] = relationship(viewonly=True)


class Card(db.Model):
    __tablename__ = "cards"
    __table_args__ = (
        UniqueConstraint("batch_id", "seq"),
        CheckConstraint("units_left >= 0 AND units_left <= units_total", name="units_range"),
        CheckConstraint("failed_attempts >= 0", name="attempts_nonneg"),
        Index("ix_cards_locked_at", "locked_at"),  # the review queue
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("card_batches.id"))
    seq: Mapped[int]  # 1..card_count within the batch: the order they are printed in
    # Printed on the card: batch, sequence and 3 random digits (so serials can't be
    # enumerated to lock other holders' cards).
    serial: Mapped[str] = mapped_column(String(24), unique=True)
    # "pbkdf2_sha256$<iterations>$<salt>$<hash>"; None until the export.
    password_hash: Mapped[str | None] = mapped_column(String(160))
    # Changed only by guarded updates in models.cards (status with units_left).
    status: Mapped[str] = mapped_column(String(16), default=CardStatus.new.value)
    units_total: Mapped[int]
    units_left: Mapped[int]
    failed_attempts: Mapped[int] = mapped_column(default=0)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    void_reason: Mapped[str | None] = mapped_column(String(200))

    batch: Mapped[CardBatch] = relationship()
    redemptions: Mapped[list["CardRedemption"]] = relationship(order_by="CardRedemption.id",
                                                               viewonly=True)


class CardRedemption(db.Model):
    """Units of a card turned into an order. `returned_at`: the order ended without the
    goods handed over and the units went back to the card (once)."""

    __tablename__ = "card_redemptions"
    __table_args__ = (CheckConstraint("units > 0", name="units_positive"), MYSQL_TABLE)

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    units: Mapped[int]
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    returned_units: Mapped[int | None]
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    order: Mapped[Order] = relationship(viewonly=True)


class CardExport(db.Model):
    """One export per batch (unique batch_id), made by a background job for one staff
    member, the only one who may read it. `result_enc`: the serials and plain passwords,
    AES-256-GCM with the job, batch and staff member bound in — NULL before ready and
    once delivered, expired or failed."""

    __tablename__ = "card_exports"
    __table_args__ = (
        CheckConstraint("cards_done >= 0 AND cards_done <= cards_total", name="progress_range"),
        Index("ix_card_exports_status_expires_at", "status", "expires_at"),  # the sweep
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("card_batches.id"), unique=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))  # None: the system (demo)
    # Changed only through models.cards.status.EXPORTS.
    status: Mapped[str] = mapped_column(String(16), default=ExportStatus.queued.value)
    cards_total: Mapped[int]
    cards_done: Mapped[int] = mapped_column(default=0)
    # The run that holds the job (its claim); a run that stops showing life (heartbeat_at)
    # for long is taken over by a new one — nothing of the old one was stored.
    run_token: Mapped[str | None] = mapped_column(String(32))
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    result_enc: Mapped[str | None] = mapped_column(Text().with_variant(mysql.LONGTEXT(), "mysql"))
    error: Mapped[str | None] = mapped_column(String(64))
    downloads: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    downloaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
