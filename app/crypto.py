"""Personal data at rest: AES-256-GCM for values we must read back (session_key,
phone, addresses), a keyed hash (HMAC-SHA256) for values we only look up by.

Both keys are derived from FIELD_ENCRYPTION_KEY with HKDF, so one secret to keep, and a
database dump without it reveals neither the values nor (by brute force over the
small phone-number space) the hashes.

Rotation (docs/operations.md, "Key rotation"): FIELD_ENCRYPTION_KEY is the new key and
FIELD_ENCRYPTION_KEY_PREVIOUS the old one while `flask keys rotate-fields`
(models/keyrotation.py) redoes what the old one made. A value says which key made it:
`v2.<key id>.<nonce|ciphertext|tag>`, the key id a fingerprint derived from the key (it
reveals nothing of it). Values from before key ids, `v1.<...>`, were all made by the
first key; they are tried with each key (GCM's tag tells the right one). Lookups and
signatures accept what either key made (`lookup_hashes`, `subkeys`); everything new is
made with the current key only.
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

_LEGACY = "v1"  # no key id: made before rotation existed, by whichever key was first
_VERSION = "v2"


class _Key:
    """One master key and what is derived from it."""

    def __init__(self, master: bytes):
        self.master = master
        self.id = HKDF(master, 6, b"tihuo", SHA256, context=b"key-id-v1").hex()
        self.enc = HKDF(master, 32, b"tihuo", SHA256, context=b"field-encryption-v1")
        self.hash = HKDF(master, 32, b"tihuo", SHA256, context=b"lookup-hash-v1")
        self.subkeys: dict[str, bytes] = {}

    def subkey(self, purpose: str) -> bytes:
        key = self.subkeys.get(purpose)
        if key is None:
            key = self.subkeys[purpose] = HKDF(self.master, 32, b"tihuo", SHA256, context=purpose.encode())
        return key


class FieldCipher:
    def __init__(self, master_key: bytes, previous_key: bytes | None = None):
        self._current = _Key(master_key)
        self._ring = (self._current,) + ((_Key(previous_key),) if previous_key else ())
        self._by_id = {key.id: key for key in self._ring}

    @property
    def key_id(self) -> str:
        return self._current.id

    @property
    def rotating(self) -> bool:
        """A previous key is configured: values and hashes of either key are accepted."""
        return len(self._ring) > 1

    def encrypt(self, plaintext: str, *, aad: bytes = b"") -> str:
        nonce = get_random_bytes(12)
        cipher = AES.new(self._current.enc, AES.MODE_GCM, nonce=nonce)
        cipher.update(aad)
        ct, tag = cipher.encrypt_and_digest(plaintext.encode())
        return f"{_VERSION}.{self._current.id}.{base64.urlsafe_b64encode(nonce + ct + tag).decode()}"

    def decrypt(self, token: str, *, aad: bytes = b"") -> str:
        version, _, rest = token.partition(".")
        if version == _VERSION:
            key_id, _, payload = rest.partition(".")
            key = self._by_id.get(key_id)
            if key is None:
                raise ValueError(f"encrypted with key {key_id}, which is not configured")
            return _open(key.enc, payload, aad)
        if version != _LEGACY:
            raise ValueError("unknown ciphertext version")
        for key in self._ring:
            try:
                return _open(key.enc, rest, aad)
            except ValueError:
                continue
        raise ValueError("MAC check failed")

    def is_current(self, token: str) -> bool:
        """Made by the current key (nothing for a rotation to redo)."""
        return token.startswith(f"{_VERSION}.{self._current.id}.")

    def seal(self, data: bytes, *, aad: bytes) -> bytes:
        """`encrypt` for bytes, without the text wrapping (nonce | ciphertext | tag): an
        export's file, a chunk at a time (models/exports), where base64 would cost a third
        more storage for nothing. A key of its own (`subkey`), so the two never share nonces.
        No key id: sealed files live a day (EXPORT_TTL_S); during a rotation either key opens one."""
        cipher = AES.new(self.subkey("sealed-bytes-v1"), AES.MODE_GCM, nonce=get_random_bytes(12))
        cipher.update(aad)
        ct, tag = cipher.encrypt_and_digest(data)
        return cipher.nonce + ct + tag

    def unseal(self, blob: bytes, *, aad: bytes) -> bytes:
        for n, key in enumerate(self.subkeys("sealed-bytes-v1")):
            cipher = AES.new(key, AES.MODE_GCM, nonce=blob[:12])
            cipher.update(aad)
            try:
                return cipher.decrypt_and_verify(blob[12:-16], blob[-16:])
            except ValueError:
                if n == len(self._ring) - 1:
                    raise
        raise AssertionError("unreachable")

    def lookup_hash(self, value: str) -> str:
        """The hash to store (current key)."""
        return _hmac(self._current.hash, value)

    def lookup_hashes(self, value: str) -> list[str]:
        """The hashes to look a value up by: the current key's, and during a rotation the
        previous key's too (rows not yet redone)."""
        return [_hmac(key.hash, value) for key in self._ring]

    def subkey(self, purpose: str) -> bytes:
        """A 32-byte key of its own for one purpose (pickup codes, QR signatures, the
        verification ledger), derived like the two above: one secret to keep."""
        return self._current.subkey(purpose)

    def subkeys(self, purpose: str) -> list[bytes]:
        """`subkey` of every configured key, the current one first: what a check accepts
        during a rotation."""
        return [key.subkey(purpose) for key in self._ring]


def _open(key: bytes, payload: str, aad: bytes) -> str:
    raw = base64.urlsafe_b64decode(payload)
    nonce, ct, tag = raw[:12], raw[12:-16], raw[-16:]
    cipher = AES.new(key, AES.MODE_GCM, nonce=nonce)
    cipher.update(aad)
    return cipher.decrypt_and_verify(ct, tag).decode()


def _hmac(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def init_app(app: Flask, master_key: bytes, previous_key: bytes | None = None) -> None:
    app.extensions["field_cipher"] = FieldCipher(master_key, previous_key)


def cipher() -> FieldCipher:
    return current_app.extensions["field_cipher"]
