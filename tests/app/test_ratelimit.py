"""Failure limits: a place is taken before the check, atomically, in every limit at once;
a failure keeps it, anything else gives it back. On Redis (the MariaDB run) and on
fakeredis (the embedded run), with real threads."""
from __future__ import annotations

from collections import Counter

import pytest

from app import ratelimit
from app.errors import RateLimited
from app.extensions import rds
from app.ratelimit import FailureLimit
from tests.models.orders.test_concurrency import run_threads


def test_a_full_limit_refuses_with_the_time_left(ctx):
    limit = FailureLimit("t", 2, 60)
    for _ in range(2):
        ratelimit.take((limit, "x")).failed()
    with pytest.raises(RateLimited) as refused:
        ratelimit.take((limit, "x"))
    assert 0 < refused.value.details["retry_after_s"] <= 60
    assert refused.value.headers == {"Retry-After": str(refused.value.details["retry_after_s"])}
    ratelimit.take((limit, "y")).failed()  # another subject has its own count


def test_a_place_not_failed_is_given_back(ctx):
    limit = FailureLimit("t", 1, 60)
    with ratelimit.take((limit, "x")):
        pass  # the check passed
    with pytest.raises(ZeroDivisionError):
        with ratelimit.take((limit, "x")):
            1 / 0  # an error of ours is not a failure either
    attempt = ratelimit.take((limit, "x"))
    attempt.give_back()
    attempt.give_back()  # once only
    assert rds().get(limit._key("x")) == "0"
    with ratelimit.take((limit, "x")) as attempt:
        attempt.failed()
    with pytest.raises(RateLimited):
        ratelimit.take((limit, "x"))


def test_all_limits_or_none(ctx):
    narrow, wide = FailureLimit("narrow", 1, 60), FailureLimit("wide", 5, 60)
    ratelimit.take((narrow, "a"), (wide, "ip")).failed()
    with pytest.raises(RateLimited):
        ratelimit.take((narrow, "a"), (wide, "ip"))
    assert rds().get(wide._key("ip")) == "1"  # the refused attempt counted nowhere
    assert 0 < rds().ttl(wide._key("ip")) <= 60


def test_giving_back_after_the_window_ended_starts_nothing(ctx):
    limit = FailureLimit("t", 3, 60)
    attempt = ratelimit.take((limit, "x"))
    rds().delete(limit._key("x"))  # the window ended meanwhile
    attempt.give_back()
    assert rds().exists(limit._key("x")) == 0


def test_concurrent_takes_never_pass_the_limit(app):
    # Forty at once against a limit of 7 on two counters: exactly 7 get a place, and both
    # counters say 7 — the read and the count are one step.
    per_user, per_ip = FailureLimit("u", 7, 60), FailureLimit("ip", 100, 60)

    def attempt(_):
        with app.app_context():
            try:
                ratelimit.take((per_user, "target"), (per_ip, "10.0.0.1")).failed()
                return "taken"
            except RateLimited:
                return "refused"

    assert Counter(run_threads(40, attempt)) == {"taken": 7, "refused": 33}
    with app.app_context():
        assert rds().mget([per_user._key("target"), per_ip._key("10.0.0.1")]) == ["7", "7"]
