"""Keeping our complaints in step with WeChat Pay: a notification records the complaint and
asks for a sync; a sync reads the detail and the negotiation history (no lock held while
WeChat answers) and writes them in one short transaction; the scheduled pull lists what
is new since the newest complaint we hold and refreshes the open ones.

Everything is an upsert by `complaint_id` (unique) and, for history, by `log_id`: a
duplicate notification, a replay, a pull that overlaps the last one change nothing.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app import wechat
from app.crypto import cipher
from app.db import each_in_own_transaction
from app.extensions import db
from app.tasks import defer
from models.base import utcnow
from models.complaints.link import find_order
from models.complaints.status import COMPLAINTS, FOLLOW, FROM_WECHAT
from models.complaints.tables import Complaint, ComplaintHistory
from wechat.pay.errors import WeChatPayError, WeChatPayUnavailable
from wechat.pay.validate import CHINA_TZ

log = logging.getLogger(__name__)

SYNC_TASK = "tihuo.complaints.sync"
# WeChat's history entries that are the merchant answering the payer.
MERCHANT_RESPONSES = frozenset({"MERCHANT_RESPONSE", "MERCHANT_APPROVE_REFUND", "MERCHANT_REFUSE_RERUND"})
PULL_LOOKBACK_DAYS = 29   # the first pull, and the most a pull reaches back (WeChat: 30-day spans)
PULL_OVERLAP_DAYS = 1     # complaints of the newest day we hold are listed again (idempotent)
REFRESH_AFTER = timedelta(hours=1)
REFRESH_BATCH = 50


def phone_aad(complaint_id: str) -> bytes:
    # Bound to its row: a ciphertext copied to another complaint does not decrypt.
    return f"complaints.payer_phone:{complaint_id}".encode()


# --- from a notification ---------------------------------------------------------------------

def record_notification(resource: dict) -> str:
    """A verified COMPLAINT.* notification: the complaint's row (created from the thin
    resource if new) is flagged, and a sync reads the detail after the commit."""
    complaint_id = resource.get("complaint_id")
    if not isinstance(complaint_id, str) or not 0 < len(complaint_id) <= 64:
        return "ignored"
    complaint = _get_or_create(complaint_id, out_trade_no=_text(resource.get("out_trade_no"), 32),
                               complaint_time=_time(resource.get("complaint_time")),
                               amount_fen=_fen(resource.get("amount")))
    if not complaint.needs_sync:
        complaint.needs_sync = True
    defer(SYNC_TASK, complaint_id)
    return "recorded"


# --- one complaint ---------------------------------------------------------------------------

def sync(complaint_id: str, *, create: bool = False) -> str:
    """Read the complaint and its history from WeChat Pay, then write them. Returns
    synced | unknown (WeChat does not know it) | unavailable (asked again later) | gone.
    Only the pull creates rows (`create`): the sync a notification or an action deferred
    finds its row, or does nothing."""
    if not create and not db.session.scalar(select(Complaint.id).where(Complaint.complaint_id == complaint_id)):
        return "gone"
    try:
        detail = wechat.pay().complaint(complaint_id)
        history = list(wechat.pay().iter_negotiation_history(complaint_id)) if detail else []
    except (WeChatPayError, WeChatPayUnavailable) as exc:
        log.warning("complaint sync: WeChat Pay failed: %s", getattr(exc, "code", None) or exc)
        return "unavailable"
    if detail is None:
        return "unknown"
    return "synced" if upsert(detail, history, create=create) is not None else "gone"


def upsert(detail: dict, history: list[dict] | None, *, create: bool = True) -> Complaint | None:
    """Write what WeChat says about a complaint (a detail or a list item) and, when given,
    its history. Holds the complaint's row lock only for these writes."""
    info = (detail.get("complaint_order_info") or [{}])[0] or {}
    if not create and not db.session.scalar(select(Complaint.id).where(
            Complaint.complaint_id == detail["complaint_id"])):
        return None
    complaint = _get_or_create(detail["complaint_id"], out_trade_no=_text(info.get("out_trade_no"), 32),
                               complaint_time=_time(detail.get("complaint_time")),
                               amount_fen=_fen(info.get("amount")))
    complaint = db.session.scalars(select(Complaint).where(Complaint.id == complaint.id)
                                   .with_for_update().execution_options(populate_existing=True)).one()
    complaint.transaction_id = _text(info.get("transaction_id"), 32) or complaint.transaction_id
    complaint.out_trade_no = _text(info.get("out_trade_no"), 32) or complaint.out_trade_no
    if complaint.order_id is None:
        found = find_order(complaint.out_trade_no, complaint.transaction_id)
        if found:
            complaint.order_id, complaint.store_id = found
    complaint.complaint_time = _time(detail.get("complaint_time")) or complaint.complaint_time
    complaint.amount_fen = _fen(info.get("amount")) or complaint.amount_fen
    complaint.problem_type = _text(detail.get("problem_type"), 32)
    complaint.problem_description = _text(detail.get("problem_description"), 255)
    complaint.complaint_detail = detail.get("complaint_detail") if isinstance(detail.get("complaint_detail"), str) else None
    complaint.apply_refund_amount_fen = _fen(detail.get("apply_refund_amount"))
    complaint.full_refunded = detail.get("complaint_full_refunded") is True
    complaint.incoming_user_response = detail.get("incoming_user_response") is True
    if isinstance(detail.get("user_complaint_times"), int):
        complaint.user_complaint_times = detail["user_complaint_times"]
    complaint.media = [u for m in detail.get("complaint_media_list") or [] if isinstance(m, dict)
                       for u in m.get("media_url") or [] if isinstance(u, str)][:20]
    if detail.get("payer_phone"):
        complaint.payer_phone_enc = _reencrypt_phone(detail["payer_phone"], complaint.complaint_id)
    if history is not None:
        _write_history(complaint, history)
    _follow_state(complaint, detail.get("complaint_state"))
    complaint.needs_sync, complaint.synced_at = False, utcnow()
    return complaint


def _follow_state(complaint: Complaint, wechat_state) -> None:
    ours = FROM_WECHAT.get(wechat_state) if isinstance(wechat_state, str) else None
    if ours is None:
        return
    complaint.wechat_state = wechat_state
    if complaint.status != ours:
        COMPLAINTS.move(complaint, FOLLOW[ours], note=f"wechat:{wechat_state}")


def _write_history(complaint: Complaint, entries: list[dict]) -> None:
    known = set(db.session.scalars(select(ComplaintHistory.log_id)
                                   .where(ComplaintHistory.complaint_row_id == complaint.id)))
    for entry in entries:
        log_id = _text(entry.get("log_id"), 64)
        operate_type = _text(entry.get("operate_type"), 64)
        if not log_id or not operate_type:
            continue
        at = _time(entry.get("operate_time"))
        if operate_type in MERCHANT_RESPONSES and at is not None and (
                complaint.first_response_at is None or at < complaint.first_response_at):
            complaint.first_response_at = at  # answered on the merchant platform, or before us
        if log_id in known:
            continue
        known.add(log_id)
        media = entry.get("complaint_media_list") or {}
        images = [u for u in (entry.get("image_list") or []) + (media.get("media_url") or [] if isinstance(media, dict) else [])
                  if isinstance(u, str)][:20]
        db.session.add(ComplaintHistory(
            complaint_row_id=complaint.id, log_id=log_id, operate_type=operate_type,
            operator=_text(entry.get("operator"), 64), operate_time=at, images=images,
            operate_details=entry.get("operate_details") if isinstance(entry.get("operate_details"), str) else None))


def _reencrypt_phone(ciphertext: str, complaint_id: str) -> str | None:
    try:
        phone = wechat.pay().decrypt_field(ciphertext)
    except ValueError:
        log.warning("complaint %s: payer_phone does not decrypt with the merchant key", complaint_id)
        return None
    return cipher().encrypt(phone, aad=phone_aad(complaint_id))


def _get_or_create(complaint_id: str, **first) -> Complaint:
    found = db.session.scalars(select(Complaint).where(Complaint.complaint_id == complaint_id)).first()
    if found is not None:
        if found.order_id is None and found.out_trade_no is None and first.get("out_trade_no"):
            found.out_trade_no = first["out_trade_no"]
        return found
    complaint = Complaint(complaint_id=complaint_id, status=COMPLAINTS.initial_status("pending"),
                          needs_sync=True, **first)
    linked = find_order(first.get("out_trade_no"), None)
    if linked:
        complaint.order_id, complaint.store_id = linked
    try:
        with db.session.begin_nested():  # a notification and a pull at once: one insert wins
            db.session.add(complaint)
            db.session.flush()
    except IntegrityError:
        return db.session.scalars(select(Complaint).where(Complaint.complaint_id == complaint_id)).one()
    return complaint


# --- the scheduled pull ------------------------------------------------------------------------

def pull(today: date | None = None) -> dict:
    """The beat job: complaints listed since the newest day we hold (overlapping it by a
    day, at most PULL_LOOKBACK_DAYS back) are written with their history; then the open
    ones not read for an hour, and those a notification flagged, are synced again."""
    if not wechat.pay_configured():
        return {"skipped": "WeChat Pay is not configured"}
    today = today or datetime.now(CHINA_TZ).date()
    newest = db.session.scalar(select(func.max(Complaint.complaint_time)))
    begin = today - timedelta(days=PULL_LOOKBACK_DAYS)
    if newest is not None:
        begin = max(begin, newest.astimezone(CHINA_TZ).date() - timedelta(days=PULL_OVERLAP_DAYS))
    begin = min(begin, today)
    try:
        listed = list(wechat.pay().iter_complaints(begin, today))
    except (WeChatPayError, WeChatPayUnavailable) as exc:
        log.warning("complaint pull: WeChat Pay failed: %s", getattr(exc, "code", None) or exc)
        listed = []
    changed = [item for item in listed if isinstance(item.get("complaint_id"), str) and _changed(item)]
    written = each_in_own_transaction([item["complaint_id"] for item in changed],
                                      lambda cid: sync(cid, create=True), what="complaint pull")
    stale = utcnow() - REFRESH_AFTER
    again = db.session.scalars(
        select(Complaint.complaint_id).where(
            (Complaint.needs_sync.is_(True))
            | (Complaint.status.in_(("pending", "processing")) & (Complaint.synced_at < stale)))
        .order_by(Complaint.id).limit(REFRESH_BATCH)).all()
    refreshed = each_in_own_transaction([c for c in again if c not in {i["complaint_id"] for i in changed}],
                                        sync, what="complaint refresh")
    return {"listed": len(listed), "synced": written, "refreshed": refreshed,
            "since": begin.isoformat()}


def _changed(item: dict) -> bool:
    """A listed complaint we do not hold, or whose state, payer messages or count moved."""
    row = db.session.execute(select(Complaint.wechat_state, Complaint.incoming_user_response,
                                    Complaint.user_complaint_times, Complaint.needs_sync)
                             .where(Complaint.complaint_id == item["complaint_id"])).first()
    return (row is None or row.needs_sync or row.wechat_state != item.get("complaint_state")
            or row.incoming_user_response != (item.get("incoming_user_response") is True)
            or row.user_complaint_times != item.get("user_complaint_times", row.user_complaint_times))


# --- parsing WeChat's values ---------------------------------------------------------------------

def _text(value, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def _fen(value) -> int | None:
    return value if type(value) is int and value >= 0 else None


def _time(value) -> datetime | None:
    """RFC3339 with an offset (milliseconds or not), as aware UTC; None when unreadable."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.utcoffset() is None:
        return None
    return moment.astimezone(timezone.utc)
