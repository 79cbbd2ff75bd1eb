"""The transition tables of replenishment requests and transfer proposals
(models.state_machine does the moving)."""
from __future__ import annotations

from models.state_machine import InvalidTransition, Machine, Move
from models.stock.tables import ReplenishmentRequest, TransferProposal

REPLENISHMENT = Machine(ReplenishmentRequest, {
    # Opened when a (store, SKU) turns red; fulfilled when it is back above 10 %. (Nothing
    # cancels one yet: the state is there for the console's "not needed".)
    "fulfil": Move(("open",), "fulfilled", "closed_at"),
}, states=("open", "fulfilled", "cancelled"), initial=("open",))


class ProposalDecided(InvalidTransition):
    message = "This transfer proposal was already decided."


PROPOSALS = Machine(TransferProposal, {
    "accept": Move(("proposed",), "accepted", "decided_at"),
    "reject": Move(("proposed",), "rejected", "decided_at"),
}, states=("proposed", "accepted", "rejected"), initial=("proposed",), error=ProposalDecided)
