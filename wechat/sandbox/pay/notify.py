"""WeChat Pay → notify_url (§4.7, §4.8): the signed, AES-256-GCM-encrypted envelope,
sent from a background thread and retried on WeChat's schedule until a 2xx.

The schedule is scaled by `PaySandbox.notify_time_scale` (tests use 0.001) and may be
cut short by `max_notify_attempts`. An answer slower than `notify_timeout` (5 s) is a
failure. Probe variants: "signtest" (signature starting WECHATPAY/SIGNTEST/, must be
rejected) and "stale" (correctly signed, timestamp 10 minutes old, must be rejected)
go first, once each; "duplicate" copies follow an accepted delivery."""
from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from datetime import datetime

from urllib.parse import urlsplit

import requests

from wechat.sandbox.pay.crypto import SIGNTEST_PREFIX, aes_gcm_encrypt
from wechat.sandbox.pay.models import SHANGHAI, rfc3339

# Retries after the first send: 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h.
RETRY_SCHEDULE = (15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600,
                  10800, 10800, 10800, 21600, 21600)
STALE_SECONDS = 600
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def event_id(now: float) -> str:
    """EV-2018022511223320873: local time and five digits."""
    stamp = datetime.fromtimestamp(now, SHANGHAI).strftime("%Y%m%d%H%M%S")
    return f"EV-{stamp}{secrets.randbelow(10 ** 5):05d}"


def envelope(apiv3_key: str, now: float, event_type: str, summary: str,
             original_type: str, resource: dict) -> bytes:
    plaintext = json.dumps(resource, ensure_ascii=False, separators=(",", ":"))
    enc = aes_gcm_encrypt(apiv3_key, plaintext, original_type)
    body = {"id": event_id(now), "create_time": rfc3339(now),
            "resource_type": "encrypt-resource", "event_type": event_type,
            "summary": summary,
            "resource": {"original_type": original_type, "algorithm": enc["algorithm"],
                         "ciphertext": enc["ciphertext"],
                         "associated_data": enc["associated_data"], "nonce": enc["nonce"]}}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


class Notifier:
    def __init__(self, pay):
        self.pay = pay
        self.log: list[dict] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._http = requests.Session()
        self._http.trust_env = False  # the backend is local: no proxies from the environment

    def reset(self) -> None:
        """Stop pending deliveries (they check between attempts) and forget the log."""
        with self._lock:
            self._stop.set()
            self._stop = threading.Event()
            self.log = []

    def send(self, kind: str, key: str, url: str, body: bytes, duplicates: int = 0,
             signtest: bool = False, stale: bool = False, delay: float = 0.0) -> None:
        job = {"kind": kind, "key": key, "url": url, "body": body,
               "event_type": json.loads(body)["event_type"]}
        with self._lock:
            stop = self._stop
            self._threads = [t for t in self._threads if t.is_alive()]
            thread = threading.Thread(target=self._run, name=f"pay-notify-{key}", daemon=True,
                                      args=(job, stop, duplicates, signtest, stale, delay))
            self._threads.append(thread)
        thread.start()

    def pending(self) -> int:
        with self._lock:
            return sum(1 for t in self._threads if t.is_alive())

    def wait(self, timeout: float = 10.0) -> bool:
        """Join the delivery threads; False if some still run after `timeout` s."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in threads)

    def _run(self, job, stop, duplicates, signtest, stale, delay) -> None:
        if delay and stop.wait(delay):
            return
        if signtest:
            self._post(job, stop, "signtest", 1)
        if stale:
            self._post(job, stop, "stale", 1)
        delivered = False
        waits = (0,) + RETRY_SCHEDULE
        limit = self.pay.max_notify_attempts or len(waits)
        for attempt, wait in enumerate(waits[:limit], start=1):
            if wait and stop.wait(wait * self.pay.notify_time_scale):
                return
            delivered = self._post(job, stop, "normal", attempt)
            if delivered or stop.is_set():
                break
        if delivered:
            for n in range(1, duplicates + 1):
                self._post(job, stop, "duplicate", n)

    def _post(self, job, stop, variant: str, attempt: int) -> bool:
        if stop.is_set():
            return False
        ts = int(time.time()) - (STALE_SECONDS if variant == "stale" else 0)
        headers = self.pay.signature_headers(job["body"], ts)
        if variant == "signtest":
            headers["Wechatpay-Signature"] = SIGNTEST_PREFIX + base64.b64encode(
                secrets.token_bytes(256)).decode()
        headers["Content-Type"] = "application/json"
        status, error = None, None
        started = time.monotonic()
        sender = self.pay.notify_sender
        if sender is not None:
            try:
                status = int(sender(job["url"], headers, job["body"], self.pay.notify_timeout))
            except Exception as exc:  # noqa: BLE001 (whatever the hook raises is a failure)
                error = type(exc).__name__
        elif (not self.pay.notify_any_host
              and urlsplit(job["url"]).hostname not in LOOPBACK_HOSTS):
            error = "not sent: the sandbox delivers to loopback hosts only (notify_any_host)"
        else:
            try:
                res = self._http.post(job["url"], data=job["body"], headers=headers,
                                      timeout=self.pay.notify_timeout, allow_redirects=False)
                status = res.status_code
            except requests.RequestException as exc:
                error = type(exc).__name__
        elapsed = time.monotonic() - started
        ok = status is not None and 200 <= status < 300 and elapsed <= self.pay.notify_timeout
        if status is not None and not ok and 200 <= status < 300:
            error = "too slow"
        key_name = {"transaction": "out_trade_no", "complaint": "complaint_id"}.get(job["kind"], "out_refund_no")
        entry = {"kind": job["kind"], key_name: job["key"],
                 "event_type": job["event_type"], "url": job["url"], "variant": variant,
                 "attempt": attempt, "status_code": status, "accepted": ok, "error": error,
                 "elapsed_ms": int(elapsed * 1000), "at": int(self.pay.now())}
        with self._lock:
            if not stop.is_set():
                self.log.append(entry)
        return ok
