"""What staff read about money: open payment cases and reconciliation reports."""
from __future__ import annotations

from sqlalchemy import select

from models import audit
from models.base import get_or_404, keyset_page, utcnow
from models.payments.tables import PaymentCase, ReconciliationReport


def cases(*, status: str, cursor: int | None, limit: int) -> list[PaymentCase]:
    return keyset_page(select(PaymentCase).where(PaymentCase.status == status), PaymentCase.id,
                       cursor=cursor, limit=limit, newest_first=True)


def resolve(staff, case_id: int) -> PaymentCase:
    case = get_or_404(PaymentCase, case_id, "payment case")
    if case.status != "resolved":
        case.status, case.resolved_at, case.resolved_by = "resolved", utcnow(), staff.id
        audit.record("payment_case.resolve", case, actor=staff, changes={"kind": case.kind})
    return case


def reports(*, cursor: int | None, limit: int) -> list[ReconciliationReport]:
    return keyset_page(select(ReconciliationReport), ReconciliationReport.id, cursor=cursor,
                       limit=limit, newest_first=True)
