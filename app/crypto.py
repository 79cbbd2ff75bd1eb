"""Personal data at rest: AES-256-GCM for values we must read back (session_key,
phone), a keyed hash (HMAC-SHA256) for values we only look up by.

Both keys are derived from FIELD_ENCRYPTION_KEY with HKDF, so one secret to keep, and a
database dump without it reveals neither the values nor (by brute force over the
small phone-number space) the hashes.
"""
from __future__ import annotations

import base64
import hashlib
import hmac

from Crypto.Cipher import AES
from Crypto.Hash import SHA256
from Crypto.Protocol.KDF import HKDF
from Crypto.Random import get_random_bytes
from flask import Flask, current_app

_VERSION = "v1"


class FieldCipher:
    def __init__(self, master_key: bytes):
        self._master = master_key
        self._subkeys: dict[str, bytes] = {}
        self._enc_key = HKDF(master_key, 32, b"tihuo", SHA256, context=b"field-encryption-v1")
        self._hash_key = HKDF(master_key, 32, b"tihuo", SHA256, context=b"lookup-hash-v1")

    def encrypt(self, plaintext: str, *, aad: bytes = b"") -> str:
        nonce = get_random_bytes(12)
        cipher = AES.new(self._enc_key, AES.MODE_GCM, nonce=nonce)
        cipher.update(aad)
        ct, tag = cipher.encrypt_and_digest(plaintext.encode())
        return f"{_VERSION}.{base64.urlsafe_b64encode(nonce + ct + tag).decode()}"

    def decrypt(self, token: str, *, aad: bytes = b"") -> str:
        version, _, payload = token.partition(".")
        if version != _VERSION:
            raise ValueError("unknown ciphertext version")
        raw = base64.urlsafe_b64decode(payload)
        nonce, ct, tag = raw[:12], raw[12:-16], raw[-16:]
        cipher = AES.new(self._enc_key, AES.MODE_GCM, nonce=nonce)
        cipher.update(aad)
        return cipher.decrypt_and_verify(ct, tag).decode()

    def seal(self, data: bytes, *, aad: bytes) -> bytes:
        """`encrypt` for bytes, without the text wrapping (nonce | ciphertext | tag): an
        export's file, a chunk at a time (models/exports), where base64 would cost a third
        more storage for nothing. A key of its own (`subkey`), so the two never share nonces."""
        cipher = AES.new(self.subkey("sealed-bytes-v1"), AES.MODE_GCM, nonce=get_random_bytes(12))
        cipher.update(aad)
        ct, tag = cipher.encrypt_and_digest(data)
        return cipher.nonce + ct + tag

    def unseal(self, blob: bytes, *, aad: bytes) -> bytes:
        cipher = AES.new(self.subkey("sealed-bytes-v1"), AES.MODE_GCM, nonce=blob[:12])
        cipher.update(aad)
        return cipher.decrypt_and_verify(blob[12:-16], blob[-16:])

    def lookup_hash(self, value: str) -> str:
        return hmac.new(self._hash_key, value.encode(), hashlib.sha256).hexdigest()

    def subkey(self, purpose: str) -> bytes:
        """A 32-byte key of its own for one purpose (pickup codes, QR signatures, the
        verification ledger), derived like the two above: one secret to keep."""
        key = self._subkeys.get(purpose)
        if key is None:
            key = self._subkeys[purpose] = HKDF(self._master, 32, b"tihuo", SHA256, context=purpose.encode())
        return key


def init_app(app: Flask, master_key: bytes) -> None:
    app.extensions["field_cipher"] = FieldCipher(master_key)


def cipher() -> FieldCipher:
    return current_app.extensions["field_cipher"]
