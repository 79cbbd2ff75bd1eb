"""Store managers: pickup cards locked after wrong passwords — see them, unlock one
after checking its holder."""
from __future__ import annotations

from apiflask import APIBlueprint, fields

from handlers.access import can, current_staff, staff_auth
from handlers.admin_cards import CardDetail
from handlers.schemas import Schema
from models.cards import lockout
from models.pickup import lockout as pickup_lockout

bp = APIBlueprint("staff_cards", __name__, url_prefix="/api/staff/cards", tag="Staff: pickup cards")


class LockedOut(Schema):
    kind = fields.String()
    ref = fields.String(metadata={"description": "the card's serial"})
    store_id = fields.Integer(allow_none=True)
    locked_at = fields.DateTime()
    failed_attempts = fields.Integer()


class LockedPage(Schema):
    items = fields.Nested(LockedOut, many=True)
    next_cursor = fields.String(allow_none=True)


@bp.get("/locked")
@bp.auth_required(staff_auth)
@can("cards.review")
@bp.output(LockedPage)
@bp.doc(summary="Cards locked after wrong passwords, for my stores (and cards open to any store)")
def locked():
    return {"items": pickup_lockout.locked_cards_for(current_staff(), None), "next_cursor": None}


@bp.post("/<serial>/unlock")
@bp.auth_required(staff_auth)
@can("cards.review")
@bp.output(CardDetail)
@bp.doc(summary="Unlock a card after checking its holder (the wrong-password count restarts)",
        responses={404: "not_found (also for a card of another store)"})
def unlock(serial):
    card, changed = lockout.unlock(current_staff(), serial)
    card.changed = changed
    return card
