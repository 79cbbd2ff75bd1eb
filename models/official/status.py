"""The official account's transition tables (models.state_machine does the moving)."""
from __future__ import annotations

from models.official.tables import BindingToken, StaffAlertDelivery
from models.state_machine import Machine, Move

BINDING_TOKENS = Machine(BindingToken, {
    "use": Move(("pending",), "used", "used_at"),   # scanned by the staff member
    "revoke": Move(("pending",), "revoked"),        # a newer code was made for them
}, states=("pending", "used", "revoked"), initial=("pending",))

# One alert to one staff member, written once it is done with (sent, or refused for good).
ALERT_DELIVERIES = Machine(StaffAlertDelivery, {}, states=("sent", "failed"), initial=("sent", "failed"))
