"""RSA keys as PEM: the merchant API key, WeChat Pay's public key, key-pair generation."""
from __future__ import annotations

from Crypto.PublicKey import RSA


def generate_rsa_keypair(bits: int = 2048) -> tuple[str, str]:
    """A fresh key pair as PEM: (private PKCS#8, public SubjectPublicKeyInfo). For tests
    and the dev sandbox; real keys come from the merchant console and are never committed."""
    key = RSA.generate(bits)
    return (key.export_key(pkcs=8).decode("ascii"),
            key.public_key().export_key().decode("ascii"))


def load_private_key(pem: str) -> RSA.RsaKey:
    """PKCS#8 or PKCS#1 PEM. The error never quotes the key."""
    try:
        key = RSA.import_key(pem)
    except (ValueError, IndexError, TypeError):
        raise ValueError("merchant_private_key is not an RSA private key PEM") from None
    if not key.has_private():
        raise ValueError("merchant_private_key is a public key")
    return key


def load_public_key(pem: str) -> RSA.RsaKey:
    """SubjectPublicKeyInfo/PKCS#1 PEM, or an X.509 certificate PEM (its key)."""
    try:
        key = RSA.import_key(pem)
    except (ValueError, IndexError, TypeError):
        raise ValueError("not an RSA public key / certificate PEM") from None
    return key.public_key()
