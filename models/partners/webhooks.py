"""Webhook endpoints and what is delivered to them: register (https only), change, disable;
fan an event out to the endpoints that subscribe to it; list deliveries with their
attempts; redeliver one event or a range. The sending is delivery.py.

An endpoint belongs to a partner client and receives only the events of the client's
stores. Its signing secret (Standard Webhooks: `whsec_` + base64 of 32 random bytes) is
shown when it is made and stored encrypted, bound to the endpoint's row."""
from __future__ import annotations

import base64
import ipaddress
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from app.crypto import cipher
from app.errors import InvalidRequest, NotFound
from app.extensions import db
from app.tasks import after_commit, start
from models import audit
from models.base import utcnow
from models.outbox.delivery import Claim, Delivery
from models.partners.events import EVENT_TYPES
from models.partners.status import DELIVERIES, ENDPOINTS
from models.partners.tables import (PartnerClient, PartnerEvent, WebhookAttempt, WebhookDelivery,
                                    WebhookEndpoint)
from models.state_machine import Actor

MAX_ENDPOINTS = 10
MAX_REDELIVER = 1000
KICK_TASK = "tihuo.partners.webhooks"


def _aad(endpoint_id: int) -> bytes:
    return f"webhook_endpoints:{endpoint_id}:secret".encode()


ROTATION_OVERLAP = timedelta(hours=24)


def secret_of(endpoint: WebhookEndpoint) -> str:
    return cipher().decrypt(endpoint.secret_enc, aad=_aad(endpoint.id))


def secrets_of(endpoint: WebhookEndpoint, now) -> list[str]:
    """The secrets that sign a message: the current one, and for ROTATION_OVERLAP after a
    rotation the one before (Standard Webhooks: both signatures sent, either verifies)."""
    found = [secret_of(endpoint)]
    if endpoint.previous_secret_enc and endpoint.previous_secret_until and endpoint.previous_secret_until > now:
        found.append(cipher().decrypt(endpoint.previous_secret_enc, aad=_aad(endpoint.id)))
    return found


def check_url(url: str) -> str:
    """https, or http to a loopback address where WEBHOOK_ALLOW_HTTP_LOOPBACK allows it (the
    tests' and the demo's receivers); never a private or link-local address (SSRF)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    loopback = host == "localhost" or (address is not None and address.is_loopback)
    if loopback:
        ok = current_app.config["WEBHOOK_ALLOW_HTTP_LOOPBACK"] and parts.scheme in ("http", "https")
    else:
        ok = parts.scheme == "https" and bool(host) and (address is None or address.is_global)
    if ok and len(url) <= 500:
        return url
    raise InvalidRequest("A webhook URL must be https:// to a public host.", details={"field": "url"})


def _types(event_types: list[str]) -> list[str]:
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown or not event_types:
        raise InvalidRequest("Unknown or missing event types.",
                             details={"field": "event_types", "unknown": unknown, "types": list(EVENT_TYPES)})
    return [t for t in EVENT_TYPES if t in event_types]


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def create(actor, client_pk: int, url: str, event_types: list[str]) -> tuple[WebhookEndpoint, str]:
    count = db.session.scalar(select(db.func.count()).select_from(WebhookEndpoint).where(
        WebhookEndpoint.client_id == client_pk, WebhookEndpoint.status == "active"))
    if count >= MAX_ENDPOINTS:
        raise InvalidRequest("At most {max} webhook endpoints a client.", params={"max": MAX_ENDPOINTS})
    endpoint = WebhookEndpoint(client_id=client_pk, url=check_url(url), event_types=_types(event_types),
                               secret_enc="-", status=ENDPOINTS.initial_status("active"))
    db.session.add(endpoint)
    db.session.flush()
    secret = new_secret()
    endpoint.secret_enc = cipher().encrypt(secret, aad=_aad(endpoint.id))
    audit.record("webhook_endpoint.create", endpoint, actor=actor,
                 changes={"client_id": client_pk, "url": endpoint.url, "event_types": endpoint.event_types})
    return endpoint, secret


def endpoints(client_pk: int | None) -> list[WebhookEndpoint]:
    query = select(WebhookEndpoint).order_by(WebhookEndpoint.id.desc()).limit(200)
    if client_pk is not None:
        query = query.where(WebhookEndpoint.client_id == client_pk)
    return list(db.session.scalars(query))


def endpoint(client_pk: int | None, endpoint_id: int) -> WebhookEndpoint:
    """One endpoint (of that client, when one is named: 404 for another client's)."""
    found = db.session.get(WebhookEndpoint, endpoint_id) if 0 < endpoint_id < 2**31 else None
    if found is None or (client_pk is not None and found.client_id != client_pk):
        raise NotFound("No such webhook endpoint.", details={"id": endpoint_id})
    return found


def update(actor, client_pk: int | None, endpoint_id: int, *, url: str | None = None,
           event_types: list[str] | None = None, active: bool | None = None) -> WebhookEndpoint:
    found = endpoint(client_pk, endpoint_id)
    changes = audit.diff(found, {"url": check_url(url) if url is not None else found.url,
                                 "event_types": _types(event_types) if event_types is not None
                                 else found.event_types})
    if active is not None and active != (found.status == "active"):
        ENDPOINTS.move(found, "enable" if active else "disable", Actor.of(actor),
                       **({} if active else {"disabled_reason": "by its owner"}))
        if active:
            found.failing_since, found.disabled_reason = None, None
        changes["status"] = found.status
    if changes:
        audit.record("webhook_endpoint.update", found, actor=actor, changes=changes)
    return found


def rotate_secret(actor, client_pk: int | None, endpoint_id: int) -> tuple[WebhookEndpoint, str]:
    found = endpoint(client_pk, endpoint_id)
    secret = new_secret()
    found.previous_secret_enc, found.previous_secret_until = found.secret_enc, utcnow() + ROTATION_OVERLAP
    found.secret_enc = cipher().encrypt(secret, aad=_aad(found.id))
    audit.record("webhook_endpoint.rotate", found, actor=actor, changes={})
    return found, secret


# --- fan-out: the outbox's `partner_event` delivery -----------------------------------------

def _fan_out_send(payload: dict) -> None:
    return None  # nothing leaves the process: finish() writes the deliveries


def _fan_out(claim: Claim, prepared, result) -> None:
    """In the outbox's recording transaction (only when its claim still holds): one
    delivery per active endpoint of the event's store's clients that subscribes to it. The
    unique (endpoint, event) makes a second fan-out of one event write nothing new."""
    if result.status != "sent":
        return
    event = db.session.scalars(select(PartnerEvent).where(PartnerEvent.public_id == claim.payload["event"])).first()
    if event is None:
        return
    rows = db.session.execute(select(WebhookEndpoint.id, WebhookEndpoint.event_types, PartnerClient.store_ids)
                              .join(PartnerClient, PartnerClient.id == WebhookEndpoint.client_id)
                              .where(WebhookEndpoint.status == "active", PartnerClient.status == "active")).all()
    wanted = [r.id for r in rows if event.type in r.event_types and event.store_id in (r.store_ids or [])]
    if not wanted:
        return
    have = set(db.session.scalars(select(WebhookDelivery.endpoint_id).where(
        WebhookDelivery.event_id == event.id, WebhookDelivery.endpoint_id.in_(wanted))))
    for endpoint_id in wanted:
        if endpoint_id not in have:
            db.session.add(WebhookDelivery(endpoint_id=endpoint_id, event_id=event.id,
                                           status=DELIVERIES.initial_status("pending"), next_attempt_at=event.created_at))
    db.session.flush()
    after_commit(lambda: start(KICK_TASK), key=KICK_TASK)


FAN_OUT = Delivery(send=_fan_out_send, finish=_fan_out)


# --- what staff and partners see, and redelivery ------------------------------------------

def deliveries(client_pk: int | None, endpoint_id: int, *, status: str | None, cursor: int | None,
               limit: int) -> list[WebhookDelivery]:
    found = endpoint(client_pk, endpoint_id)
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == found.id)
    if status:
        query = query.where(WebhookDelivery.status == status)
    if cursor:
        query = query.where(WebhookDelivery.id < cursor)
    rows = list(db.session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit)))
    events = {e.id: e for e in db.session.scalars(select(PartnerEvent).where(
        PartnerEvent.id.in_({r.event_id for r in rows})))} if rows else {}
    for r in rows:
        r.event = events.get(r.event_id)
    return rows


def attempts(client_pk: int | None, delivery_id: int) -> tuple[WebhookDelivery, list[WebhookAttempt]]:
    delivery = db.session.get(WebhookDelivery, delivery_id) if 0 < delivery_id < 2**31 else None
    if delivery is None:
        raise NotFound("No such delivery.", details={"id": delivery_id})
    endpoint(client_pk, delivery.endpoint_id)
    rows = list(db.session.scalars(select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery.id)
                                   .order_by(WebhookAttempt.id).limit(100)))
    return delivery, rows


def redeliver(actor, client_pk: int | None, endpoint_id: int, *, from_seq: int, to_seq: int | None) -> int:
    """Send events `from_seq`..`to_seq` (feed sequence numbers, at most MAX_REDELIVER) to
    the endpoint again, whether they were delivered or failed: rows that exist go back to
    pending, events it never had (subscribed since, or its store added since) get one."""
    found = endpoint(client_pk, endpoint_id)
    if found.status != "active":
        raise InvalidRequest("Enable the endpoint first.", details={"status": found.status})
    to_seq = to_seq if to_seq is not None else from_seq
    if to_seq < from_seq or to_seq - from_seq >= MAX_REDELIVER:
        raise InvalidRequest("Between 1 and {max} events at a time.", params={"max": MAX_REDELIVER},
                             details={"field": "to_seq"})
    client = db.session.get(PartnerClient, found.client_id)
    events = db.session.execute(select(PartnerEvent.id, PartnerEvent.type, PartnerEvent.store_id).where(
        PartnerEvent.id >= from_seq, PartnerEvent.id <= to_seq)).all()
    ids = [e.id for e in events if e.type in found.event_types and e.store_id in (client.store_ids or [])]
    existing = {d.event_id: d for d in db.session.scalars(select(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == found.id, WebhookDelivery.event_id.in_(ids)))} if ids else {}
    count = 0
    for event_id in ids:
        d = existing.get(event_id)
        if d is None:
            db.session.add(WebhookDelivery(endpoint_id=found.id, event_id=event_id,
                                           status=DELIVERIES.initial_status("pending")))
            count += 1
        elif d.status in ("delivered", "failed"):
            DELIVERIES.move(d, "redeliver", Actor.of(actor), attempts=0, next_attempt_at=utcnow())
            count += 1
    audit.record("webhook_endpoint.redeliver", found, actor=actor,
                 changes={"from_seq": from_seq, "to_seq": to_seq, "count": count})
    after_commit(lambda: start(KICK_TASK), key=KICK_TASK)
    return count
