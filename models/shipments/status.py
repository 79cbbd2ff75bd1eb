"""The parcel and parcel-issue transition tables (models.state_machine does the moving).

A parcel moves forward only: what 快递100 reports is applied when it is news (a newer
trace) and the table allows it; a late push about an earlier stage moves nothing."""
from __future__ import annotations

from models.shipments.tables import Parcel, ParcelIssue
from models.state_machine import InvalidTransition, Machine, Move, shared_history

STATES = ("pending", "collected", "in_transit", "out_for_delivery", "exception", "signed", "returned")
_MOVING = ("pending", "collected", "in_transit", "out_for_delivery", "exception")


class ParcelInvalidTransition(InvalidTransition):
    message = "The parcel cannot do that in its current state."


PARCELS = Machine(Parcel, {
    "collect":  Move(("pending",), "collected", "collected_at"),
    "transit":  Move(("pending", "collected", "out_for_delivery", "exception"), "in_transit"),
    "dispatch": Move(("pending", "collected", "in_transit", "exception"), "out_for_delivery",
                     "out_for_delivery_at"),
    "flag":     Move(("pending", "collected", "in_transit", "out_for_delivery"), "exception", "exception_at"),
    "sign":     Move(_MOVING, "signed", "signed_at"),
    # 退签: the carrier brought it back to the sender and the sender signed for it.
    "return":   Move(_MOVING, "returned"),
}, states=STATES, initial=("pending",), history=shared_history("parcels"), error=ParcelInvalidTransition)

# Parcels still travelling: the ones a silent-parcel poll or the 48 h check looks at.
MOVING = frozenset(_MOVING)


class IssueInvalidTransition(InvalidTransition):
    message = "The parcel issue cannot do that in its current state."


ISSUES = Machine(ParcelIssue, {
    "resolve": Move(("open",), "resolved", "resolved_at"),
}, states=("open", "resolved"), initial=("open",), history=shared_history("parcel_issues"),
    error=IssueInvalidTransition)
