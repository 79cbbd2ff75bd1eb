"""The transition tables of replenishment requests and transfer proposals
(models.state_machine does the moving)."""
from __future__ import annotations

from models.state_machine import InvalidTransition, Machine, Move
from models.stock.tables import ReplenishmentRequest, TransferProposal


class ReplenishmentDecided(InvalidTransition):
    message = "This replenishment request was already decided."


REPLENISHMENT = Machine(ReplenishmentRequest, {
    # Opened when a (store, SKU) turns red. A manager accepts it (commits to restock: it
    # stays live until the stock is back) or rejects it as not needed (cancelled: the next
    # turn into red opens a new one). Fulfilled when the level is back above 10 %, whether
    # or not anybody decided.
    "accept": Move(("open",), "accepted", "decided_at"),
    "reject": Move(("open",), "cancelled", "decided_at"),
    "fulfil": Move(("open", "accepted"), "fulfilled", "closed_at"),
}, states=("open", "accepted", "fulfilled", "cancelled"), initial=("open",),
    error=ReplenishmentDecided)

# Requests still waiting for stock: at most one per (store, SKU) (models.stock.levels).
REPLENISHMENT_LIVE = ("open", "accepted")


class ProposalDecided(InvalidTransition):
    message = "This transfer proposal was already decided."


PROPOSALS = Machine(TransferProposal, {
    "accept": Move(("proposed",), "accepted", "decided_at"),
    "reject": Move(("proposed",), "rejected", "decided_at"),
}, states=("proposed", "accepted", "rejected"), initial=("proposed",), error=ProposalDecided)
