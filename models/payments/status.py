"""The transition tables of money: payments, refunds, payment cases, reconciliation
reports (models.state_machine does the moving). Payments and refunds keep their history
in state_changes.

Can a closed refund still succeed? No: `closed` and `success` are final, and WeChat
Pay's word on a finished refund (a late notify, a query) is ignored.
"""
from __future__ import annotations

from models.payments.tables import Payment, PaymentCase, ReconciliationReport, Refund
from models.state_machine import Machine, Move, shared_history

PAYMENTS = Machine(Payment, {
    # A verified notify, a query or the bill says it was paid. A closed payment may still
    # be paid: WeChat Pay took the money before our close reached it; the order stays
    # cancelled and the money is refunded (payments/apply.py).
    "pay": Move(("created", "closed"), "paid"),
    # Closed at WeChat Pay before the order was cancelled: nothing can be paid after.
    "close": Move(("created",), "closed"),
    # WeChat Pay took money that does not match the order (another amount): recorded here,
    # never applied, refunded in full; the order ends cancelled once the money is back.
    "hold": Move(("created", "closed"), "held"),
}, states=("created", "paid", "closed", "held"),
    # created: a prepay was asked for; paid: found paid without our prepay (the bill).
    initial=("created", "paid"), history=shared_history("payments"))

REFUNDS = Machine(Refund, {
    # WeChat Pay took the refund (or, after an abnormal one, a retry).
    "accept": Move(("pending", "abnormal"), "processing"),
    "succeed": Move(("pending", "processing", "abnormal"), "success", "succeeded_at"),
    # Refused outright when submitted, or closed by WeChat Pay.
    "close": Move(("pending", "processing", "abnormal"), "closed"),
    # The money could not go back (e.g. the shopper's card was cancelled): staff act.
    "fail": Move(("pending", "processing"), "abnormal"),
}, states=("pending", "processing", "success", "closed", "abnormal"), initial=("pending",),
    history=shared_history("refunds"))

# WeChat Pay's refund statuses (response, notify, query) → our move.
REFUND_MOVES = {"processing": "accept", "success": "succeed", "closed": "close", "abnormal": "fail"}

CASES = Machine(PaymentCase, {
    "resolve": Move(("open",), "resolved", "resolved_at"),
}, states=("open", "resolved"), initial=("open",))

# A report is written once with what it found; it never moves.
REPORTS = Machine(ReconciliationReport, {}, states=("ok", "differences", "failed"),
                  initial=("ok", "differences", "failed"))
