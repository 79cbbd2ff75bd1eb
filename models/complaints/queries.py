"""Reading complaints as staff see them: scoped through the order's store (admins: every
complaint, also those not linked to an order), with first-response times."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from app.crypto import cipher
from app.extensions import db
from models.base import keyset_page, utcnow
from models.complaints.errors import ComplaintNotFound
from models.complaints.sync import phone_aad
from models.complaints.tables import Complaint, ComplaintHistory
from models.orders.tables import Order
from models.staff.abilities import acting_store_ids
from models.users import mask_phone

SUMMARY_DAYS = 30
ANSWER_WITHIN = timedelta(hours=24)  # what the summary counts as answered in time


def _scoped(query, staff):
    stores = acting_store_ids(staff)
    return query if stores is None else query.where(Complaint.store_id.in_(stores))


def staff_complaint(staff, complaint_id: str, *, lock: bool = False) -> Complaint:
    """The complaint, if the staff member's stores include its order's; 404 otherwise
    (another store's complaint looks like none at all)."""
    query = _scoped(select(Complaint).where(Complaint.complaint_id == complaint_id), staff)
    if lock:
        query = query.with_for_update()
    found = db.session.scalars(query).first()
    if found is None:
        raise ComplaintNotFound(details={"complaint_id": complaint_id})
    return found


def staff_complaints(staff, *, status: str | None, store_id: int | None, cursor: int | None,
                     limit: int) -> list[Complaint]:
    """Newest first, keyset on id."""
    query = _scoped(select(Complaint), staff)
    if status:
        query = query.where(Complaint.status == status)
    if store_id is not None:
        query = query.where(Complaint.store_id == store_id)
    return keyset_page(query, Complaint.id, cursor=cursor, limit=limit, newest_first=True)


def page_for(staff, *, status: str | None, store_id: int | None, cursor: int | None, limit: int) -> dict:
    """API.md's list shape, the items as staff see them."""
    found = staff_complaints(staff, status=status, store_id=store_id, cursor=cursor, limit=limit + 1)
    more, found = len(found) > limit, found[:limit]
    return {"items": rows(found), "next_cursor": str(found[-1].id) if more and found else None}


def first_response_s(complaint: Complaint) -> int | None:
    if complaint.first_response_at is None or complaint.complaint_time is None:
        return None
    return max(0, int((complaint.first_response_at - complaint.complaint_time).total_seconds()))


def summary(staff, now: datetime | None = None) -> dict:
    """Complaints made in the last SUMMARY_DAYS days in the staff member's scope: how many,
    how many open and unanswered, and how fast the first response came."""
    now = now or utcnow()
    rows = db.session.execute(_scoped(
        select(Complaint.status, Complaint.complaint_time, Complaint.first_response_at)
        .where(Complaint.complaint_time >= now - timedelta(days=SUMMARY_DAYS)), staff)).all()
    waits = sorted(int((r.first_response_at - r.complaint_time).total_seconds())
                   for r in rows if r.first_response_at is not None)
    unanswered = [r for r in rows if r.first_response_at is None and r.status != "processed"]
    return {
        "days": SUMMARY_DAYS, "total": len(rows),
        "open": sum(1 for r in rows if r.status != "processed"),
        "unanswered": len(unanswered),
        "unanswered_over_24h": sum(1 for r in unanswered if now - r.complaint_time > ANSWER_WITHIN),
        "answered": len(waits),
        "answered_within_24h": sum(1 for w in waits if w <= ANSWER_WITHIN.total_seconds()),
        "avg_first_response_s": sum(waits) // len(waits) if waits else None,
        "median_first_response_s": waits[(len(waits) - 1) // 2] if waits else None,
        "max_first_response_s": waits[-1] if waits else None,
    }


# --- what staff see --------------------------------------------------------------------------

def row(complaint: Complaint, order_no: str | None = None) -> dict:
    return {"complaint_id": complaint.complaint_id, "status": complaint.status,
            "wechat_state": complaint.wechat_state, "problem_type": complaint.problem_type,
            "problem_description": complaint.problem_description,
            "complaint_detail": complaint.complaint_detail, "order_no": order_no,
            "store_id": complaint.store_id, "out_trade_no": complaint.out_trade_no,
            "amount_fen": complaint.amount_fen, "apply_refund_amount_fen": complaint.apply_refund_amount_fen,
            "complaint_time": complaint.complaint_time, "first_response_at": complaint.first_response_at,
            "first_response_s": first_response_s(complaint),
            "incoming_user_response": complaint.incoming_user_response,
            "user_complaint_times": complaint.user_complaint_times,
            "completed_at": complaint.completed_at, "after_sale_no": complaint.after_sale_no,
            "synced_at": complaint.synced_at}


def rows(complaints: list[Complaint]) -> list[dict]:
    order_ids = {c.order_id for c in complaints if c.order_id}
    numbers = dict(db.session.execute(select(Order.id, Order.order_no).where(Order.id.in_(order_ids))).all()
                   ) if order_ids else {}
    return [row(c, numbers.get(c.order_id)) for c in complaints]


def detail(complaint: Complaint) -> dict:
    order_no = db.session.scalar(select(Order.order_no).where(Order.id == complaint.order_id)) \
        if complaint.order_id else None
    history = db.session.scalars(select(ComplaintHistory).where(ComplaintHistory.complaint_row_id == complaint.id)
                                 .order_by(ComplaintHistory.operate_time, ComplaintHistory.id)).all()
    phone = (cipher().decrypt(complaint.payer_phone_enc, aad=phone_aad(complaint.complaint_id))
             if complaint.payer_phone_enc else None)
    return {**row(complaint, order_no), "payer_phone_masked": mask_phone(phone) if phone else None,
            "refund_action": complaint.refund_action, "media": list(complaint.media or []),
            "history": [{"log_id": h.log_id, "operator": h.operator, "operate_type": h.operate_type,
                         "operate_details": h.operate_details, "operate_time": h.operate_time,
                         "images": list(h.images or [])} for h in history]}
