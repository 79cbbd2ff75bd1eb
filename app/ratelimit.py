"""Fixed-window failure counters in Redis (shared by every worker)."""
from __future__ import annotations

from app.errors import RateLimited
from app.extensions import rds


class FailureLimit:
    """Refuse once `limit` failures were counted for a key within `window_s` (`check_all`)."""

    def __init__(self, name: str, limit: int, window_s: int):
        self.name, self.limit, self.window_s = name, limit, window_s

    def _key(self, subject: str) -> str:
        return f"ratelimit:{self.name}:{subject}"

    def fail(self, subject: str) -> None:
        pipe = rds().pipeline()
        key = self._key(subject)
        pipe.incr(key)
        pipe.expire(key, self.window_s, nx=True)
        pipe.execute()

    def clear(self, subject: str) -> None:
        rds().delete(self._key(subject))


def check_all(*checks: tuple[FailureLimit, str]) -> None:
    """429 rate_limited when any (limit, subject) is over its limit: one read for all
    (a request's counters are checked together on its way in)."""
    keys = [limit._key(subject) for limit, subject in checks]
    for (limit, _), key, count in zip(checks, keys, rds().mget(keys)):
        if count is not None and int(count) >= limit.limit:
            raise RateLimited(max(int(rds().ttl(key)), 1))
