"""After-sales (售后): a shopper's request about some units of some lines of a paid order —
refund only, return and refund, exchange, or return at the store — decided by staff or by
the deadline sweep, moved only through its transition table (status.py)."""
