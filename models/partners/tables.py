"""Partner tables: OAuth2 clients (ERP/WMS), their external references, idempotent stock
adjustments, order acknowledgements, the event log and webhook endpoints, deliveries and
attempts."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from models.base import MYSQL_TABLE, UTCDateTime, utcnow


class PartnerClient(db.Model):
    """An OAuth2 client (client credentials). Secrets are 256 random bits, so a SHA-256 of
    them is as good as a slow hash and costs nothing per token request; two are valid at
    once (`secret_hash` and `previous_secret_hash`) so a partner can roll the new one out
    before the old one stops working."""

    __tablename__ = "partner_clients"
    __table_args__ = (MYSQL_TABLE,)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list] = mapped_column(JSON)
    store_ids: Mapped[list] = mapped_column(JSON)
    secret_hash: Mapped[str] = mapped_column(String(64))
    previous_secret_hash: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | revoked
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None]
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # For models.audit.record and state_machine.Actor: the partner principal's kind.
    audit_kind = "partner"


class PartnerExternalRef(db.Model):
    """A partner's own id for one of ours (kind: sku | store | order), per client: two ERPs
    may number the same SKU differently."""

    __tablename__ = "partner_external_refs"
    __table_args__ = (UniqueConstraint("client_id", "kind", "external_id"),
                      UniqueConstraint("client_id", "kind", "internal_id"), MYSQL_TABLE)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("partner_clients.id"))
    kind: Mapped[str] = mapped_column(String(8))
    internal_id: Mapped[int]
    external_id: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PartnerStockRequest(db.Model):
    """An `Idempotency-Key` of a stock call: its unique row is claimed before any stock
    moves, so a concurrent retry waits on it and then answers what the first one did."""

    __tablename__ = "partner_stock_requests"
    __table_args__ = (UniqueConstraint("client_id", "key"), MYSQL_TABLE)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("partner_clients.id"))
    key: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class PartnerOrderAck(db.Model):
    """A partner said it has taken an order into its own system."""

    __tablename__ = "partner_order_acks"
    __table_args__ = (UniqueConstraint("client_id", "order_id"), MYSQL_TABLE)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("partner_clients.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    acknowledged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PartnerEvent(db.Model):
    """One event (order.paid, stock.adjusted, ...), written in the transaction of the change.
    `id` is the pull feed's sequence; `seq` counts the events of one resource (an order, a
    (store, SKU)), so a receiver can drop an event older than one it already applied."""

    __tablename__ = "partner_events"
    __table_args__ = (UniqueConstraint("resource", "resource_id", "seq"), MYSQL_TABLE)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The webhook-id: the same on every try and redelivery (receivers dedupe on it).
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    resource: Mapped[str] = mapped_column(String(16))      # order | stock | card
    resource_id: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int]
    store_id: Mapped[int | None]
    data: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookEndpoint(db.Model):
    """Where a client's events are pushed. The signing secret is needed in the clear to
    sign, so it is stored encrypted (app.crypto), bound to its row."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (MYSQL_TABLE,)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("partner_clients.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    event_types: Mapped[list] = mapped_column(JSON)
    secret_enc: Mapped[str] = mapped_column(String(255))
    # After a rotation the old secret signs too, until then (receivers move at their pace).
    previous_secret_enc: Mapped[str | None] = mapped_column(String(255))
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | disabled
    disabled_reason: Mapped[str | None] = mapped_column(String(255))
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by the first failure after a success, cleared by a success: "days of failures".
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(db.Model):
    """One event for one endpoint: claimed like an outbox row (SKIP LOCKED, a lease),
    retried on its own schedule (models/partners/delivery.py)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("endpoint_id", "event_id"),
                      Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
                      Index("ix_webhook_deliveries_endpoint_id_id", "endpoint_id", "id"),
                      MYSQL_TABLE)

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"))
    event_id: Mapped[int] = mapped_column(ForeignKey("partner_events.id"))
    # pending | sending | delivered | failed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookAttempt(db.Model):
    """Every try of a delivery: when, what came back, how long it took."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery_id_id", "delivery_id", "id"), MYSQL_TABLE)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(255))
    duration_ms: Mapped[int]
