"""The cryptography of APIv3, on pycryptodome: SHA256withRSA (PKCS#1 v1.5) signatures,
AEAD_AES_256_GCM decryption, and the request `Authorization` header (protocol §4.2)."""
from __future__ import annotations

import base64
import binascii
import secrets

from Crypto.Cipher import AES
from Crypto.Hash import SHA256
from Crypto.PublicKey import RSA
from Crypto.Signature import pkcs1_15

AUTH_SCHEMA = "WECHATPAY2-SHA256-RSA2048"
_GCM_TAG_LEN = 16


def nonce() -> str:
    return secrets.token_hex(16)  # 32 chars: the limit for nonce_str and nonceStr


def rsa_sign(key: RSA.RsaKey, message: bytes) -> str:
    return base64.b64encode(pkcs1_15.new(key).sign(SHA256.new(message))).decode("ascii")


def rsa_verify(key: RSA.RsaKey, message: bytes, signature_b64: str) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        pkcs1_15.new(key).verify(SHA256.new(message), signature)
    except (ValueError, TypeError, binascii.Error):
        return False
    return True


def lines(*parts: str | bytes) -> bytes:
    """The signed message: every part followed by `\\n`, the last one included. Bodies go
    in as the raw bytes sent/received, never re-serialized."""
    return b"".join((p.encode("utf-8") if isinstance(p, str) else p) + b"\n" for p in parts)


def authorization(*, key: RSA.RsaKey, mchid: str, serial_no: str, method: str,
                  url: str, timestamp: str, nonce_str: str, body: bytes) -> str:
    """`url` is the path plus `?query`, exactly as it goes on the request line."""
    signature = rsa_sign(key, lines(method.upper(), url, timestamp, nonce_str, body))
    return (f'{AUTH_SCHEMA} mchid="{mchid}",nonce_str="{nonce_str}",signature="{signature}",'
            f'timestamp="{timestamp}",serial_no="{serial_no}"')


def aes_gcm_decrypt(apiv3_key: bytes, nonce_str: str, associated_data: str,
                    ciphertext_b64: str) -> bytes:
    """AEAD_AES_256_GCM as WeChat uses it: nonce and associated data are the UTF-8 bytes
    of the strings given, the ciphertext is base64(ciphertext || 16-byte tag).
    Raises ValueError when the tag does not match (wrong APIv3 key or tampering)."""
    try:
        data = base64.b64decode(ciphertext_b64, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("ciphertext is not base64") from None
    if len(data) <= _GCM_TAG_LEN or not nonce_str:
        raise ValueError("ciphertext or nonce too short")
    cipher = AES.new(apiv3_key, AES.MODE_GCM, nonce=nonce_str.encode("utf-8"))
    cipher.update((associated_data or "").encode("utf-8"))
    return cipher.decrypt_and_verify(data[:-_GCM_TAG_LEN], data[-_GCM_TAG_LEN:])
