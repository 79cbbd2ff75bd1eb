"""A verification's `Idempotency-Key`: the same request again gets the first answer.

A clerk whose verify lost its response cannot know whether the goods were handed over;
sending it again must never hand them over twice (a partial pickup would simply go
through again). So a verify with a key first claims the key — an insert, which a
concurrent twin waits on (the unique index) until the first request ends — and stores
its answer in the same transaction as the hand-over:

- the key is new: this request does the work and writes the answer;
- the key was answered: the answer is given again, nothing is done;
- the key was claimed but not answered (that request was refused — a refusal still
  commits its audit row and this claim — or is running now): the row is taken FOR UPDATE,
  so this request waits for a running twin and then sees its answer, or does the work
  itself once the earlier one was refused;
- the same key with another body: 422 `idempotency_key_reused`.

Lock order: the claim row, then what verification takes (docs/architecture.md, "Lock
order"); nothing else takes a claim row.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.db import purge_before
from app.errors import AppError
from app.extensions import db
from models.base import utcnow
from models.pickup.tables import VerifyRequest


class VerifyKeyReused(AppError):
    status, code, message = (422, "idempotency_key_reused",
                             "This Idempotency-Key was used for another verification.")


def fingerprint(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def claim(staff_id: int, key: str, body: dict) -> tuple[VerifyRequest, dict | None]:
    """(the claim row, the earlier answer or None)."""
    digest = fingerprint(body)
    row = VerifyRequest(staff_id=staff_id, key=key, request_hash=digest)
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
        return row, None
    except IntegrityError:
        pass
    row = db.session.scalars(select(VerifyRequest).where(
        VerifyRequest.staff_id == staff_id, VerifyRequest.key == key)
        .with_for_update().execution_options(populate_existing=True)).one()
    if row.request_hash != digest:
        raise VerifyKeyReused(details={"header": "Idempotency-Key"})
    return row, _revived(row.answer) if row.answer is not None else None


def answer(row: VerifyRequest, result: dict) -> None:
    row.answer = json.loads(json.dumps(result, default=_plain))


def _plain(value):
    if isinstance(value, datetime):
        return {"__datetime__": value.isoformat()}
    raise TypeError(f"cannot keep {type(value).__name__} in a verify's answer")


def _revived(stored: dict) -> dict:
    def revive(value):
        if isinstance(value, dict):
            if set(value) == {"__datetime__"}:
                return datetime.fromisoformat(value["__datetime__"])
            return {k: revive(v) for k, v in value.items()}
        if isinstance(value, list):
            return [revive(v) for v in value]
        return value
    return revive(stored)


def purge(days: int) -> int:
    """Retention (the daily job): verify requests older than `days`, oldest first by id."""
    return purge_before(VerifyRequest, VerifyRequest.created_at, utcnow() - timedelta(days=days))
