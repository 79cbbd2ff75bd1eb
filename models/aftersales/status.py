"""The after-sale transition table (models.state_machine does the moving: a guarded
update plus a state_changes row; a repeat is ignored). Actors in brackets:

requested → approved [manager, or the timer: small refund-only] | rejected [manager]
          | cancelled [shopper] | escalated [the timer: no answer in time]
approved → refunding (refund only) | awaiting_return (return, exchange, at the store)
         | cancelled [shopper, until refunding]
awaiting_return → return_shipped [shopper: carrier and number] | received [clerk, code at
          the store] | receipt_refused | closed [the timer: never shipped] | cancelled
return_shipped → received [staff, or the timer 7 d after "signed"] | receipt_refused
received → refunding | replacing (exchange) → exchanged (the replacement handed over)
refunding → refunded | refund_failed (a payment case) → refunded (WeChat Pay completes it late)
rejected, receipt_refused → escalated [shopper] → approved | closed [admin]
"""
from __future__ import annotations

import enum

from models.aftersales.tables import AfterSale
from models.state_machine import SYSTEM, Actor, InvalidTransition, Machine, Move, shared_history


class Status(str, enum.Enum):
    requested = "requested"
    approved = "approved"
    rejected = "rejected"
    cancelled = "cancelled"
    refunding = "refunding"
    awaiting_return = "awaiting_return"
    return_shipped = "return_shipped"
    received = "received"
    receipt_refused = "receipt_refused"
    replacing = "replacing"
    exchanged = "exchanged"
    refunded = "refunded"
    refund_failed = "refund_failed"
    escalated = "escalated"
    closed = "closed"


S = Status
TRANSITIONS: dict[str, Move] = {
    "approve":        Move((S.requested, S.escalated), S.approved, "decided_at"),
    "reject":         Move((S.requested,), S.rejected, "decided_at"),
    "cancel":         Move((S.requested, S.approved, S.awaiting_return), S.cancelled, "finished_at"),
    "start_refund":   Move((S.approved, S.received), S.refunding),
    "await_return":   Move((S.approved,), S.awaiting_return),
    "ship_return":    Move((S.awaiting_return,), S.return_shipped, "shipped_at"),
    "receive":        Move((S.awaiting_return, S.return_shipped), S.received, "received_at"),
    "refuse_receipt": Move((S.awaiting_return, S.return_shipped), S.receipt_refused, "received_at"),
    "replace":        Move((S.received,), S.replacing),
    "finish_exchange": Move((S.replacing,), S.exchanged, "finished_at"),
    # An abnormal refund that WeChat Pay later completes (abnormal → processing → success).
    "refund_succeeded": Move((S.refunding, S.refund_failed), S.refunded, "finished_at"),
    "refund_failed":  Move((S.refunding,), S.refund_failed, "finished_at"),
    "escalate":       Move((S.requested, S.rejected, S.receipt_refused), S.escalated),
    "close":          Move((S.escalated, S.awaiting_return), S.closed, "finished_at"),
}

# Units of a line stay claimed by an after-sale in these statuses; the others give them
# back (an escalation claims them again, if they are still free).
RELEASED = frozenset({S.cancelled, S.closed, S.rejected, S.receipt_refused})
CLAIMING = frozenset(Status) - RELEASED
FINAL = frozenset({S.cancelled, S.closed, S.exchanged, S.refunded, S.refund_failed})


class AfterSaleInvalidTransition(InvalidTransition):
    message = "The after-sale cannot do that in its current state."


class _AfterSales(Machine):
    """The after-sale machine; each move that applies is also a partner event
    (`after_sale.<new status>`, models/partners/events.py) in the same transaction."""

    def move(self, row, action: str, actor: Actor = SYSTEM, **kw):
        from models.partners import events as partner_events  # (partners import orders: late, no cycle)

        outcome = super().move(row, action, actor, **kw)
        if outcome.applied:
            partner_events.after_sale_moved(row, _value(outcome.status))
        return outcome


def _value(status) -> str:
    return status.value if hasattr(status, "value") else str(status)


AFTER_SALES = _AfterSales(AfterSale, TRANSITIONS, states=Status, initial=(S.requested,),
                          history=shared_history("after_sales"), error=AfterSaleInvalidTransition)
