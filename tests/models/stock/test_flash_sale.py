"""FlashGate (models.stock.flash_sale) on a real Redis and on fakeredis; no app needed."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import fakeredis
import pytest
import redis

from models.stock.flash_sale import FlashGate

REAL_URL = "redis://127.0.0.1:6379/12"
S = 7  # store id


@pytest.fixture(autouse=True)
def _clean_state():
    """Overrides conftest's autouse fixture: this module must not boot the app."""
    yield


@pytest.fixture(params=["real", "fake"])
def r(request):
    if request.param == "real":
        client = redis.Redis.from_url(REAL_URL, decode_responses=True)
    else:
        client = fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def gate(r):
    return FlashGate(r)


def test_enable_tokens_disable(gate, r):
    assert not gate.is_on(S, 1) and gate.tokens(S, 1) is None
    gate.enable(S, 1, 5)
    assert gate.is_on(S, 1) and gate.tokens(S, 1) == 5
    assert r.get("flash:{7}:1:tokens") == "5"  # the documented key layout
    assert gate.take(S, [(1, 2)], "t1") and r.hget("flash:{7}:1:pending", "t1").startswith("2:")
    gate.disable(S, 1)
    assert not gate.is_on(S, 1) and gate.tokens(S, 1) is None
    assert not r.exists("flash:{7}:1:pending")
    gate.enable(S, 2, -3)  # DB available can't make the gate negative
    assert gate.tokens(S, 2) == 0


def test_take_is_all_or_nothing_across_skus(gate):
    gate.enable(S, 1, 5)
    gate.enable(S, 2, 1)
    assert not gate.take(S, [(1, 3), (2, 2)], "a")  # SKU 2 short: SKU 1 untouched too
    assert (gate.tokens(S, 1), gate.tokens(S, 2)) == (5, 1)
    assert gate.take(S, [(1, 3), (2, 1), (99, 50)], "b")  # SKU 99 has no gate: ignored
    assert (gate.tokens(S, 1), gate.tokens(S, 2), gate.tokens(S, 99)) == (2, 0, None)
    # Two lines of one SKU count together: 2 + 1 > 2.
    assert not gate.take(S, [(1, 2), (1, 1)], "c") and gate.tokens(S, 1) == 2
    assert gate.take(S, [(1, 1), (1, 1)], "d") and gate.tokens(S, 1) == 0
    with pytest.raises(ValueError):
        gate.take(S, [(1, 0)], "e")


def test_exact_exhaustion(gate):
    gate.enable(S, 1, 100)
    results = [gate.take(S, [(1, 1)], f"t{i}") for i in range(150)]
    assert results == [True] * 100 + [False] * 50
    assert gate.tokens(S, 1) == 0


def test_take_and_give_back_are_idempotent(gate):
    gate.enable(S, 1, 10)
    assert gate.take(S, [(1, 4)], "t") and gate.take(S, [(1, 4)], "t")  # retried: once
    assert gate.tokens(S, 1) == 6
    gate.give_back(S, [(1, 4)], "t")
    gate.give_back(S, [(1, 4)], "t")
    assert gate.tokens(S, 1) == 10
    gate.give_back(S, [(1, 4)], "never-taken")  # nothing pending: nothing returned
    assert gate.tokens(S, 1) == 10


def test_settle_keeps_tokens_taken(gate, r):
    gate.enable(S, 1, 10)
    gate.take(S, [(1, 3)], "t")
    gate.settle(S, [(1, 3)], "t")
    assert gate.tokens(S, 1) == 7 and r.hlen("flash:{7}:1:pending") == 0
    gate.give_back(S, [(1, 3)], "t")  # too late: the order exists, its units stay out
    assert gate.tokens(S, 1) == 7


def test_release_only_when_on(gate):
    gate.enable(S, 1, 10)
    gate.take(S, [(1, 3)], "t")
    gate.settle(S, [(1, 3)], "t")
    gate.release(S, [(1, 3), (2, 5)])  # SKU 2 is off and must stay off
    assert gate.tokens(S, 1) == 10 and gate.tokens(S, 2) is None
    gate.disable(S, 1)
    gate.release(S, [(1, 3)])
    assert not gate.is_on(S, 1)


def test_resync_subtracts_fresh_and_drops_stale(gate, r):
    gate.enable(S, 1, 20)
    gate.take(S, [(1, 2)], "fresh")
    gate.take(S, [(1, 5)], "stale")
    now = int(r.time()[0])
    r.hset("flash:{7}:1:pending", "stale", f"5:{now - 60}")  # its process died a minute ago
    r.set("flash:{7}:1:tokens", 1)  # drifted, e.g. a lost give_back
    # The DB still counts both tickets' units as available (neither reserved yet): 20.
    # The fresh one may still commit, so its 2 stay out; the stale one's 5 come back.
    assert gate.resync(S, 1, 20, stale_after_s=30) == 18
    assert gate.tokens(S, 1) == 18
    assert r.hkeys("flash:{7}:1:pending") == ["fresh"]
    gate.give_back(S, [(1, 5)], "stale")  # the dead ticket can no longer return units
    assert gate.tokens(S, 1) == 18
    assert gate.resync(S, 1, 1) == 0  # in flight exceeds the DB: clamp, never negative
    assert gate.resync(S, 2, 50) is None and not gate.is_on(S, 2)  # off stays off


def test_concurrent_takes_never_oversell():
    client = redis.Redis.from_url(REAL_URL, decode_responses=True)  # thread-safe pool
    client.flushdb()
    try:
        gate = FlashGate(client)
        gate.enable(S, 1, 100)
        seen, stop = [], threading.Event()

        def watch():  # samples the count while the crowd runs (at least once)
            while True:
                seen.append(gate.tokens(S, 1))
                if stop.is_set():
                    return

        watcher = threading.Thread(target=watch)
        watcher.start()
        with ThreadPoolExecutor(max_workers=50) as pool:
            results = list(pool.map(lambda i: gate.take(S, [(1, 1)], f"t{i}"), range(1000)))
        stop.set()
        watcher.join()
        assert results.count(True) == 100
        assert gate.tokens(S, 1) == 0 and min(seen) >= 0
        assert client.hlen("flash:{7}:1:pending") == 100  # every pass is accounted for
        # After exhaustion nothing more gets through.
        assert not gate.take(S, [(1, 1)], "late")
    finally:
        client.flushdb()
        client.close()
