"""Verification of WeChat Pay's signed answers and notifications (protocol §4.3).

One routine for both: API responses and notifications carry the same five headers
and the same `ts\\nnonce\\nbody\\n` signature. Failures raise `SignatureInvalid(reason)`,
which the client turns into ResponseSignatureInvalid or NotificationRejected."""
from __future__ import annotations

from typing import Callable, Mapping

from Crypto.PublicKey import RSA

from wechat.pay.signing import AUTH_SCHEMA, lines, rsa_verify

MAX_SKEW_S = 300  # what the official Go SDK enforces; wechatpayv3 does not check at all
PROBE_PREFIX = "WECHATPAY/SIGNTEST/"

KeyLookup = Callable[[str], "RSA.RsaKey | None"]


class SignatureInvalid(Exception):
    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


def header(headers: Mapping[str, str], name: str) -> str:
    """Case-insensitive lookup that also works on a plain dict (Flask's and requests'
    header objects already are)."""
    value = headers.get(name)
    if value is None:
        lower = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lower), None)
    return (value or "").strip()


def verify_signed(headers: Mapping[str, str], body: bytes, *, now: float,
                  key_for: KeyLookup) -> str:
    """Checks the signature over the raw `body`; returns the serial that signed it.
    Cheap checks come first so probes and replays never cost a certificate download."""
    if header(headers, "Wechatpay-Signature-Type") != AUTH_SCHEMA:
        raise SignatureInvalid("missing or unsupported Wechatpay-Signature-Type")
    signature = header(headers, "Wechatpay-Signature")
    timestamp = header(headers, "Wechatpay-Timestamp")
    nonce_str = header(headers, "Wechatpay-Nonce")
    serial = header(headers, "Wechatpay-Serial")
    if not (signature and timestamp and nonce_str and serial):
        raise SignatureInvalid("missing Wechatpay-* signature headers")
    # WeChat's deliberate probes: they must be rejected, never special-cased as valid.
    if signature.startswith(PROBE_PREFIX):
        raise SignatureInvalid("probe signature (WECHATPAY/SIGNTEST)")
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise SignatureInvalid("malformed Wechatpay-Timestamp")
    if abs(now - int(timestamp)) >= MAX_SKEW_S:
        raise SignatureInvalid("Wechatpay-Timestamp outside the 5-minute window")
    key = key_for(serial)
    if key is None:
        raise SignatureInvalid("unknown Wechatpay-Serial")
    if not rsa_verify(key, lines(timestamp, nonce_str, body), signature):
        raise SignatureInvalid("signature does not verify")
    return serial
