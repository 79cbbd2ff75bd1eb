"""Staff acting on a complaint through WeChat Pay: respond, update refund progress,
complete. The staff member waits for WeChat's answer (like a prepay), so the call is
made here, before any row is locked; what it changed is then written in one short
transaction — our status through its machine, the first-response time (set once, by a
guarded update), the audit row — and a sync after the commit brings WeChat's history.

Two staff completing at once both ask WeChat; the second is refused there (409
complaint_refused) and changes nothing here.
"""
from __future__ import annotations

from sqlalchemy import update

from app import wechat
from app.extensions import db
from app.tasks import defer
from models import audit
from models.base import mirror, utcnow
from models.complaints.errors import ComplaintRefused, NotARefundComplaint
from models.complaints.queries import staff_complaint
from models.complaints.status import COMPLAINTS
from models.complaints.sync import SYNC_TASK
from models.complaints.tables import Complaint
from models.state_machine import Actor
from wechat.pay.errors import WeChatPayError, WeChatPayUnavailable


def respond(staff, complaint_id: str, content: str) -> Complaint:
    complaint = staff_complaint(staff, complaint_id)
    _ask(complaint, "complaint_response", lambda pay: pay.respond_complaint(complaint.complaint_id, content))
    _responded(staff, complaint, "respond", {"content": content})
    return complaint


def update_refund(staff, complaint_id: str, *, action: str, launch_refund_day: int | None,
                  reject_reason: str | None, remark: str | None) -> Complaint:
    complaint = staff_complaint(staff, complaint_id)
    if complaint.problem_type != "REFUND":
        raise NotARefundComplaint(details={"problem_type": complaint.problem_type})
    _ask(complaint, "complaint_refund_progress", lambda pay: pay.update_refund_progress(
        complaint.complaint_id, action, launch_refund_day=launch_refund_day,
        reject_reason=reject_reason, remark=remark))
    complaint.refund_action = action
    _responded(staff, complaint, "refund_progress",
               {"action": action, "launch_refund_day": launch_refund_day, "reject_reason": reject_reason})
    return complaint


def complete(staff, complaint_id: str) -> Complaint:
    complaint = staff_complaint(staff, complaint_id)
    # Judged here first: WeChat refuses a completion before any response, and a second
    # completion is an ignored repeat, not another call.
    _, values, _ = COMPLAINTS.plan(complaint.status, "complete", None, {})
    if values is None:
        return complaint
    _ask(complaint, "complaint_complete", lambda pay: pay.complete_complaint(complaint.complaint_id))
    if COMPLAINTS.move(complaint, "complete", Actor.of(staff), note="staff").applied:
        complaint.wechat_state = "PROCESSED"
        audit.record("complaint.complete", complaint, actor=staff)
    defer(SYNC_TASK, complaint.complaint_id)
    return complaint


def _ask(complaint: Complaint, api: str, call) -> None:
    try:
        call(wechat.pay())
    except WeChatPayError as exc:
        if exc.status >= 500 or exc.code in ("SYSTEM_ERROR", "FREQUENCY_LIMITED"):
            raise wechat.pay_failure(api, exc) from None
        raise ComplaintRefused(params={"wechat_code": exc.code},
                               details={"code": exc.code, "message": exc.message[:200]}) from None
    except WeChatPayUnavailable as exc:
        raise wechat.pay_failure(api, exc) from None


def _responded(staff, complaint: Complaint, action: str, changes: dict) -> None:
    now = utcnow()
    if COMPLAINTS.allows(complaint.status, "respond"):  # a reopened one follows WeChat at the sync
        COMPLAINTS.move(complaint, "respond", Actor.of(staff), note=action)
    complaint.wechat_state = "PROCESSING" if complaint.wechat_state in (None, "PENDING") else complaint.wechat_state
    complaint.incoming_user_response = False
    # Set once: the first of two racing responses wins, as the row says.
    first = db.session.execute(update(Complaint).where(Complaint.id == complaint.id,
                                                       Complaint.first_response_at.is_(None))
                               .values(first_response_at=now, first_response_by=staff.id)
                               .execution_options(synchronize_session=False))
    if first.rowcount == 1:
        mirror(complaint, {"first_response_at": now, "first_response_by": staff.id})
    audit.record(f"complaint.{action}", complaint, changes=changes, actor=staff)
    defer(SYNC_TASK, complaint.complaint_id)
