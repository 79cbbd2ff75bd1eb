"""WeChat Pay platform certificates (the legacy verification mode, protocol §4.3).

Certificates come from `GET /v3/certificates`, encrypted with the APIv3 key. They are
kept by serial (upper-case hex, no leading zeros) in memory and, when the app gives one,
in a shared `cert_store` (anything with `get(key) -> str | None` and
`set(key, value, ttl)`, e.g. a small Redis adapter) so that worker processes and
restarts do not each download them. Every currently valid certificate is kept, so both
work during a rotation; expired ones are never used. An unknown serial triggers at most
one download per REFETCH_INTERVAL_S per process.

`cryptography` is imported only here, and only when a certificate is parsed: merchants in
public-key mode never need it.
"""
from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from Crypto.PublicKey import RSA

from wechat.pay.errors import WeChatPayError
from wechat.pay.keys import load_public_key
from wechat.pay.signing import aes_gcm_decrypt

log = logging.getLogger(__name__)

REFETCH_INTERVAL_S = 60
_HEX = re.compile(r"[0-9A-Fa-f]{1,64}")


def normalize_serial(serial: str) -> str | None:
    """Certificate serial as WeChat writes it in `Wechatpay-Serial`; None if not hex."""
    if not isinstance(serial, str) or not _HEX.fullmatch(serial):
        return None
    return format(int(serial, 16), "X")


@dataclass(frozen=True)
class PlatformCert:
    serial: str
    pem: str
    key: RSA.RsaKey
    not_before: float  # unix seconds
    not_after: float

    def valid_at(self, now: float) -> bool:
        return self.not_before <= now <= self.not_after


def parse_certificate(pem: str) -> PlatformCert:
    """ValueError if `pem` is not an RSA X.509 certificate."""
    from cryptography import x509  # lazy: see the module docstring

    try:
        cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise ValueError("not an X.509 certificate PEM") from None
    return PlatformCert(serial=format(cert.serial_number, "X"), pem=pem,
                        key=load_public_key(pem),
                        not_before=cert.not_valid_before_utc.timestamp(),
                        not_after=cert.not_valid_after_utc.timestamp())


def decrypt_certificates(items: Any, apiv3_key: bytes, now: float) -> list[PlatformCert]:
    """The currently valid certificates of a `/v3/certificates` answer's `data`. Entries
    that do not decrypt (the GCM tag authenticates them) or parse are skipped."""
    certs = []
    for item in items if isinstance(items, list) else ():
        enc = item.get("encrypt_certificate") if isinstance(item, dict) else None
        if not isinstance(enc, dict) or enc.get("algorithm") != "AEAD_AES_256_GCM":
            continue
        try:
            pem = aes_gcm_decrypt(apiv3_key, str(enc.get("nonce") or ""),
                                  str(enc.get("associated_data") or ""),
                                  str(enc.get("ciphertext") or "")).decode("utf-8")
            cert = parse_certificate(pem)
        except ValueError:  # includes UnicodeDecodeError
            log.warning("wechat pay: skipped a platform certificate that does not decrypt/parse")
            continue
        if cert.valid_at(now):
            certs.append(cert)
    return certs


class CertificateCache:
    def __init__(self, *, mchid: str, fetch: Callable[[], Iterable[PlatformCert]],
                 clock: Callable[[], float], store=None):
        self._fetch = fetch
        self._clock = clock
        self._store = store
        self._prefix = f"wechatpay:{mchid}:platform-cert:"
        self._certs: dict[str, PlatformCert] = {}
        self._last_fetch: float | None = None
        self._lock = threading.Lock()

    def cached(self, serial: str) -> PlatformCert | None:
        """A valid certificate from memory or the store; never downloads."""
        key, now = normalize_serial(serial), self._clock()
        if key is None:
            return None
        cert = self._certs.get(key)
        if cert is not None and not cert.valid_at(now):
            self._certs.pop(key, None)  # expired (or not yet valid): never used
            cert = None
        if cert is None and self._store is not None:
            cert = self._from_store(key, now)
        return cert

    def key_for(self, serial: str) -> RSA.RsaKey | None:
        """The public key for `serial`, downloading the certificates when it is unknown
        (at most once per REFETCH_INTERVAL_S). WeChatPayUnavailable propagates."""
        cert = self.cached(serial)
        if cert is None and normalize_serial(serial) is not None:
            with self._lock:
                cert = self.cached(serial)  # another thread may have just fetched
                now = self._clock()
                if cert is None and (self._last_fetch is None
                                     or now - self._last_fetch >= REFETCH_INTERVAL_S):
                    self._last_fetch = now
                    self.refresh()
                    cert = self.cached(serial)
        return cert.key if cert is not None else None

    def refresh(self) -> None:
        try:
            fetched = list(self._fetch())
        except WeChatPayError as exc:
            # Merchants with only a WeChat Pay public key get 404 RESOURCE_NOT_EXISTS
            # (or 500 SYSTEM_ERROR): no certificates, so the serial stays unknown.
            log.warning("wechat pay: /v3/certificates answered %s %s", exc.status, exc.code)
            return
        self.add(fetched)
        log.info("wechat pay: %d platform certificate(s) loaded", len(fetched))

    def add(self, certs: Iterable[PlatformCert]) -> None:
        now = self._clock()
        for cert in certs:
            if not cert.valid_at(now):
                continue
            self._certs[cert.serial] = cert
            if self._store is not None:
                try:
                    self._store.set(self._prefix + cert.serial, cert.pem,
                                    max(1, int(cert.not_after - now)))
                except Exception:  # the store is only a cache; verification goes on
                    log.warning("wechat pay: cert_store.set failed", exc_info=True)

    def _from_store(self, key: str, now: float) -> PlatformCert | None:
        try:
            pem = self._store.get(self._prefix + key)
        except Exception:  # the store is only a cache
            log.warning("wechat pay: cert_store.get failed", exc_info=True)
            return None
        if not pem:
            return None
        try:
            cert = parse_certificate(pem.decode("ascii") if isinstance(pem, bytes) else pem)
        except (ValueError, UnicodeDecodeError):
            return None
        if cert.serial != key or not cert.valid_at(now):
            return None
        self._certs[key] = cert
        return cert
