"""Splitting money exactly, in whole fen."""
from __future__ import annotations


def largest_remainder(amount: int, weights: list[int]) -> list[int]:
    """`amount` in proportion to `weights`, in whole fen, adding up exactly: each share is
    its exact quota rounded down, and the fen left over go one each to the largest
    remainders (ties: the earlier line). No share exceeds its weight while `amount` ≤
    Σ weights, so a discount split this way never takes more from a line than the line
    costs. With nothing to weigh by, the last part takes it all. Used for coupon and points
    discounts and for each line's paid share (models/orders/shares.py)."""
    if not weights:
        return []
    total = sum(weights)
    if amount < 0 or any(w < 0 for w in weights):
        raise ValueError("amounts and weights are never negative")
    if total == 0:
        return [0] * (len(weights) - 1) + [amount]
    shares = [amount * w // total for w in weights]
    left = amount - sum(shares)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-((amount * weights[i]) % total), i))
    for i in by_remainder[:left]:
        shares[i] += 1
    return shares
