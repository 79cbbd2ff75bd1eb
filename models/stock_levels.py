"""Stock alert levels per (store, SKU). Placeholder: filled in by the inventory work."""
from __future__ import annotations


def after_change(store_id: int, sku_ids: list[int]) -> None:
    """Re-evaluate the alert level of these (store, SKU) rows after their stock changed."""
