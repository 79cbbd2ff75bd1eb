"""Pickup (核销): codes and their security levels, verification by the order's store,
the hash-chained verification ledger, lockout after wrong codes, the pickup deadline.

  tables.py        pickup codes, the verification ledger and its per-store heads
  codes.py         issue / reissue a code, the level an order needs, what the owner is shown
  payloads.py      the code's forms: 12 digits, signed (V2) and dynamic (V3) QR payloads,
                   the mini-program code's scene; parsing what a clerk presents
  verification.py  preview and verify (partial pickups, already picked up, races)
  ledger.py        appending to and checking the hash chain
  lockout.py       wrong-code counting, rate limits, reviews, unlock
  expiry.py        the pickup deadline: expire + refund, reminders, extension, the sweep
  wxacode.py       a mini-program code for an order (opens the clerk's verify page)
  errors.py        the refusals, by stable code
"""
