"""What each line of an order paid: the order's payable split over its lines in
proportion to their totals, exact to the fen (largest remainder: Σ shares = payable).

Fixed at placement (`order_items.paid_share_fen`); orders placed before the column
existed have NULL there and get the same split computed on the fly — the split depends
only on the order's own figures, so it is the same every time it is made."""
from __future__ import annotations

from models.money import largest_remainder


def split_fen(total_fen: int, weights: list[int]) -> list[int]:
    """`total_fen` over `weights` proportionally, exact to the fen: the project's one
    largest-remainder split (ties: the earlier part)."""
    return largest_remainder(total_fen, weights)


def line_shares(payable_fen: int, items) -> dict[int, int]:
    """{item id: paid share} for an order's items: the stored share, or — for a row placed
    before shares were stored — the split made now (all of the order's items, so it is
    the split placement would have stored)."""
    items = sorted(items, key=lambda i: i.id)
    if all(i.paid_share_fen is not None for i in items):
        return {i.id: i.paid_share_fen for i in items}
    split = split_fen(payable_fen, [i.price_fen * i.qty - (i.discount_fen or 0) for i in items])
    return {i.id: share for i, share in zip(items, split)}
