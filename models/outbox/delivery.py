"""What a delivery is to the dispatcher, and how an outcome is told.

A delivery has up to three steps; only `send` is required:
- `prepare(claim)` runs in the claiming transaction (read what to send, take a grant);
  it may raise a `Verdict` — `Skip` or `Permanent` — to finish the row without sending;
- `send(prepared)` talks to WeChat, holding no lock; it raises `wechat.errors` on failure
  (or `Skip` / `Permanent`), and may return a value (a msgid);
- `finish(claim, prepared, result)` runs in the recording transaction (bookkeeping such as
  the message log); `prepared` is None when prepare did not get that far.
A plain `fn(payload: dict) -> None` is a delivery: `Delivery(send=fn)`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable


@dataclass(frozen=True)
class Claim:
    """A row this worker holds: only the holder of `token` may record its outcome."""

    id: int
    kind: str
    payload: dict
    attempt: int  # 1 on the first try
    token: str
    created_at: datetime  # when the fact was recorded (the event's time, if it has no other)


@dataclass(frozen=True)
class Result:
    status: str                 # sent | skipped | failed | retry
    reason: str | None = None   # short and safe to store (no personal data)
    errcode: int | None = None  # WeChat's, when it answered one
    value: Any = None           # what send returned (e.g. the msgid)
    info: dict = field(default_factory=dict)  # from Skip/Permanent, for finish's records


class Verdict(Exception):
    """A delivery's own word on how the row ends (not WeChat's error, which dispatch
    classifies): raised by prepare or send."""

    status = "failed"

    def __init__(self, reason: str, **info):
        super().__init__(reason)
        self.reason, self.info = reason, info

    @property
    def result(self) -> Result:
        return Result(self.status, self.reason[:255], info=self.info)


class Skip(Verdict):
    """Nothing to send, by design (no grant, no template configured): recorded as skipped."""

    status = "skipped"


class Permanent(Verdict):
    """This can never be sent as it stands (the order is gone, a value cannot be made
    valid): failed at once, kept for staff."""


def _payload(claim: Claim) -> dict:
    return claim.payload


def _nothing(claim: Claim, prepared, result: Result) -> None:
    return None


@dataclass(frozen=True)
class Delivery:
    send: Callable[[Any], Any]
    prepare: Callable[[Claim], Any] = _payload
    finish: Callable[[Claim, Any, Result], None] = _nothing
