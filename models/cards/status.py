"""The card's transition table (models.state_machine does the moving). A lock
(`locked_at`, wrong passwords) is separate from the status. No history table: every
staff step is audited, and a card's redemptions are rows of their own."""
from __future__ import annotations

from models.cards.tables import Card, CardStatus
from models.state_machine import Machine, Move

S = CardStatus

CARDS = Machine(Card, {
    "issue": Move((S.new,), S.issued),                           # the export made its password
    "activate": Move((S.issued,), S.active, "activated_at"),     # sold
    "use_up": Move((S.active,), S.used_up, "used_up_at"),        # its last unit redeemed
    "reactivate": Move((S.used_up,), S.active),                  # units came back (order ended unhanded)
    "void": Move((S.new, S.issued, S.active), S.void, "voided_at"),
}, states=CardStatus, initial=(S.new,))
