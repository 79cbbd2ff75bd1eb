"""Pickup cards (提货卡 / 提货券): prepaid cards the holder redeems for goods.

tables      batches, cards, redemptions, exports
passwords   made by `secrets`, stored as PBKDF2-HMAC-SHA256 with a per-card salt
batches     the merchant: create, activate, void, read
exports     the export (once per batch): a background job makes and hashes the passwords;
            its result, encrypted, waits for the admin who started it
redemption  the holder: look up, redeem (an order with nothing to pay); return_units
lockout     wrong passwords lock a card; the review queue; a manager's unlock
"""
