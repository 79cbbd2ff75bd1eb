"""Wrong passwords: each one is counted on the card; at CARD_LOCK_AFTER_FAILURES the card
locks, and then refuses even the right password until a manager, having checked the
holder, unlocks it. Locked cards wait in the staff review queue."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import case, or_, select, update

from app.errors import NotFound
from app.extensions import db
from models import audit, outbox
from models.base import utcnow
from models.cards.batches import normalize_serial
from models.cards.tables import Card, CardBatch


def record_failure(card_id: int, actor) -> bool:
    """Count a wrong password against the card (one atomic update, so simultaneous wrong
    tries are all counted). Returns True when this try locked it (the stores are told)."""
    limit = current_app.config["CARD_LOCK_AFTER_FAILURES"]
    now = utcnow()
    db.session.execute(
        update(Card).where(Card.id == card_id)
        # MySQL assigns left to right, later terms seeing earlier results: the counter last.
        .ordered_values((Card.locked_at, case((Card.locked_at.is_(None) & (Card.failed_attempts + 1 >= limit), now),
                                              else_=Card.locked_at)),
                        (Card.failed_attempts, Card.failed_attempts + 1))
        .execution_options(synchronize_session=False))
    card = db.session.execute(
        select(Card.failed_attempts, Card.locked_at, Card.serial, CardBatch.store_id)
        .join(CardBatch, CardBatch.id == Card.batch_id).where(Card.id == card_id)).one()
    # Exactly one try reaches the limit (the increments are atomic): one alert per lock.
    locked_now = card.locked_at is not None and card.failed_attempts == limit
    audit.record("card.wrong_password", _Target(card_id), actor=actor, changes={
        "serial": card.serial, "failed_attempts": card.failed_attempts, "locked": card.locked_at is not None})
    if locked_now:
        outbox.enqueue("staff_alert", {"event": "card_locked", "card_id": card_id,
                                       "serial": card.serial, "store_id": card.store_id})
    return locked_now


class _Target:
    """An audit target by id, without loading the row."""
    __tablename__ = Card.__tablename__

    def __init__(self, card_id: int):
        self.id = card_id


def locked_cards(store_ids: list[int] | None) -> list[dict]:
    """Locked cards awaiting a manager, oldest lock first. `store_ids` None: every card;
    otherwise the cards of those stores' batches and of batches open to any store (their
    holder may turn up at any counter)."""
    query = (select(Card.serial, CardBatch.store_id, Card.locked_at, Card.failed_attempts)
             .join(CardBatch, CardBatch.id == Card.batch_id)
             .where(Card.locked_at.is_not(None)).order_by(Card.locked_at, Card.id))
    if store_ids is not None:
        query = query.where(or_(CardBatch.store_id.is_(None), CardBatch.store_id.in_(store_ids)))
    return [{"kind": "card", "ref": r.serial, "store_id": r.store_id, "locked_at": r.locked_at,
             "failed_attempts": r.failed_attempts} for r in db.session.execute(query)]


def unlock(actor, serial: str) -> tuple[Card, bool]:
    """A manager unlocks a card after checking its holder: the count starts again.
    Staff of another store get the same answer as for an unknown serial. Returns
    (card, changed); unlocking an unlocked card changes nothing."""
    card = db.session.scalars(select(Card).where(Card.serial == normalize_serial(serial))).first()
    if card is None or (card.batch.store_id is not None and not actor.can_act_for(card.batch.store_id)):
        raise NotFound("No such card.", details={"serial": serial})
    previous = card.failed_attempts
    result = db.session.execute(
        update(Card).where(Card.id == card.id, Card.locked_at.is_not(None))
        .values(locked_at=None, failed_attempts=0).execution_options(synchronize_session=False))
    db.session.refresh(card)
    if result.rowcount != 1:
        return card, False
    audit.record("card.unlock", card, actor=actor,
                 changes={"serial": card.serial, "failed_attempts": previous})
    return card, True
