"""Stock errors, by stable code."""
from __future__ import annotations

from app.errors import AppError


class OutOfStock(AppError):
    status, code, message = 409, "out_of_stock", "Not enough stock for this order."


class BundleHasNoStock(AppError):
    status, code, message = 400, "bundle_has_no_stock", "A bundle has no stock of its own; stock its components."


class StockBelowReserved(AppError):
    status, code, message = 409, "stock_below_reserved", "On-hand stock cannot go below what open orders have reserved."
