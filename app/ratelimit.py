"""Failure limits in Redis (shared by every worker): at most `limit` failures per subject
(an account, an address, a device) within a fixed window that starts at the first one.

An attempt takes a place (a `Slot`) in every limit it is subject to *before* the slow check (a
password hash, a code lookup), in one Redis script: the counters are compared and
incremented together, atomically, so thirty guesses sent at once find the same counter
and at most `limit` of them get to the check. An attempt that turns out not to be a
failure gives its place back. Reading the counter first and counting after the check
(what this did before) let every request that arrived while the first few were being
checked through: 11–12 of 30 wrong staff passwords against a limit of 5.

Why not Flask-Limiter / `limits`: they limit requests by a route's key and count every
hit; these limits count only failures, several per attempt (account and address, staff
member and device), refuse all of them or take all of them, and hand a place back when
the attempt succeeds — a dozen lines of Lua on the app's own Redis client (fakeredis runs
them too), where the library would need its own storage connection and still lack the
give-back.
"""
from __future__ import annotations

from app.errors import RateLimited
from app.extensions import rds

# KEYS: the counters; ARGV: their limits, then their windows (seconds). Refuses (returns
# the seconds until the first full counter's window ends) without counting anything when
# any counter is at its limit; otherwise counts one in every counter, starting the
# window of any that is new, and returns 0.
_TAKE = """
local n = #KEYS
for i = 1, n do
  local count = tonumber(redis.call('GET', KEYS[i]) or '0')
  if count >= tonumber(ARGV[i]) then
    local ttl = redis.call('TTL', KEYS[i])
    if ttl < 1 then ttl = 1 end
    return ttl
  end
end
for i = 1, n do
  redis.call('INCR', KEYS[i])
  if redis.call('TTL', KEYS[i]) < 0 then
    redis.call('EXPIRE', KEYS[i], ARGV[n + i])
  end
end
return 0
"""

# Gives one back in every counter that still exists (one whose window ended meanwhile
# is gone: nothing to give back, and nothing may start a counter without a window).
_GIVE_BACK = """
for i = 1, #KEYS do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then
    redis.call('DECR', KEYS[i])
  end
end
return 0
"""


class FailureLimit:
    """At most `limit` failures per subject within `window_s` (see `take`)."""

    def __init__(self, name: str, limit: int, window_s: int):
        self.name, self.limit, self.window_s = name, limit, window_s

    def _key(self, subject: str) -> str:
        # One hash tag for every failure counter: `take` checks an attempt's counters (the
        # account's and the address's) in one script, and on a Redis Cluster a script's
        # keys must share a slot. Failures are few (logins, pickup codes, card passwords),
        # so one slot carries them all (docs/architecture.md, "Redis keys and slots").
        return f"ratelimit:{{failures}}:{self.name}:{subject}"

    def clear(self, subject: str) -> None:
        """Forget this subject's failures (the account's owner just got it right)."""
        rds().delete(self._key(subject))


class Slot:
    """An attempt's place in its limits, counted as a failure from the moment it was taken.

    `give_back()` when the attempt turned out not to be one. Used as a context manager,
    the place is given back when the block ends unless `failed()` was called: the block is
    the slow check, and anything that leaves it without calling `failed()` — success, a
    refusal for another reason, an error of ours — is not a guess that got an answer."""

    def __init__(self, keys: list[str]):
        self._keys, self._open, self._failed = keys, True, False

    def failed(self) -> None:
        """This attempt was a failure: its place stays counted."""
        self._failed = True

    def give_back(self) -> None:
        if self._open and not self._failed:
            rds().eval(_GIVE_BACK, len(self._keys), *self._keys)
        self._open = False

    def __enter__(self) -> "Slot":
        return self

    def __exit__(self, *_exc) -> None:
        self.give_back()


def take(*checks: tuple[FailureLimit, str]) -> Slot:
    """Take a place in each (limit, subject) at once, or none: 429 rate_limited (with
    Retry-After) when any of them is at its limit. Checked before the work, so even the
    right password waits out a full window."""
    keys = [limit._key(subject) for limit, subject in checks]
    args = [limit.limit for limit, _ in checks] + [limit.window_s for limit, _ in checks]
    # EVAL with the text each time (a few hundred bytes; the server caches the compiled
    # script): no NOSCRIPT round trip after a restart, nothing to register per client.
    retry_after_s = int(rds().eval(_TAKE, len(keys), *keys, *args))
    if retry_after_s:
        raise RateLimited(retry_after_s)
    return Slot(keys)


# --- request budgets (the partner API) -------------------------------------------------------
# Unlike the failure limits above, these count every call: a token bucket per subject that
# holds `burst` tokens and refills `rate` a second; a call costs `cost` tokens (a bulk call
# more). One script reads and refills the bucket by the server's clock (TIME: every web
# process agrees) and takes the cost or refuses — atomically, so concurrent calls cannot
# overdraw it. Returns {allowed, tokens left, seconds until full, seconds until `cost` fits}.
_BUCKET = """
local rate, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(b[1]), tonumber(b[2])
if tokens == nil then tokens, at = burst, now end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local allowed = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
local wait = 0
if allowed == 0 then wait = math.ceil((cost - tokens) / rate) end
return {allowed, math.floor(tokens), math.ceil((burst - tokens) / rate), wait}
"""


class Budget:
    """What a call left in its bucket: for the RateLimit-* headers."""

    def __init__(self, limit: int, remaining: int, reset_s: int):
        self.limit, self.remaining, self.reset_s = limit, remaining, reset_s

    def headers(self) -> dict:
        # draft-ietf-httpapi-ratelimit-headers: the bucket's size, what is left, and the
        # seconds until it is full again.
        return {"RateLimit-Limit": str(self.limit), "RateLimit-Remaining": str(self.remaining),
                "RateLimit-Reset": str(self.reset_s)}


def spend(subject: str, cost: int, *, rate: float, burst: int) -> Budget:
    """Take `cost` tokens from `subject`'s bucket, or 429 rate_limited with Retry-After
    (and the RateLimit-* headers). A cost above the bucket's size is refused for good."""
    cost = min(cost, burst)
    allowed, left, reset_s, wait = rds().eval(_BUCKET, 1, f"bucket:{subject}", rate, burst, cost)
    budget = Budget(burst, int(left), int(reset_s))
    if not int(allowed):
        error = RateLimited(max(int(wait), 1), "Too many requests; slow down.")
        error.headers.update(budget.headers())
        raise error
    return budget
