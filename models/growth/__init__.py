"""Growth: coupons and points (积分) — what brings shoppers back to the store.

tables     coupon templates, coupons, point accounts, lots and entries
status     the coupon transition table
coupons    templates, claiming under both limits, what a coupon takes off an order (split
           over its lines exactly), locking it to an order, using, releasing, giving back
points     the lot ledger: earning, spending oldest-expiring first, returning a spend,
           clawing back a refunded order's points (with a debt), expiry
"""
