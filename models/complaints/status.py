"""Our side of a complaint (models.state_machine does the moving; history in
state_changes). It mirrors WeChat's complaint_state — PENDING / PROCESSING / PROCESSED —
moved by staff actions and by what WeChat says when we read the complaint.

A response moves pending → processing (answering again is an ignored repeat); completing
needs a response first, as WeChat does; a payer who complains again after completion
reopens it (WeChat shows PENDING once more).
"""
from __future__ import annotations

from models.complaints.tables import Complaint
from models.state_machine import InvalidTransition, Machine, Move, shared_history

STATES = ("pending", "processing", "processed")
# WeChat's complaint_state → ours.
FROM_WECHAT = {"PENDING": "pending", "PROCESSING": "processing", "PROCESSED": "processed"}


class ComplaintTransitionInvalid(InvalidTransition):
    message = "The complaint cannot do that in its current state."


COMPLAINTS = Machine(Complaint, {
    "respond": Move(("pending",), "processing"),
    "complete": Move(("processing",), "processed", "completed_at"),
    # What WeChat says (its detail, a pull): a response made elsewhere (the merchant
    # platform, WeChat's own staff), a completion, a payer complaining again.
    "follow_processing": Move(("pending", "processed"), "processing"),
    "follow_processed": Move(("pending", "processing"), "processed", "completed_at"),
    "reopen": Move(("processing", "processed"), "pending"),
}, states=STATES, initial=("pending", "processing", "processed"),
    history=shared_history("complaints"), error=ComplaintTransitionInvalid)

# WeChat's state now → the move that brings ours there (None: already there).
FOLLOW = {"pending": "reopen", "processing": "follow_processing", "processed": "follow_processed"}
