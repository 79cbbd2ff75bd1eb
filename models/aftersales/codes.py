"""Return codes: what a shopper shows at the counter to hand a return_at_store back.

Made like pickup codes (models/pickup/payloads.py) with keys of their own: the row keeps a
128-bit seed from `secrets`, the 12 digits are HMAC(code key, seed) (recomputed only to
show the owner), and staff find the after-sale by HMAC(lookup key, digits), unique. A
code is looked up only among the after-sales of the stores the clerk acts for, and a code
of another store gets exactly the answer of an unknown one."""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from app.crypto import cipher

DIGITS = 12
_CODE = re.compile(r"^[0-9]{12}$")


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def _mac(purpose: str, message: str) -> bytes:
    return _hmac(cipher().subkey(purpose), message)


def new_seed() -> str:
    return secrets.token_hex(16)


def digits(seed: str) -> str:
    return str(int.from_bytes(_mac("aftersale-return-code-v1", seed), "big") % 10**DIGITS).zfill(DIGITS)


def lookup_hash(code: str) -> str | None:
    """The lookup hash of what the clerk typed or scanned; None for anything that is not a
    code (answered like an unknown one)."""
    code = (code or "").strip()
    return _mac("aftersale-return-lookup-v1", code).hex() if _CODE.match(code) else None


def lookup_hashes(code: str) -> list[str]:
    """What a typed code is looked up by: under each configured key during a key
    rotation (app/crypto.py); [] for anything that is not a code."""
    code = (code or "").strip()
    return ([_hmac(key, code).hex() for key in cipher().subkeys("aftersale-return-lookup-v1")]
            if _CODE.match(code) else [])


def shown_digits(seed: str, stored_hash: str | None) -> str:
    """The digits as issued: those of the key whose hash is stored (see
    models/pickup/payloads.shown_digits)."""
    for code_key, lookup_key in zip(cipher().subkeys("aftersale-return-code-v1"),
                                    cipher().subkeys("aftersale-return-lookup-v1")):
        found = str(int.from_bytes(_hmac(code_key, seed), "big") % 10**DIGITS).zfill(DIGITS)
        if hmac.compare_digest(_hmac(lookup_key, found).hex(), stored_hash or ""):
            return found
    return digits(seed)


def issue() -> tuple[str, str]:
    """(seed, lookup hash) of a fresh code."""
    seed = new_seed()
    return seed, lookup_hash(digits(seed))
