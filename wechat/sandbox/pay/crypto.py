"""WeChat Pay APIv3 cryptography, written for the sandbox alone (pycryptodome only):
SHA256withRSA (PKCS#1 v1.5) signatures, AEAD_AES_256_GCM resources, the Authorization
header, and a minimal self-signed X.509 platform certificate in hand-built DER."""
from __future__ import annotations

import base64
import re
import secrets
import string
from datetime import datetime, timezone

from Crypto.Cipher import AES
from Crypto.Hash import SHA256
from Crypto.PublicKey import RSA
from Crypto.Signature import pkcs1_15

AUTH_SCHEME = "WECHATPAY2-SHA256-RSA2048"
SIGNTEST_PREFIX = "WECHATPAY/SIGNTEST/"
_PAIR_RE = re.compile(r'\s*([A-Za-z_]+)\s*=\s*"([^"]*)"\s*')
_AUTH_KEYS = ("mchid", "nonce_str", "signature", "timestamp", "serial_no")
_ALNUM = string.ascii_letters + string.digits


def rsa_sign(key: RSA.RsaKey, message: bytes) -> str:
    return base64.b64encode(pkcs1_15.new(key).sign(SHA256.new(message))).decode()


def rsa_verify(key: RSA.RsaKey, message: bytes, signature: str) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        pkcs1_15.new(key).verify(SHA256.new(message), raw)
    except (ValueError, TypeError):
        return False
    return True


def load_public_key(pem: str | bytes) -> RSA.RsaKey:
    """A merchant's public key from a PUBLIC KEY PEM, an X.509 certificate PEM (the
    merchant certificate apiclient_cert.pem) or even the private key PEM."""
    key = RSA.import_key(pem)
    if key.size_in_bits() < 2048:
        raise ValueError("WeChat Pay keys are RSA-2048 or larger")
    return key.public_key()


def nonce_hex() -> str:
    """Wechatpay-Nonce as seen in captures: 32 lowercase hex characters."""
    return secrets.token_hex(16)


def nonce_alnum(length: int = 12) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def parse_authorization(header: str | None) -> dict | None:
    """The five key="value" pairs of the Authorization header, in any order; None when
    the scheme, a key or the syntax is wrong."""
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    if scheme != AUTH_SCHEME or not rest:
        return None
    pairs = {}
    for part in rest.split(","):
        m = _PAIR_RE.fullmatch(part)
        if not m or m.group(1) in pairs:
            return None
        pairs[m.group(1)] = m.group(2)
    if not all(pairs.get(k) for k in _AUTH_KEYS):
        return None
    return pairs


def aes_gcm_encrypt(apiv3_key: str, plaintext: str, associated_data: str,
                    nonce: str | None = None) -> dict:
    """The `resource` / `encrypt_certificate` object: base64(ciphertext || 16-byte tag)."""
    nonce = nonce or nonce_alnum(12)
    cipher = AES.new(apiv3_key.encode(), AES.MODE_GCM, nonce=nonce.encode())
    cipher.update(associated_data.encode())
    ct, tag = cipher.encrypt_and_digest(plaintext.encode())
    return {"algorithm": "AEAD_AES_256_GCM", "nonce": nonce,
            "associated_data": associated_data,
            "ciphertext": base64.b64encode(ct + tag).decode()}


def aes_gcm_decrypt(apiv3_key: str, resource: dict) -> str:
    raw = base64.b64decode(resource["ciphertext"])
    cipher = AES.new(apiv3_key.encode(), AES.MODE_GCM, nonce=resource["nonce"].encode())
    cipher.update((resource.get("associated_data") or "").encode())
    return cipher.decrypt_and_verify(raw[:-16], raw[-16:]).decode()


# -- a minimal DER encoder for one self-signed certificate ----------------------------

def _tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + content


def _seq(*parts: bytes) -> bytes:
    return _tlv(0x30, b"".join(parts))


def _int(value: int) -> bytes:
    # Minimal two's complement of a non-negative number: a leading 0 only for the sign bit.
    return _tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _oid(dotted: str) -> bytes:
    nums = [int(x) for x in dotted.split(".")]
    out = bytearray([40 * nums[0] + nums[1]])
    for n in nums[2:]:
        chunk = [n & 0x7F]
        n >>= 7
        while n:
            chunk.append(0x80 | (n & 0x7F))
            n >>= 7
        out.extend(reversed(chunk))
    return _tlv(0x06, bytes(out))


def _time(dt: datetime) -> bytes:
    dt = dt.astimezone(timezone.utc)
    if dt.year < 2050:
        return _tlv(0x17, dt.strftime("%y%m%d%H%M%SZ").encode())
    return _tlv(0x18, dt.strftime("%Y%m%d%H%M%SZ").encode())


def _name(country: str, org: str, common: str) -> bytes:
    def rdn(oid: str, value: bytes) -> bytes:
        return _tlv(0x31, _seq(_oid(oid), value))
    return _seq(rdn("2.5.4.6", _tlv(0x13, country.encode())),
                rdn("2.5.4.10", _tlv(0x0C, org.encode())),
                rdn("2.5.4.3", _tlv(0x0C, common.encode())))


_SHA256_RSA = _seq(_oid("1.2.840.113549.1.1.11"), b"\x05\x00")


def self_signed_certificate(key: RSA.RsaKey, serial: int, not_before: datetime,
                            not_after: datetime, common_name: str) -> str:
    """An X.509 v3 certificate PEM for `key`, signed by itself (sha256WithRSAEncryption)."""
    name = _name("CN", "Tihuo WeChat Pay sandbox", common_name)
    tbs = _seq(_tlv(0xA0, _int(2)), _int(serial), _SHA256_RSA, name,
               _seq(_time(not_before), _time(not_after)), name,
               key.public_key().export_key(format="DER"))
    signature = pkcs1_15.new(key).sign(SHA256.new(tbs))
    der = _seq(tbs, _SHA256_RSA, _tlv(0x03, b"\x00" + signature))
    b64 = base64.b64encode(der).decode()
    lines = "\n".join(b64[i:i + 64] for i in range(0, len(b64), 64))
    return f"-----BEGIN CERTIFICATE-----\n{lines}\n-----END CERTIFICATE-----\n"


def random_serial() -> int:
    """A positive 20-byte serial: 40 hex digits, no leading zero (5157F09EFDC096DE15...)."""
    first = 0x10 + secrets.randbelow(0x70)
    return int.from_bytes(bytes([first]) + secrets.token_bytes(19), "big")
