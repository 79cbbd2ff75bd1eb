"""The pickup code's transition table (models.state_machine does the moving). A code
ends once: used (all collected), replaced (a manager's reissue) or expired (the
deadline passed); its hashes leave the live set as it ends."""
from __future__ import annotations

from models.pickup.tables import PickupCode
from models.state_machine import Machine, Move

CODES = Machine(PickupCode, {
    "use": Move(("live",), "used", "ended_at"),
    "replace": Move(("live",), "replaced", "ended_at"),
    "expire": Move(("live",), "expired", "ended_at"),
}, states=("live", "used", "replaced", "expired"), initial=("live",))

# What an ended code no longer answers to: its digits, its mini-program code.
ENDED = {"live_hash": None, "wxa_hash": None}
