"""WeChat Pay's own signing keys, as the sandbox plays them: the WeChat Pay public key
(public-key mode, named by `public_key_id`) and self-signed platform certificates
(certificate mode, named by their serial). Keys are RSA-2048, made on first use."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from Crypto.PublicKey import RSA

from wechat.sandbox.pay.crypto import (nonce_hex, random_serial, rsa_sign,
                                       self_signed_certificate)
from wechat.sandbox.pay.models import digits

SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"


@dataclass
class PlatformCertificate:
    key: RSA.RsaKey
    serial: str  # upper-case hex, 40 digits
    pem: str
    not_before: datetime
    not_after: datetime


def new_public_key_id() -> str:
    return "PUB_KEY_ID_" + "0" * 14 + digits(20)


class PlatformKeys:
    def __init__(self, private_key_pem: str | None = None, public_key_id: str | None = None):
        self._lock = threading.RLock()
        self._key_pem = private_key_pem
        self._key: RSA.RsaKey | None = None
        # Shaped like the documented PUB_KEY_ID_0000000000000024101100397200000006.
        self.public_key_id = public_key_id or new_public_key_id()
        self._certificates: list[PlatformCertificate] = []

    @property
    def key(self) -> RSA.RsaKey:
        with self._lock:
            if self._key is None:
                self._key = (RSA.import_key(self._key_pem) if self._key_pem
                             else RSA.generate(2048))
            return self._key

    @property
    def public_key_pem(self) -> str:
        return self.key.public_key().export_key().decode() + "\n"

    @property
    def certificates(self) -> list[PlatformCertificate]:
        """Oldest first; the first one is made when first asked for."""
        with self._lock:
            if not self._certificates:
                self._add_certificate()
            return list(self._certificates)

    def issued(self) -> list[PlatformCertificate]:
        with self._lock:
            return list(self._certificates)

    def rotate(self) -> PlatformCertificate:
        """A newer certificate with a new key; the older ones stay valid."""
        with self._lock:
            if not self._certificates:
                self._add_certificate()
            return self._add_certificate()

    def _add_certificate(self) -> PlatformCertificate:
        now = datetime.fromtimestamp(int(time.time()), timezone.utc)
        start = now - timedelta(days=1)
        if self._certificates:  # strictly newer, so "newest" is unambiguous
            start = max(now - timedelta(minutes=1),
                        self._certificates[-1].not_before + timedelta(seconds=1))
        end = start + timedelta(days=5 * 365)
        key, serial = RSA.generate(2048), random_serial()
        pem = self_signed_certificate(key, serial, start, end, "Tenpay.com sandbox sign")
        cert = PlatformCertificate(key, f"{serial:040X}", pem, start, end)
        self._certificates.append(cert)
        return cert

    def signature_headers(self, body: bytes, certificate_mode: bool,
                          timestamp: int | None = None) -> dict:
        """Wechatpay-* headers over `ts\\nnonce\\nbody\\n`: the public key's, or the
        newest certificate's in certificate mode. Timestamps follow the real clock."""
        if certificate_mode:
            cert = self.certificates[-1]
            key, serial = cert.key, cert.serial
        else:
            key, serial = self.key, self.public_key_id
        ts, nonce = str(int(time.time()) if timestamp is None else timestamp), nonce_hex()
        message = ts.encode() + b"\n" + nonce.encode() + b"\n" + body + b"\n"
        return {"Wechatpay-Nonce": nonce, "Wechatpay-Signature": rsa_sign(key, message),
                "Wechatpay-Timestamp": ts, "Wechatpay-Serial": serial,
                "Wechatpay-Signature-Type": SIGNATURE_TYPE}
