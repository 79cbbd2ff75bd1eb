"""Queueing a side effect: a row written in the business transaction, and after the commit
a kick that starts a dispatch (`tihuo.outbox.dispatch`, the same task the beat runs).

A row exists only if the change that caused it committed; the kick is a hint, never
needed for correctness: the periodic dispatch finds whatever a lost kick leaves due."""
from __future__ import annotations

from app.extensions import rds
from app.sqlbatch import Batch, joining
from app.tasks import after_commit, start
from models.outbox.tables import OutboxMessage

DISPATCH_TASK = "tihuo.outbox.dispatch"


def enqueue(kind: str, payload: dict, *, dedupe_key: str | None = None) -> None:
    """Queue a side effect in the current transaction (dispatched after commit).

    Callers enqueue from inside a transition that applies once, so a fact is queued once;
    the unique `dedupe_key` is the last line behind that, not a lookup on every call."""
    enqueue_many([(kind, payload, dedupe_key)])


def enqueue_many(messages: list[tuple[str, dict, str | None]], *, writes: Batch | None = None) -> None:
    """Several side effects of one fact in one round trip: (kind, payload, dedupe_key) each.
    With `writes`, the rows are added to that batch for the caller to run."""
    with joining(writes) as batch:
        batch.add_all(_INSERT, [{"kind": kind, "payload": payload, "dedupe_key": dedupe_key}
                                for kind, payload, dedupe_key in messages])
    kick_after_commit()


# Up while a dispatch is queued but not started; the dispatch takes it down first thing.
KICK_FLAG, KICK_FLAG_TTL_S = "outbox:kick", 10


def kick_after_commit() -> None:
    """Start a dispatch once this transaction has committed (once however many rows)."""
    after_commit(_kick, key=KICK_FLAG)


def _kick() -> None:
    # One queued dispatch serves every commit until it starts: it will see their rows, which
    # committed before they looked at the flag. Under load that is one task per dispatch
    # pass instead of a broker publish per request. The TTL covers a dispatch lost on the way.
    if rds().set(KICK_FLAG, 1, nx=True, ex=KICK_FLAG_TTL_S):
        start(DISPATCH_TASK)


_INSERT = OutboxMessage.__table__.insert()
