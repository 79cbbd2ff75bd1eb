"""Outbox delivery: claim one due row, send it, record the outcome.

1. Claim (one transaction): the oldest due row nobody else holds (`FOR UPDATE SKIP
   LOCKED` on MariaDB, so two workers never wait on or take the same row; SQLite runs one
   writer at a time anyway) becomes `sending` with a fresh claim token and a lease
   (`next_attempt_at` = now + OUTBOX_LEASE_S); the delivery prepares what to send (a
   subscribe message takes its grant here). Commit.
2. Send, holding no lock and no open write.
3. Record (one transaction), only if the claim token is still ours: sent, skipped,
   failed (kept for staff with last_error), or pending again after a backoff.

So a row is sent at most once by concurrent workers, and a recorded outcome is final: a
sent row is never claimed again. A worker that dies between 1 and 3 leaves a `sending`
row whose lease runs out; the next pass claims it again (for a subscribe message, with
the grant it already holds). Only a death after WeChat accepted the send and before the
outcome was recorded can repeat a send — the lease is far longer than any call.
"""
from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from app.db import own_transaction
from app.extensions import db, rds
from app.metrics import OUTBOX_DELIVERIES
from models.base import utcnow
from models.outbox.delivery import Claim, Result, Verdict
from models.outbox.enqueue import KICK_FLAG
from models.outbox.registry import DELIVERIES
from models.outbox.status import OUTBOX, RECORD
from models.outbox.tables import OutboxMessage
from models.state_machine import InvalidTransition, Row
from wechat.errors import WeChatAPIError, WeChatError, WeChatUnavailable

log = logging.getLogger(__name__)

# 43101: the user has no grant left (or cancelled the subscription): skip, never retry.
NO_GRANT = 43101
# WeChat will refuse these however often we ask: invalid openid, appid, template_id,
# page, data format or values, user not following the official account, API not allowed.
PERMANENT_ERRCODES = frozenset({40003, 40013, 40036, 40037, 41030, 43004, 47001, 47003, 48001})


def backoff_s(attempt: int, base: int, cap: int) -> int:
    """Seconds before try `attempt + 1` after try `attempt` failed: base·2^(attempt−1), capped."""
    return min(cap, base * 2 ** max(attempt - 1, 0))


def classify(exc: BaseException) -> Result:
    """What a failed send means. 40001 reaching here was already retried once by the
    client with a fresh token (wechat/client.py): retry later like -1, 5xx or no
    network. Unknown errcodes retry too, up to the cap, then fail for staff."""
    if isinstance(exc, Verdict):
        return exc.result
    if isinstance(exc, WeChatAPIError):
        reason = f"errcode {exc.errcode}: {exc.errmsg}"[:255]
        if exc.errcode == NO_GRANT:
            return Result("skipped", reason, exc.errcode)
        if exc.errcode in PERMANENT_ERRCODES:
            return Result("failed", reason, exc.errcode)
        return Result("retry", reason, exc.errcode)
    if isinstance(exc, WeChatUnavailable):
        return Result("retry", f"unavailable: {exc.reason}"[:255])
    if isinstance(exc, WeChatError):
        return Result("retry", str(exc)[:255])
    return Result("retry", f"{type(exc).__name__}: {exc}"[:255])


def dispatch_due(limit: int = 100, now: datetime | None = None) -> dict:
    """Deliver up to `limit` due rows, one at a time (the kick after commit and the
    periodic sweep both run this: the task tihuo.outbox.dispatch). Returns counts per
    outcome."""
    rds().delete(KICK_FLAG)  # before looking for rows: a later commit must kick again
    counts: dict[str, int] = {}
    for _ in range(limit):
        try:
            result = dispatch_one(now)
        except Exception:
            log.exception("outbox dispatch stopped")  # the database, most likely: next pass
            break
        if result is None:
            break
        counts[result.status] = counts.get(result.status, 0) + 1
    return counts


def dispatch_one(now: datetime | None = None) -> Result | None:
    """Claim, send and record one due row, each step its own transaction but the send;
    None when nothing is due."""
    claimed_at = now or utcnow()
    with own_transaction():
        claim = claim_next(claimed_at)
        if claim is None:
            return None
        try:
            with db.session.begin_nested():  # a crash here undoes its writes, not the claim
                prepared = DELIVERIES[claim.kind].prepare(claim)
        except Exception as exc:
            if not isinstance(exc, Verdict):
                log.exception("outbox %s (%s): preparing failed", claim.id, claim.kind)
            return record(claim, None, classify(exc), claimed_at)
    result = send(claim, prepared)
    with own_transaction():
        return record(claim, prepared, result, now or utcnow())


def claim_next(now: datetime) -> Claim | None:
    """Take the oldest due row of a kind we can deliver (or a claim whose lease ran out)."""
    lease = timedelta(seconds=current_app.config["OUTBOX_LEASE_S"])
    kinds = sorted(DELIVERIES)
    for status in ("pending", "sending"):  # separate index ranges: LIMIT stops early
        for _ in range(3):
            row = db.session.execute(
                select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.payload,
                       OutboxMessage.attempts, OutboxMessage.created_at)
                .where(OutboxMessage.status == status, OutboxMessage.kind.in_(kinds),
                       OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(1)
                .with_for_update(skip_locked=True)).first()
            if row is None:
                break
            token = secrets.token_hex(16)
            try:  # locked above, so this holds; the guards are the last line
                taken = OUTBOX.move(Row(row.id, status), "claim", guard=(OutboxMessage.next_attempt_at <= now,),
                                    claim_token=token, attempts=row.attempts + 1,
                                    next_attempt_at=now + lease).applied
            except InvalidTransition:
                taken = False
            if taken:
                if status == "sending":
                    log.warning("outbox %s: the previous claim's lease ran out; claimed again", row.id)
                return Claim(row.id, row.kind, row.payload, row.attempts + 1, token, row.created_at)
    return None


def send(claim: Claim, prepared) -> Result:
    try:
        value = DELIVERIES[claim.kind].send(prepared)
    except Exception as exc:
        result = classify(exc)
        log.warning("outbox %s (%s) try %s: %s (%s)", claim.id, claim.kind, claim.attempt,
                    result.status, result.reason)
        return result
    return Result("sent", value=value)


def record(claim: Claim, prepared, result: Result, now: datetime) -> Result:
    """Write the outcome, if the claim is still ours, with the delivery's bookkeeping (in
    the caller's transaction: the claim's own, or the one after the send)."""
    cfg = current_app.config
    if result.status == "retry" and claim.attempt >= cfg["OUTBOX_MAX_ATTEMPTS"]:
        result = Result("failed", f"gave up after {claim.attempt} tries: {result.reason}"[:255],
                        result.errcode, result.value, result.info)
    values: dict = {"claim_token": None, "last_error": result.reason}
    if result.status == "retry":
        delay = backoff_s(claim.attempt, cfg["OUTBOX_BACKOFF_BASE_S"], cfg["OUTBOX_BACKOFF_CAP_S"])
        values.update(next_attempt_at=now + timedelta(seconds=delay))
    else:
        values.update(next_attempt_at=now)  # finished: no lease, no next try
        if result.status == "sent":
            values.update(last_error=None)
    try:  # only the holder of the claim records: a lost claim changes nothing
        ours = OUTBOX.move(Row(claim.id, "sending"), RECORD[result.status], at=now,
                           guard=(OutboxMessage.claim_token == claim.token,), **values).applied
    except InvalidTransition:
        ours = False
    if not ours:  # the update matched nothing: there is nothing to undo
        log.warning("outbox %s: claim lost before recording %s (lease ran out)", claim.id, result.status)
        return result
    DELIVERIES[claim.kind].finish(claim, prepared, result)
    OUTBOX_DELIVERIES.labels(claim.kind, result.status).inc()
    return result
