"""The outbox row's transition table (models.state_machine does the moving). No history
table: the row itself keeps its attempts, last error and times, and each delivery its
own record (the message log, staff alert deliveries)."""
from __future__ import annotations

from models.outbox.tables import OutboxMessage
from models.state_machine import Machine, Move

OUTBOX = Machine(OutboxMessage, {
    # A worker takes a due row; a `sending` row whose lease ran out (its worker died) is
    # claimed again.
    "claim": Move(("pending", "sending"), "sending"),
    "sent": Move(("sending",), "sent", "sent_at"),
    "skip": Move(("sending",), "skipped"),            # nothing to send, by design (no grant)
    "fail": Move(("sending",), "failed"),             # never sendable as it stands: kept for staff
    "retry_later": Move(("sending",), "pending"),     # after a backoff
    "retry": Move(("failed", "skipped"), "pending"),  # a staff member asks for it again
}, states=("pending", "sending", "sent", "skipped", "failed"), initial=("pending",))

# A delivery's result → the move that records it.
RECORD = {"sent": "sent", "skipped": "skip", "failed": "fail", "retry": "retry_later"}
