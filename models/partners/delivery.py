"""Webhook delivery: claim a due delivery, send it signed (Standard Webhooks), record the
attempt and what follows — the outbox's three steps (models/outbox/dispatch.py) on a
schedule of their own, since a partner may be down for a day where WeChat is not:

  try 1 at once, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: 8 tries over ≈27.6 h

1. Claim (one transaction): the oldest due `pending` delivery of an active endpoint of an
   active client (`FOR UPDATE SKIP LOCKED`: workers never wait on or take the same row),
   or a `sending` one whose lease ran out, becomes `sending` with a fresh token and a
   lease; the body is built and signed. Commit.
2. Send, holding nothing: POST, WEBHOOK_TIMEOUT_S (10 s), redirects not followed.
3. Record (one transaction), only if the claim is still ours: the attempt (always), then
   - any 2xx: delivered; the endpoint is healthy again;
   - 410 Gone: the receiver says the endpoint is gone: it is disabled, this delivery failed
     (its other deliveries wait, pending, in case it is enabled again);
   - no answer, 5xx, 408, 429: tried again on the schedule — later if Retry-After asks;
   - anything else (a 3xx, a 4xx the receiver chose): failed, kept with the answer for
     staff and partner to see and redeliver;
   - an endpoint failing without a success for WEBHOOK_DISABLE_AFTER_S (days) is disabled
     with a staff alert.

`webhook-id` is the event's id, the same on every try and redelivery, so a receiver that
dedupes on it applies each event once; `webhook-timestamp` is this try's (the real clock,
also under a simulated `now`: receivers check it against theirs).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from flask import current_app
from sqlalchemy import select

from app.db import own_transaction
from app.extensions import db
from models import outbox
from models.base import utcnow
from models.partners import events
from models.partners.status import DELIVERIES, ENDPOINTS
from models.partners.tables import PartnerClient, PartnerEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from models.partners.webhooks import secrets_of
from models.state_machine import InvalidTransition, Row

log = logging.getLogger(__name__)

# Seconds to wait after try n fails (index n−1); len + 1 tries in all.
SCHEDULE_S = (5, 300, 1800, 7200, 18000, 36000, 36000)
MAX_TRIES = len(SCHEDULE_S) + 1
LEASE = timedelta(seconds=60)          # well past the 10 s timeout
RETRY_AFTER_CAP_S = 86400
RETRY_STATUSES = frozenset({408, 429})
_SESSION = requests.Session()


@dataclass(frozen=True)
class Prepared:
    delivery_id: int
    endpoint_id: int
    token: str
    attempt: int
    url: str
    msg_id: str
    body: bytes
    secrets: tuple  # the current one first; the previous one for a while after a rotation


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    retry_after_s: int | None
    duration_ms: int


def body_of(event: PartnerEvent) -> bytes:
    """The exact bytes sent and signed (minified JSON; never re-serialised after signing)."""
    return json.dumps({"id": event.public_id, "type": event.type,
                       "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
                       "seq": event.seq, "data": event.data},
                      separators=(",", ":"), ensure_ascii=False).encode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks v1: base64(HMAC-SHA256(base64-decoded secret, "id.timestamp.body"))."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def headers_for(p: Prepared, timestamp: int) -> dict:
    return {"content-type": "application/json", "user-agent": "Tihuo-Webhooks/1",
            "webhook-id": p.msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": " ".join(sign(s, p.msg_id, timestamp, p.body) for s in p.secrets)}


def dispatch_due(limit: int = 200, now: datetime | None = None) -> dict:
    """Deliver up to `limit` due deliveries, one at a time (the task tihuo.partners.webhooks:
    kicked after a fan-out or a redelivery, and swept by the beat). Counts per outcome."""
    counts: dict[str, int] = {}
    with own_transaction():  # the events' switch, from the database (a Redis may have lost it)
        events.refresh_flag()
    for _ in range(limit):
        try:
            result = dispatch_one(now)
        except Exception:
            log.exception("webhook dispatch stopped")
            break
        if result is None:
            break
        counts[result] = counts.get(result, 0) + 1
    return counts


def dispatch_one(now: datetime | None = None) -> str | None:
    with own_transaction():
        prepared = claim_next(now or utcnow())
    if prepared is None:
        return None
    outcome = send(prepared)
    with own_transaction():
        return record(prepared, outcome, now or utcnow())


CANDIDATES = 16


def claim_next(now: datetime) -> Prepared | None:
    for status in ("pending", "sending"):
        # Two steps: the due deliveries of live endpoints (a plain read), then the first of
        # them nobody holds, locked alone. One locking read with the joins would lock the
        # endpoint's and client's rows too (MariaDB has no FOR UPDATE OF), so a second
        # worker would skip every delivery of that endpoint while the first held one.
        due = list(db.session.scalars(
            select(WebhookDelivery.id)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .join(PartnerClient, PartnerClient.id == WebhookEndpoint.client_id)
            .where(WebhookDelivery.status == status, WebhookDelivery.next_attempt_at <= now,
                   WebhookEndpoint.status == "active", PartnerClient.status == "active")
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(CANDIDATES)))
        if not due:
            continue
        row = db.session.execute(
            select(WebhookDelivery.id, WebhookDelivery.endpoint_id, WebhookDelivery.event_id,
                   WebhookDelivery.attempts)
            .where(WebhookDelivery.id.in_(due), WebhookDelivery.status == status,
                   WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(1)
            .with_for_update(skip_locked=True)).first()
        if row is None:
            continue
        token = secrets.token_hex(16)
        try:
            taken = DELIVERIES.move(Row(row.id, status), "claim", guard=(WebhookDelivery.next_attempt_at <= now,),
                                    claim_token=token, attempts=row.attempts + 1,
                                    next_attempt_at=now + LEASE).applied
        except InvalidTransition:
            taken = False
        if not taken:
            continue
        endpoint = db.session.get(WebhookEndpoint, row.endpoint_id)
        event = db.session.get(PartnerEvent, row.event_id)
        return Prepared(row.id, endpoint.id, token, row.attempts + 1, endpoint.url, event.public_id,
                        body_of(event), tuple(secrets_of(endpoint, utcnow())))
    return None


def send(p: Prepared) -> Outcome:
    started = time.monotonic()
    try:
        resp = _SESSION.post(p.url, data=p.body, headers=headers_for(p, int(time.time())),
                             timeout=current_app.config["WEBHOOK_TIMEOUT_S"], allow_redirects=False)
        resp.close()
    except requests.RequestException as exc:
        return Outcome(None, f"{type(exc).__name__}"[:255], None, _ms(started))
    return Outcome(resp.status_code, None, _retry_after(resp.headers.get("Retry-After")), _ms(started))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _retry_after(value: str | None) -> int | None:
    if value and value.strip().isdigit():
        return min(int(value.strip()), RETRY_AFTER_CAP_S)
    return None  # an HTTP date is rare from receivers; the schedule decides then


def verdict(outcome: Outcome) -> str:
    """delivered | gone | retry | failed (module docstring)."""
    code = outcome.status_code
    if code is None:
        return "retry"
    if 200 <= code < 300:
        return "delivered"
    if code == 410:
        return "gone"
    if code >= 500 or code in RETRY_STATUSES:
        return "retry"
    return "failed"


def record(p: Prepared, outcome: Outcome, now: datetime) -> str:
    db.session.add(WebhookAttempt(delivery_id=p.delivery_id, at=now, status_code=outcome.status_code,
                                  error=outcome.error, duration_ms=outcome.duration_ms))
    what = verdict(outcome)
    if what == "retry" and p.attempt >= MAX_TRIES:
        what = "failed"
    values = {"claim_token": None, "last_status_code": outcome.status_code,
              "last_error": outcome.error or (None if what == "delivered" else f"HTTP {outcome.status_code}")}
    if what == "retry":
        wait = max(SCHEDULE_S[p.attempt - 1], outcome.retry_after_s or 0)
        values["next_attempt_at"] = now + timedelta(seconds=wait)
    else:
        values["next_attempt_at"] = now
    action = {"delivered": "delivered", "retry": "retry_later", "failed": "fail", "gone": "fail"}[what]
    try:
        ours = DELIVERIES.move(Row(p.delivery_id, "sending"), action, at=now,
                               guard=(WebhookDelivery.claim_token == p.token,), **values).applied
    except InvalidTransition:
        ours = False
    if not ours:
        log.warning("webhook delivery %s: claim lost before recording %s", p.delivery_id, what)
        return what
    _endpoint_health(p.endpoint_id, what, now)
    return what


def _endpoint_health(endpoint_id: int, what: str, now: datetime) -> None:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if what == "delivered":
        if endpoint.failing_since is not None:
            endpoint.failing_since = None
        return
    if what == "gone":
        _disable(endpoint, "the receiver answered 410 Gone", now)
        return
    if endpoint.failing_since is None:
        endpoint.failing_since = now
    elif now - endpoint.failing_since >= timedelta(seconds=current_app.config["WEBHOOK_DISABLE_AFTER_S"]):
        _disable(endpoint, "failing since {}".format(endpoint.failing_since.isoformat()), now)


def _disable(endpoint: WebhookEndpoint, reason: str, now: datetime) -> None:
    if ENDPOINTS.move(endpoint, "disable", at=now, note=reason[:200], disabled_reason=reason[:255]).applied:
        log.warning("webhook endpoint %s disabled: %s", endpoint.id, reason)
        outbox.enqueue("staff_alert", {"event": "webhook_endpoint_disabled", "endpoint_id": endpoint.id,
                                       "client_id": endpoint.client_id, "reason": reason[:200]},
                       dedupe_key=f"webhook_disabled:{endpoint.id}:{int(now.timestamp())}")
