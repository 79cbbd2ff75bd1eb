"""The transition tables of cards and of batch exports (models.state_machine does the
moving). A card's lock (`locked_at`, wrong passwords) is separate from its status. No
history table: every staff step is audited, and a card's redemptions are rows of their
own."""
from __future__ import annotations

from models.cards.tables import Card, CardExport, CardStatus, ExportStatus
from models.state_machine import Machine, Move

S = CardStatus

CARDS = Machine(Card, {
    "issue": Move((S.new,), S.issued),                           # the export made its password
    "activate": Move((S.issued,), S.active, "activated_at"),     # sold
    "use_up": Move((S.active,), S.used_up, "used_up_at"),        # its last unit redeemed
    "reactivate": Move((S.used_up,), S.active),                  # units came back (order ended unhanded)
    "void": Move((S.new, S.issued, S.active), S.void, "voided_at"),
}, states=CardStatus, initial=(S.new,))

E = ExportStatus

EXPORTS = Machine(CardExport, {
    "start": Move((E.queued,), E.running, "started_at"),        # a task claimed it
    "finish": Move((E.running,), E.ready, "ready_at"),           # hashes and result stored together
    "confirm": Move((E.ready,), E.delivered, "delivered_at"),    # its admin has the CSV: result destroyed
    "expire": Move((E.ready,), E.expired, "expired_at"),         # CARD_EXPORT_TTL_S passed: result destroyed
    "fail": Move((E.queued, E.running), E.failed, "failed_at"),  # nothing was stored
    "retry": Move((E.failed,), E.queued),                        # its admin starts it again
}, states=ExportStatus, initial=(E.queued,))
