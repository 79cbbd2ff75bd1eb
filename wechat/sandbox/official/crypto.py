"""The official account's message crypto as WeChat's servers do it, written apart from
wechatpy (pycryptodome only) so that our server, which uses wechatpy, is checked
against a second implementation.

- signature = sha1 of the sorted concatenation of token, timestamp, nonce (and, in
  safe mode, the Encrypt text for msg_signature);
- Encrypt = base64(AES-256-CBC(key, iv=key[:16], PKCS#7 to 32-byte blocks of
  random(16) + len(msg) as 4 bytes big-endian + msg + appid)), key = base64 of the
  43-character EncodingAESKey plus "=".
"""
from __future__ import annotations

import base64
import hashlib
import secrets
import struct

from Crypto.Cipher import AES

BLOCK = 32  # WeChat pads to 32 bytes, not AES's 16


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def _key(encoding_aes_key: str) -> bytes:
    key = base64.b64decode(encoding_aes_key + "=")
    if len(key) != 32:
        raise ValueError("EncodingAESKey must decode to 32 bytes")
    return key


def encrypt(encoding_aes_key: str, appid: str, plaintext: str) -> str:
    key = _key(encoding_aes_key)
    msg = plaintext.encode()
    data = secrets.token_bytes(16) + struct.pack(">I", len(msg)) + msg + appid.encode()
    pad = BLOCK - len(data) % BLOCK
    data += bytes([pad]) * pad
    return base64.b64encode(AES.new(key, AES.MODE_CBC, key[:16]).encrypt(data)).decode()


def decrypt(encoding_aes_key: str, ciphertext: str) -> tuple[str, str]:
    """(plaintext, appid found inside). Raises ValueError when it does not decrypt."""
    key = _key(encoding_aes_key)
    data = AES.new(key, AES.MODE_CBC, key[:16]).decrypt(base64.b64decode(ciphertext))
    pad = data[-1] if data else 0
    if not 1 <= pad <= BLOCK or data[-pad:] != bytes([pad]) * pad:
        raise ValueError("bad padding")
    data = data[16:-pad]
    (length,) = struct.unpack(">I", data[:4])
    if length > len(data) - 4:
        raise ValueError("bad length")
    return data[4:4 + length].decode(), data[4 + length:].decode()
