"""What units of a line refund: their part of the line's paid share, so that all the
after-sales of a line add up to exactly its share, never more.

A claim of `qty` of a line's `line_qty` units refunds floor(share × qty / line_qty) —
unless it takes the line's last unclaimed units, which refund whatever of the share the
other live claims left (the last unit takes the remainder). Floors never add up past the
share, and the last claim closes the sum exactly."""
from __future__ import annotations


def claim_fen(share_fen: int, line_qty: int, *, claimed_qty: int, allocated_fen: int, qty: int) -> int:
    """The refund of `qty` more units of a line whose live claims already hold
    `claimed_qty` units worth `allocated_fen`."""
    if qty <= 0 or claimed_qty + qty > line_qty:
        raise ValueError("a claim takes 1 .. the units left")
    if claimed_qty + qty == line_qty:
        return share_fen - allocated_fen
    return share_fen * qty // line_qty


def received_fen(refund_fen: int, qty: int, received_qty: int) -> int:
    """What a claim refunds when only `received_qty` of its `qty` units came back."""
    return refund_fen if received_qty >= qty else refund_fen * received_qty // qty
