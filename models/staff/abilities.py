"""Who may do what: the one permission table.

An ability is named by what it allows (`refunds.create`), never by who has it: a route
declares the ability it needs (`handlers.access.can`) and only this table says which
roles have it. Beside it, the two store scopes say *where* a role may use its abilities:
which stores it acts for, and which stores' lists it reads. Every staff permission is
decided here; tests/models/staff/test_abilities.py pins each route's roles and prints the grid into
docs/architecture.md ("Who may do what").
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from app.errors import Forbidden


class Role(str, enum.Enum):
    # Declared here rather than beside the Staff row: the row's store access (StoreAccess)
    # follows from these rules, so the rules come first. The order is the docs' columns.
    admin = "admin"        # everything, every store
    manager = "manager"    # runs their stores: stock, staff reviews, refunds
    clerk = "clerk"        # serves at the counter of their stores
    analyst = "analyst"    # reads reports and the catalog, changes nothing


@dataclass(frozen=True)
class Ability:
    name: str
    allows: str            # one line: what a holder may do (the docs' grid shows it)
    roles: frozenset[Role]

    @property
    def role_names(self) -> list[str]:
        """The roles that have it, in Role's order (stable in refusals and in the docs)."""
        return [role.value for role in Role if role in self.roles]


_A, _M, _C, _N = Role.admin, Role.manager, Role.clerk, Role.analyst


def _table(*rows: tuple[str, str, set[Role]]) -> dict[str, Ability]:
    return {name: Ability(name, allows, frozenset(roles)) for name, allows, roles in rows}


ABILITIES = _table(
    # Also the door to background exports: each export needs the ability of its rows besides
    # (orders.read, payments.read, ...: models/exports/kinds.py), checked by the model.
    ("session.own", ("See your own account (`/api/staff/me`, the console's session), sign out; start "
                     "background exports (each also needs the ability of its rows), follow and download "
                     "your own"), {_A, _M, _C, _N}),
    ("catalog.read", "See stores, products and SKUs", {_A, _M, _C, _N}),
    ("stores.write", "Open a store; change its hours, location, pickup settings, active flag", {_A}),
    ("catalog.write", "Create and change products and SKUs (bundles too)", {_A}),
    ("stock.read", "See a store's stock and its ledger, replenishment requests, stock level events",
     {_A, _M, _C, _N}),
    ("stock.write", ("Count, restock and adjust a store's stock; accept or reject its "
                     "replenishment requests"), {_A, _M}),
    ("stock.transfer", "Move stock between stores; see, accept and reject transfer proposals", {_A, _M}),
    ("stock.flash_sale", "Switch a SKU's flash-sale mode at a store", {_A, _M}),
    ("orders.read", "List orders", {_A, _M, _C, _N}),
    ("orders.fulfil", "Open an order; mark it ready, shipped, delivered", {_A, _M, _C}),
    ("orders.cancel", "Cancel an unpaid order", {_A, _M}),
    ("parcels.issues", "See the queue of parcels in trouble (疑难, returned, refused, silent); resolve one",
     {_A, _M, _C}),
    ("refunds.create", "Refund all or part of a paid order", {_A, _M}),
    ("pickups.verify", "Preview and verify pickups at the counter", {_A, _M, _C}),
    ("pickups.review", "See locked pickup codes and cards awaiting review; unlock a code", {_A, _M}),
    ("pickups.reissue", "Give an order a new pickup code", {_A, _M}),
    ("pickups.extend", "Extend an order's pickup deadline", {_A, _M}),
    ("cards.read", "See pickup-card batches and cards", {_A, _M, _N}),
    ("cards.write", "Create card batches; activate and void batches and cards", {_A}),
    ("cards.export", "Export a batch's passwords for the printer (once); follow, download and "
                     "confirm your own export", {_A}),
    ("cards.review", "See cards locked by wrong passwords; unlock one", {_A, _M}),
    ("complaints.read", "See WeChat Pay complaints about the orders of your stores, their history and "
                        "first-response times", {_A, _M}),
    ("complaints.handle", "Answer a WeChat Pay complaint, approve or reject its refund, complete it",
     {_A, _M}),
    ("payments.read", "See payment cases and reconciliation reports", {_A, _N}),
    ("payments.resolve", "Resolve a payment case", {_A}),
    ("outbox.read", "See outbox deliveries", {_A, _N}),
    ("outbox.retry", "Send a failed or skipped delivery again", {_A}),
    ("staff.read", "See staff accounts and their official-account binding", {_A}),
    ("staff.write", "Create and change staff accounts; bind and unbind their official account", {_A}),
    ("audit.read", "Read the audit log", {_A, _N}),
    ("growth.read", "See coupon templates, invitation campaigns, member levels, segments, campaigns and their "
                    "reports, the points rules", {_A, _M, _N}),
    ("growth.write", "Create coupon templates and open or close them; give shoppers points; create and end "
                     "invitation campaigns; add member levels; save segments and start campaigns", {_A}),
    ("reports.read", "See sales and order figures per store and day (the dashboard, reports)", {_A, _M, _N}),
    ("aftersales.read", "See after-sales (the queue by deadline, one with its photos, the breach report)",
     {_A, _M, _C, _N}),
    ("aftersales.decide", "Approve or reject an after-sale; receive a return sent by carrier or refuse it",
     {_A, _M}),
    ("aftersales.receive", "Receive a return at the counter by its return code (resellable units restocked)",
     {_A, _M, _C}),
    ("aftersales.arbitrate", "Decide an escalated after-sale (approve or close); close one never shipped", {_A}),
    ("partners.read", "See partner clients (ERP, WMS), their webhook endpoints and deliveries", {_A}),
    ("partners.write", ("Create, change, rotate and revoke partner clients; register and change their "
                        "webhook endpoints; redeliver events"), {_A}),
)


def require(principal, ability: str) -> None:
    """403 unless the principal's role has the ability (a name not in the table raises
    KeyError: a typo is a bug, not a refusal)."""
    entry = ABILITIES[ability]
    if principal is None or principal.role not in entry.roles:
        raise Forbidden("Your role may not do this.",
                        details={"allowed_roles": entry.role_names, "ability": ability})


# --- store scoping ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Scope:
    """Where roles may use their abilities: the `every_store` roles in every store, all
    other roles only in the stores they are bound to (`store_ids`)."""
    name: str
    every_store: frozenset[Role]
    covers: str            # what it governs (the docs' table shows it)


ACT = Scope("Act for a store", frozenset({_A}),
            "change its stock (counts, restocks, adjustments, transfers and proposals, flash "
            "sales, replenishment requests); open and work on its orders (serve, cancel, refund, pickup codes and "
            "deadlines); verify its pickups; its locked codes and cards in the review queue; "
            "its 「今日」 figures (admins: every active store)")
READ = Scope("Read a store's lists", frozenset({_A, _N}),
             "the staff order list, a store's inventory and its ledger, replenishment "
             "requests, stock level events, transfer proposals, pickups about to expire, reports")
SCOPES = (ACT, READ)


def _bound(principal, scope: Scope) -> list[int] | None:
    """The stores the principal has `scope` for; None means every store."""
    return None if principal.role in scope.every_store else list(principal.store_ids)


def _refuse(store_id: int) -> Forbidden:
    return Forbidden("You are not bound to this store.", details={"store_id": store_id})


def acting_store_ids(principal) -> list[int] | None:
    """Stores the principal acts for; None means every store."""
    return _bound(principal, ACT)


def may_act_for(principal, store_id: int) -> bool:
    stores = acting_store_ids(principal)
    return stores is None or store_id in stores


def require_acting(principal, store_id: int) -> None:
    if not may_act_for(principal, store_id):
        raise _refuse(store_id)


def require_readable(principal, store_id: int) -> None:
    stores = _bound(principal, READ)
    if stores is not None and store_id not in stores:
        raise _refuse(store_id)


def readable_store_ids(principal, store_id: int | None = None) -> list[int] | None:
    """Stores whose lists the principal reads (None: every store); asked for one store,
    just that one, if the principal may read it (403 otherwise)."""
    if store_id is None:
        return _bound(principal, READ)
    require_readable(principal, store_id)
    return [store_id]


class StoreAccess:
    """Which stores a staff member acts for (the ACT scope), from `role` and `store_ids`:
    the same rule for the row and for the session's principal."""

    def can_act_for(self, store_id: int) -> bool:
        return may_act_for(self, store_id)

    def require_store(self, store_id: int) -> None:
        require_acting(self, store_id)
