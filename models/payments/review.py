"""What staff read about money: open payment cases and reconciliation reports."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from models import audit
from models.base import get_or_404, utcnow
from models.payments.tables import PaymentCase, ReconciliationReport


def cases(*, status: str, cursor: int | None, limit: int) -> list[PaymentCase]:
    query = select(PaymentCase).where(PaymentCase.status == status).order_by(PaymentCase.id.desc()).limit(limit)
    if cursor:
        query = query.where(PaymentCase.id < cursor)
    return list(db.session.scalars(query))


def resolve(staff, case_id: int) -> PaymentCase:
    case = get_or_404(PaymentCase, case_id, "payment case")
    if case.status != "resolved":
        case.status, case.resolved_at, case.resolved_by = "resolved", utcnow(), staff.id
        audit.record("payment_case.resolve", case, actor=staff, changes={"kind": case.kind})
    return case


def reports(*, cursor: int | None, limit: int) -> list[ReconciliationReport]:
    query = select(ReconciliationReport).order_by(ReconciliationReport.id.desc()).limit(limit)
    if cursor:
        query = query.where(ReconciliationReport.id < cursor)
    return list(db.session.scalars(query))
