"""Fixed-window failure counters in Redis (shared by every worker)."""
from __future__ import annotations

from app.errors import RateLimited
from app.extensions import rds


class FailureLimit:
    """Refuse once `limit` failures were counted for a key within `window_s`."""

    def __init__(self, name: str, limit: int, window_s: int):
        self.name, self.limit, self.window_s = name, limit, window_s

    def _key(self, subject: str) -> str:
        return f"ratelimit:{self.name}:{subject}"

    def check(self, subject: str) -> None:
        key = self._key(subject)
        count = rds().get(key)
        if count is not None and int(count) >= self.limit:
            ttl = rds().ttl(key)
            raise RateLimited(max(int(ttl), 1))

    def fail(self, subject: str) -> None:
        pipe = rds().pipeline()
        key = self._key(subject)
        pipe.incr(key)
        pipe.expire(key, self.window_s, nx=True)
        pipe.execute()

    def clear(self, subject: str) -> None:
        rds().delete(self._key(subject))
