"""The merchant's side of pickup cards: create a batch (its cards get serials), activate
cards as they are sold, void them, read. The export that makes the passwords (once per
batch) is models/cards/exports.py. Every step is audited — never with a password."""
from __future__ import annotations

import secrets
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select

from app.errors import InvalidRequest, NotFound
from app.extensions import db
from models import audit
from models.base import keyset_page, utcnow
from models.state_machine import InvalidTransition
from models.cards import passwords
from models.cards.errors import BatchNotExported, BatchVoid, CardUsedUp
from models.cards.status import CARDS
from models.cards.tables import Card, CardBatch, CardStatus, Channels
from models.catalog import Sku
from models.stores import Store

CARD_ROWS = Card.__table__
S = CardStatus


def new_serial(batch_id: int, seq: int) -> str:
    """Batch (4+ digits), sequence (5), and 3 random digits: sorted as printed, yet a
    guesser who knows one serial can't list the others."""
    return f"{batch_id:04d}{seq:05d}{secrets.randbelow(1000):03d}"


def normalize_serial(value: str) -> str:
    return passwords.normalize(value)


def create_batch(actor, fields: dict) -> CardBatch:
    fields = dict(fields)
    _check_batch(fields)
    batch = CardBatch(created_by=getattr(actor, "id", None), **fields)
    db.session.add(batch)
    db.session.flush()
    units = batch.units_per_card
    db.session.connection().execute(CARD_ROWS.insert(), [
        {"batch_id": batch.id, "seq": seq, "serial": new_serial(batch.id, seq),
         "status": CARDS.initial_status(S.new), "units_total": units, "units_left": units, "failed_attempts": 0,
         "created_at": batch.created_at}
        for seq in range(1, batch.card_count + 1)])
    audit.record("card_batch.create", batch, actor=actor, changes=_plain(fields))
    return batch


def _check_batch(fields: dict) -> None:
    sku = db.session.get(Sku, fields["sku_id"])
    if sku is None:
        raise NotFound("No such SKU.", details={"sku_id": fields["sku_id"]})
    if fields.get("store_id") is not None and db.session.get(Store, fields["store_id"]) is None:
        raise NotFound("No such store.", details={"store_id": fields["store_id"]})
    if fields["valid_until"] <= fields["valid_from"]:
        raise InvalidRequest("valid_until must be after valid_from.", details={"field": "valid_until"})
    if fields["valid_until"] <= utcnow():
        raise InvalidRequest("valid_until is in the past.", details={"field": "valid_until"})
    limit = current_app.config["CARD_BATCH_MAX_CARDS"]
    if fields["card_count"] > limit:
        raise InvalidRequest("At most {limit} cards per batch.", params={"limit": limit},
                             details={"field": "card_count", "max": limit})
    Channels(fields["channels"])


def _plain(fields: dict) -> dict:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in fields.items()}


def get_batch(batch_id: int, *, for_update: bool = False) -> CardBatch:
    query = select(CardBatch).where(CardBatch.id == batch_id)
    batch = db.session.scalars(query.with_for_update() if for_update else query).first()
    if batch is None:
        raise NotFound("No such card batch.", details={"batch_id": batch_id})
    return batch


def activate(actor, batch_id: int, from_serial: str | None = None,
             to_serial: str | None = None) -> dict:
    """Cards sold: issued → active, for the whole batch or a serial range (one card when
    both ends are the same). Cards already active, void or used up are left as they are."""
    batch = get_batch(batch_id)
    if batch.voided_at:
        raise BatchVoid()
    if batch.exported_at is None:
        raise BatchNotExported()
    first, last = _range(batch, from_serial, to_serial)
    activated = CARDS.move_all("activate", Card.batch_id == batch.id, Card.seq.between(first, last))
    outcome = {"activated": activated, "skipped": last - first + 1 - activated}
    audit.record("card_batch.activate", batch, actor=actor,
                 changes={"from_serial": from_serial, "to_serial": to_serial, **outcome})
    return outcome


def _range(batch: CardBatch, from_serial: str | None, to_serial: str | None) -> tuple[int, int]:
    if from_serial is None and to_serial is None:
        return 1, batch.card_count
    ends = [normalize_serial(s) for s in (from_serial or to_serial, to_serial or from_serial)]
    seqs = dict(db.session.execute(select(Card.serial, Card.seq).where(
        Card.batch_id == batch.id, Card.serial.in_(ends))).all())
    missing = [s for s in ends if s not in seqs]
    if missing:
        raise NotFound("No such card in this batch.", details={"serials": sorted(set(missing))})
    first, last = seqs[ends[0]], seqs[ends[1]]
    if first > last:
        raise InvalidRequest("from_serial comes after to_serial.", details={"field": "to_serial"})
    return first, last


def activate_card(actor, serial: str) -> dict:
    card = get_card(serial)
    return activate(actor, card.batch_id, card.serial, card.serial)


def void_card(actor, serial: str, reason: str | None) -> tuple[Card, bool]:
    """Withdraw one card (lost, refunded, sold by mistake); its remaining units are gone.
    Returns (card, changed): voiding a void card again changes nothing."""
    card = get_card(serial)
    try:
        voided = CARDS.move(card, "void", void_reason=reason).applied
    except InvalidTransition:  # used up (voiding a void card again is a repeat)
        raise CardUsedUp("A used-up card has nothing left to void.") from None
    if not voided:
        return card, False
    audit.record("card.void", card, actor=actor, changes={"serial": card.serial, "reason": reason,
                                                          "units_left": card.units_left})
    return card, True


def void_batch(actor, batch_id: int, reason: str | None) -> dict:
    """Withdraw a whole batch: every card not used up becomes void, and the batch can no
    longer be exported or activated. Locks the batch, then its cards (as an export's
    finish does: the batch, the job, the cards)."""
    batch = get_batch(batch_id, for_update=True)
    if batch.voided_at:
        return {"voided": 0}
    now = utcnow()
    batch.voided_at = now
    voided = CARDS.move_all("void", Card.batch_id == batch.id, at=now, void_reason=reason)
    audit.record("card_batch.void", batch, actor=actor, changes={"reason": reason, "voided": voided})
    return {"voided": voided}


# --- reading ----------------------------------------------------------------------------

def get_card(serial: str) -> Card:
    card = db.session.scalars(select(Card).where(Card.serial == normalize_serial(serial))).first()
    if card is None:
        raise NotFound("No such card.", details={"serial": serial})
    return card


def list_batches(*, cursor: int | None, limit: int) -> list[CardBatch]:
    return with_counts(keyset_page(select(CardBatch), CardBatch.id, cursor=cursor, limit=limit,
                                   newest_first=True))


def with_counts(batches: list[CardBatch]) -> list[CardBatch]:
    """Attach `counts` ({status: n, ..., locked: n}) to each batch: one grouped query."""
    ids = [b.id for b in batches]
    counts: dict[int, dict] = {i: {s.value: 0 for s in S} | {"locked": 0} for i in ids}
    if ids:
        rows = db.session.execute(
            select(Card.batch_id, Card.status, func.count(), func.count(Card.locked_at))
            .where(Card.batch_id.in_(ids)).group_by(Card.batch_id, Card.status)).all()
        for batch_id, status, n, locked in rows:
            counts[batch_id][status] = n
            counts[batch_id]["locked"] += locked
    for batch in batches:
        batch.counts = counts[batch.id]
    return batches


def list_cards(*, batch_id: int | None, status: str | None, locked: bool | None,
               cursor: int | None, limit: int) -> list[Card]:
    query = select(Card)
    if batch_id is not None:
        query = query.where(Card.batch_id == batch_id)
    if status:
        query = query.where(Card.status == status)
    if locked is not None:
        query = query.where(Card.locked_at.is_not(None) if locked else Card.locked_at.is_(None))
    return keyset_page(query, Card.id, cursor=cursor, limit=limit)
