"""The message log's transition table (models.state_machine does the moving): one entry
per subscribe message, following its outbox row's tries."""
from __future__ import annotations

from models.notifications.tables import MessageLog
from models.state_machine import Machine, Move

_TRIED = ("sending", "retrying")

MESSAGE_LOG = Machine(MessageLog, {
    # Prepared for a send: a first try, a retry, or a staff member's retry of a failed or
    # skipped message. (A claim whose lease ran out prepares again: a repeat.)
    "send": Move(("retrying", "failed", "skipped"), "sending"),
    "retry_later": Move(("sending",), "retrying"),
    "sent": Move(("sending",), "sent"),
    "skip": Move(_TRIED, "skipped"),  # no grant (ours, or 43101 from WeChat), no template
    "fail": Move(_TRIED, "failed"),
}, states=("sending", "retrying", "sent", "skipped", "failed"),
    # An entry is made when a message takes its grant (sending), or, when it ends before
    # that, as it ends.
    initial=("sending", "retrying", "skipped", "failed"))

# A delivery's result → the move that logs it.
FINISH = {"retry": "retry_later", "sent": "sent", "skipped": "skip", "failed": "fail"}
