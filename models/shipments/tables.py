"""Parcel tables: an order's parcels (outbound and return), what each holds, the carrier
events pushed by 快递100, and the staff queue of parcels in trouble."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from models.base import MYSQL_TABLE, UTCDateTime, utcnow


class Parcel(db.Model):
    """One waybill of an order. `direction` outbound (we send it) or return (the shopper
    sends goods back; `after_sale_no` names the after-sale, a string rather than a key so
    this table does not wait for that one). `token` is the parcel's name in its 快递100
    callback URL: random, so a callback URL cannot be guessed from an order number."""

    __tablename__ = "parcels"
    __table_args__ = (
        Index("ix_parcels_order_id_id", "order_id", "id"),
        Index("ix_parcels_store_id_id", "store_id", "id"),
        # The silent-parcel poll: parcels still moving, by when they last heard anything.
        Index("ix_parcels_status_last_heard_at", "status", "last_heard_at"),
        Index("ix_parcels_after_sale_no", "after_sale_no"),
        UniqueConstraint("token", name="uq_parcels_token"),
        CheckConstraint("direction IN ('outbound', 'return')", name="direction_known"),
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    direction: Mapped[str] = mapped_column(String(8))
    after_sale_no: Mapped[str | None] = mapped_column(String(32))
    # WeChat's express_company code as staff give it (e.g. SF, YTO) and 快递100's (lower case).
    carrier: Mapped[str] = mapped_column(String(32))
    kuaidi100_com: Mapped[str] = mapped_column(String(32))
    tracking_no: Mapped[str] = mapped_column(String(64))
    # Changed only by models.shipments.status.PARCELS.
    status: Mapped[str] = mapped_column(String(24))
    # 快递100's lastResult.state as last applied (0 在途 … 14 拒签), and its newest event time.
    carrier_state: Mapped[int | None]
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How many distinct trace nodes are stored: a push that is the stored trace plus new
    # nodes on top is recognised without reading the stored ones (models.shipments.tracking).
    event_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # When we last heard of it at all (created, a push, a poll): the silent-parcel poll's clock.
    last_heard_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # 快递100's subscription: accepted when, stopped (abort) when and why, ended (shutdown).
    subscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    subscribe_error: Mapped[str | None] = mapped_column(String(64))
    aborted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    abort_reason: Mapped[str | None] = mapped_column(String(64))
    tracking_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # WeChat logistics (§9.2): the token the mini-program opens WeChat's tracking page with.
    waybill_token: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    collected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    out_for_delivery_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    exception_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    items: Mapped[list["ParcelItem"]] = relationship(order_by="ParcelItem.id")


class ParcelItem(db.Model):
    """Units of one order line in one parcel."""

    __tablename__ = "parcel_items"
    __table_args__ = (
        UniqueConstraint("parcel_id", "order_item_id", name="uq_parcel_items_parcel_line"),
        CheckConstraint("qty > 0", name="qty_positive"),
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcels.id"))
    order_item_id: Mapped[int] = mapped_column(ForeignKey("order_items.id"), index=True)
    qty: Mapped[int]


class ParcelEvent(db.Model):
    """One node of a parcel's trace as the carrier reported it. 快递100 pushes the whole
    trace every time: `fingerprint` (the node's time and text, hashed) is unique per parcel,
    so a replayed or reordered push adds nothing twice."""

    __tablename__ = "parcel_events"
    __table_args__ = (
        UniqueConstraint("parcel_id", "fingerprint", name="uq_parcel_events_parcel_fingerprint"),
        Index("ix_parcel_events_parcel_id_at", "parcel_id", "at"),
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcels.id"))
    fingerprint: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime)  # the carrier's time (ftime, Asia/Shanghai)
    context: Mapped[str] = mapped_column(String(500))
    area: Mapped[str | None] = mapped_column(String(100))
    node_status: Mapped[str | None] = mapped_column(String(16))  # the node's own status, when given
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ParcelIssue(db.Model):
    """A parcel in trouble, for staff: 疑难 (problem), 退签 (returned), 拒签 (refused), or
    nothing heard 48 h after shipping (silent). `open_key` is set while open and unique,
    so one kind of trouble is queued once per parcel however often it is reported."""

    __tablename__ = "parcel_issues"
    __table_args__ = (
        UniqueConstraint("open_key", name="uq_parcel_issues_open_key"),
        Index("ix_parcel_issues_store_id_status_id", "store_id", "status", "id"),
        Index("ix_parcel_issues_status_id", "status", "id"),
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcels.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    kind: Mapped[str] = mapped_column(String(16))  # problem | returned | refused | silent
    detail: Mapped[str | None] = mapped_column(String(200))
    # Changed only by models.shipments.status.ISSUES.
    status: Mapped[str] = mapped_column(String(16))
    open_key: Mapped[str | None] = mapped_column(String(48))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    resolution: Mapped[str | None] = mapped_column(String(200))
