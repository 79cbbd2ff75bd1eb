"""The staff queue of parcels in trouble: 疑难 (problem), 退签 (returned to sender),
拒签 (refused), or no carrier event 48 h after shipping (silent). One open issue per
parcel and kind (`open_key`, unique while open); each opening alerts the store's staff
(outbox kind staff_alert, event parcel_exception)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from models import audit, outbox
from models.base import utcnow
from models.orders.tables import Order
from models.shipments.errors import ParcelNotFound
from models.shipments.status import ISSUES
from models.shipments.tables import Parcel, ParcelIssue
from models.staff.abilities import readable_store_ids
from models.state_machine import Actor

KINDS = ("problem", "returned", "refused", "silent")
REASONS = {"problem": "快递疑难件", "returned": "快递退回寄件人", "refused": "收件人拒签",
           "silent": "发货48小时无物流信息"}


def open_issue(parcel: Parcel, kind: str, detail: str | None) -> ParcelIssue | None:
    """Queue the trouble, unless the same kind is already open for this parcel."""
    key = f"{parcel.id}:{kind}"
    if db.session.scalar(select(ParcelIssue.id).where(ParcelIssue.open_key == key)) is not None:
        return None
    issue = ParcelIssue(parcel_id=parcel.id, order_id=parcel.order_id, store_id=parcel.store_id, kind=kind,
                        detail=detail, status=ISSUES.initial_status("open"), open_key=key, opened_at=utcnow())
    try:
        with db.session.begin_nested():  # a sweep and a push opening it at once: one wins
            db.session.add(issue)
            db.session.flush()
    except IntegrityError:
        return None
    outbox.enqueue("staff_alert", {"event": "parcel_exception", "order_id": parcel.order_id,
                                   "store_id": parcel.store_id, "reason": REASONS[kind], "issue_id": issue.id},
                   dedupe_key=f"parcel_exception_alert:{issue.id}")
    return issue


def list_issues(staff, *, status: str | None, store_id: int | None, cursor: int | None, limit: int) -> list:
    """Issues of the stores the staff member reads, newest first, with their parcel and order."""
    stores = readable_store_ids(staff, store_id)
    query = (select(ParcelIssue, Parcel, Order.order_no).join(Parcel, Parcel.id == ParcelIssue.parcel_id)
             .join(Order, Order.id == ParcelIssue.order_id))
    if status:
        query = query.where(ParcelIssue.status == status)
    if stores is not None:
        query = query.where(ParcelIssue.store_id.in_(stores))
    if cursor:
        query = query.where(ParcelIssue.id < cursor)
    rows = db.session.execute(query.order_by(ParcelIssue.id.desc()).limit(limit))
    return [_row(issue, parcel, order_no) for issue, parcel, order_no in rows]


def resolve(staff, issue_id: int, resolution: str) -> dict:
    issue = db.session.get(ParcelIssue, issue_id)
    if issue is None:
        raise ParcelNotFound("No such parcel issue.", details={"id": issue_id})
    staff.require_store(issue.store_id)
    outcome = ISSUES.move(issue, "resolve", Actor.of(staff), note=resolution[:200], resolved_by=staff.id,
                          resolution=resolution, open_key=None)
    if outcome.applied:
        audit.record("parcel_issue.resolve", issue, actor=staff, changes={"resolution": resolution})
    parcel = db.session.get(Parcel, issue.parcel_id)
    order_no = db.session.scalar(select(Order.order_no).where(Order.id == issue.order_id))
    return _row(issue, parcel, order_no) | {"changed": outcome.applied}


def _row(issue: ParcelIssue, parcel: Parcel, order_no: str) -> dict:
    return {"id": issue.id, "kind": issue.kind, "status": issue.status, "detail": issue.detail,
            "reason": REASONS.get(issue.kind), "opened_at": issue.opened_at, "resolved_at": issue.resolved_at,
            "resolution": issue.resolution, "store_id": issue.store_id, "order_no": order_no,
            "parcel": {"id": parcel.id, "direction": parcel.direction, "carrier": parcel.carrier,
                       "tracking_no": parcel.tracking_no, "status": parcel.status,
                       "last_event_at": parcel.last_event_at}}
