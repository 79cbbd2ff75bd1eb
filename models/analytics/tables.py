"""Rollup rows per store and business day: the figures, the steps' durations, the funnel
of the orders placed that day; and which days have been built.

A day that has no RollupDay row was never built: reports compute it from the raw tables
rather than show zeros that only mean "not counted yet"."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from models.analytics.figures import FIELDS
from models.analytics.flow import FUNNEL
from models.base import MYSQL_TABLE, UTCDateTime, utcnow


class RollupDay(db.Model):
    __tablename__ = "analytics_rollup_days"
    __table_args__ = (MYSQL_TABLE,)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StoreDay(db.Model):
    __tablename__ = "analytics_store_days"
    __table_args__ = (MYSQL_TABLE,)

    # (day, store_id): a date range for every store reads one contiguous run of the key.
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    placed: Mapped[int] = mapped_column(default=0)
    placed_fen: Mapped[int] = mapped_column(default=0)
    paid: Mapped[int] = mapped_column(default=0)
    paid_fen: Mapped[int] = mapped_column(default=0)
    cancelled: Mapped[int] = mapped_column(default=0)
    cancelled_by_shopper: Mapped[int] = mapped_column(default=0)
    cancelled_by_staff: Mapped[int] = mapped_column(default=0)
    cancelled_by_system: Mapped[int] = mapped_column(default=0)
    ready: Mapped[int] = mapped_column(default=0)
    picked_up: Mapped[int] = mapped_column(default=0)
    shipped: Mapped[int] = mapped_column(default=0)
    delivered: Mapped[int] = mapped_column(default=0)
    completed: Mapped[int] = mapped_column(default=0)
    pickup_expired: Mapped[int] = mapped_column(default=0)
    pickup_visits: Mapped[int] = mapped_column(default=0)
    partial_visits: Mapped[int] = mapped_column(default=0)
    new_buyers: Mapped[int] = mapped_column(default=0)
    returning_buyers: Mapped[int] = mapped_column(default=0)
    refunds: Mapped[int] = mapped_column(default=0)
    refunded_fen: Mapped[int] = mapped_column(default=0)

    def figures(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in FIELDS}


class StepDay(db.Model):
    """A step's durations at a store on a day (models/analytics/flow.py), as a digest."""

    __tablename__ = "analytics_step_days"
    __table_args__ = (MYSQL_TABLE,)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    step: Mapped[str] = mapped_column(String(16), primary_key=True)
    samples: Mapped[int]
    digest: Mapped[dict] = mapped_column(JSON)  # {"bucket": count}


class FunnelDay(db.Model):
    """What became of the orders a store took on a day (models/analytics/flow.py)."""

    __tablename__ = "analytics_funnel_days"
    __table_args__ = (MYSQL_TABLE,)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    placed: Mapped[int] = mapped_column(default=0)
    paid: Mapped[int] = mapped_column(default=0)
    prepared: Mapped[int] = mapped_column(default=0)
    collected: Mapped[int] = mapped_column(default=0)
    kept: Mapped[int] = mapped_column(default=0)
    lost_unpaid: Mapped[int] = mapped_column(default=0)
    lost_expired: Mapped[int] = mapped_column(default=0)
    lost_refunded: Mapped[int] = mapped_column(default=0)

    def funnel(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in FUNNEL}


class SkuDay(db.Model):
    """What a SKU sold and had refunded at a store on a day (models/analytics/products.py)."""

    __tablename__ = "analytics_sku_days"
    __table_args__ = (MYSQL_TABLE,)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), primary_key=True)
    orders: Mapped[int] = mapped_column(default=0)
    units: Mapped[int] = mapped_column(default=0)
    gmv_fen: Mapped[int] = mapped_column(default=0)
    refunded_fen: Mapped[int] = mapped_column(default=0)


class Customer(db.Model):
    """A customer's RFM scores, segment and pickup style at a store (store 0: every
    store), rebuilt nightly (models/analytics/customers.py)."""

    __tablename__ = "analytics_customers"
    __table_args__ = (Index("ix_analytics_customers_store_segment", "store_id", "segment"), MYSQL_TABLE)

    store_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # 0: every store
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, autoincrement=False)
    orders: Mapped[int]
    monetary_fen: Mapped[int]
    last_paid_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_order_at: Mapped[datetime] = mapped_column(UTCDateTime)
    r: Mapped[int]
    f: Mapped[int]
    m: Mapped[int]
    segment: Mapped[str] = mapped_column(String(16))
    pickup_style: Mapped[str] = mapped_column(String(16))
    pickup_orders: Mapped[int]
    visits: Mapped[int]
    # How their stock is held when scored: units paid for at a store and not yet collected
    # (open pickup orders), and units left on pickup cards they have redeemed from.
    units_held: Mapped[int] = mapped_column(default=0, server_default="0")
    card_units_held: Mapped[int] = mapped_column(default=0, server_default="0")
    reachable: Mapped[bool]
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
