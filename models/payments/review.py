"""What staff read about money: open payment cases and reconciliation reports."""
from __future__ import annotations

from sqlalchemy import select

from models import audit
from models.base import get_or_404, keyset_page
from models.payments.status import CASES
from models.payments.tables import PaymentCase, ReconciliationReport
from models.state_machine import Actor


def cases(*, status: str, cursor: int | None, limit: int) -> list[PaymentCase]:
    return keyset_page(select(PaymentCase).where(PaymentCase.status == status), PaymentCase.id,
                       cursor=cursor, limit=limit, newest_first=True)


def resolve(staff, case_id: int) -> PaymentCase:
    case = get_or_404(PaymentCase, case_id, "No such payment case.")
    if CASES.move(case, "resolve", Actor.of(staff), resolved_by=staff.id).applied:
        audit.record("payment_case.resolve", case, actor=staff, changes={"kind": case.kind})
    return case


def reports(*, cursor: int | None, limit: int) -> list[ReconciliationReport]:
    return keyset_page(select(ReconciliationReport), ReconciliationReport.id, cursor=cursor,
                       limit=limit, newest_first=True)
