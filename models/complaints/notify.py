"""WeChat Pay's complaint notifications: verified on the raw body and decrypted exactly as
payment notifications are (models.payments.notify.verified), then recorded; the detail
is read by a sync after the commit (the notification itself is thin, §11.2)."""
from __future__ import annotations

from models.complaints.sync import record_notification
from models.payments.notify import Rejected, verified

__all__ = ["handle", "Rejected"]


def handle(headers, body: bytes) -> str:
    """recorded | ignored. Raises Rejected (answer 4xx, nothing changed) for a forged,
    stale or unreadable notification."""
    envelope = verified(headers, body)
    # The event types are UNCONFIRMED (§11.2): any COMPLAINT.* is read through its resource.
    if not str(envelope.get("event_type") or "").startswith("COMPLAINT."):
        return "ignored"
    return record_notification(envelope["resource"])
