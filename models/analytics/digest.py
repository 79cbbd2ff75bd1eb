"""Durations kept as a log-bucketed histogram (a digest): one small map per store × day ×
transition, which adds up across days and stores, so p50 / p90 of any range and any set
of stores come from the digests alone — never from the orders behind them.

Bucket i holds durations in [RATIO**i, RATIO**(i+1)) seconds (anything under 1.1 s is
bucket 0, reported as 1 s). A percentile is the nearest-rank sample's bucket, reported as the bucket's geometric
middle: within ±4.9 % of the exact nearest-rank value (RATIO = 1.1), whatever the number of
samples. Tests compare with a brute-force computation to that bound.
"""
from __future__ import annotations

import math

RATIO = 1.1
_LOG = math.log(RATIO)


def bucket(seconds: float) -> int:
    if seconds < 1:
        return 0
    return int(math.log(seconds) / _LOG)


def add(into: dict[int, int], seconds: float) -> None:
    i = bucket(seconds)
    into[i] = into.get(i, 0) + 1


def merge(into: dict[int, int], more: dict) -> dict[int, int]:
    for i, n in more.items():
        into[int(i)] = into.get(int(i), 0) + int(n)
    return into


def percentile(digest: dict[int, int], q: float) -> int | None:
    """The q-quantile (0 < q ≤ 1) in whole seconds; None for an empty digest."""
    total = sum(digest.values())
    if not total:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for i in sorted(digest):
        seen += digest[i]
        if seen >= rank:
            return round(RATIO ** (i + 0.5))
    return None  # unreachable: seen reaches total


def to_json(digest: dict[int, int]) -> dict[str, int]:
    return {str(i): n for i, n in sorted(digest.items())}
