"""A refund of an after-sale has settled: the after-sale follows it. Called by
models/payments/refunds.py for every refund that moved (its out_refund_no is the
after-sale's number when it is one's), so this module imports nothing of refunds.py.

Success → refunded (applied once: a duplicate notify finds the refund already final and
never gets here twice). Closed or abnormal → refund_failed, with a payment case and its
staff alert, once per after-sale (the case is unique per kind and number)."""
from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from models import outbox
from models.aftersales import locks
from models.aftersales.status import AFTER_SALES
from models.aftersales.tables import AfterSale
from models.payments.tables import PaymentCase, Refund

log = logging.getLogger(__name__)
CASE_KIND = "aftersale_refund_failed"


def refund_settled(refund: Refund) -> None:
    sale = db.session.scalars(select(AfterSale).where(AfterSale.after_sale_no == refund.out_refund_no)).first()
    if sale is None:
        return
    order, sale = locks.locked(sale)  # the refund, then the order, then the after-sale
    if refund.status == "success":
        AFTER_SALES.move(sale, "refund_succeeded", note=f"refund:{refund.out_refund_no}",
                         refunded_fen=refund.amount_fen, deadline_at=None)
    elif refund.status in ("closed", "abnormal"):
        if AFTER_SALES.move(sale, "refund_failed", note=f"refund:{refund.status}", deadline_at=None).applied:
            _open_case(sale, refund)


def _open_case(sale: AfterSale, refund: Refund) -> None:
    # The after-sale's number stands in the transaction's place: one case per after-sale.
    case = PaymentCase(kind=CASE_KIND, order_id=sale.order_id, transaction_id=sale.after_sale_no,
                       details={"note": refund.last_error or refund.status, "out_refund_no": refund.out_refund_no,
                                "amount": {"total": refund.amount_fen}, "after_sale_no": sale.after_sale_no})
    try:
        with db.session.begin_nested():
            db.session.add(case)
            db.session.flush()
    except IntegrityError:
        return  # opened already
    outbox.enqueue("staff_alert", {"event": "payment_case", "case_id": case.id, "kind": CASE_KIND},
                   dedupe_key=f"payment_case:{case.id}")
    log.warning("after-sale %s: refund %s %s", sale.after_sale_no, refund.out_refund_no, refund.status)
