"""After-sale deadlines and what happens when one passes (the sweep, every minute; also
`flask aftersales sweep` by hand):

| status | deadline | when it passes |
| --- | --- | --- |
| requested | AFTERSALE_RESPOND_HOURS after the request | refund only of at most AFTERSALE_AUTO_APPROVE_MAX_FEN: approved (and refunded); the rest escalated, with a staff alert |
| awaiting_return | AFTERSALE_SHIP_DAYS after approval | closed: the shopper never shipped (or never came) |
| return_shipped, signed | AFTERSALE_RECEIVE_DAYS after the carrier's "signed" | received (nothing restocked) and refunded |

A reminder goes out AFTERSALE_REMIND_HOURS before each (staff alert for the merchant's
deadlines, subscribe message for the shopper's), once per deadline (`reminded_at`, reset
whenever a new deadline starts). Each after-sale is its own transaction, locked and read
again before acting: an action fires once however often the sweep runs or races a person."""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, or_, select

from app.db import each_in_own_transaction
from app.extensions import db
from models import outbox
from models.aftersales import decisions, locks, replacement, returns
from models.aftersales.status import AFTER_SALES, Status
from models.aftersales.tables import AfterSale
from models.base import utcnow
from models.state_machine import SYSTEM

S = Status
_TIMED = (S.requested.value, S.awaiting_return.value, S.return_shipped.value)


def sweep(batch: int = 200, now=None) -> dict:
    now = now or utcnow()
    remind = now + timedelta(hours=current_app.config["AFTERSALE_REMIND_HOURS"])
    due = select(AfterSale.id).where(AfterSale.status.in_(_TIMED), AfterSale.deadline_at <= now) \
        .order_by(AfterSale.deadline_at).limit(batch)
    soon = select(AfterSale.id).where(AfterSale.status.in_(_TIMED), AfterSale.deadline_at > now,
                                      AfterSale.deadline_at <= remind, AfterSale.reminded_at.is_(None)) \
        .order_by(AfterSale.deadline_at).limit(batch)
    replacing = select(AfterSale.id).where(AfterSale.status == S.replacing.value).order_by(AfterSale.id).limit(batch)
    return {
        "acted": each_in_own_transaction(due, lambda i: act(i, now), what="after-sales sweep"),
        "reminded": each_in_own_transaction(soon, lambda i: remind_once(i, now), what="after-sales reminder"),
        "exchanged": each_in_own_transaction(
            replacing, lambda i: replacement.finish_if_handed_over(locks.lock_sale(i)), what="after-sales exchange"),
    }


def act(sale_id: int, now) -> str | None:
    """The automatic action of a passed deadline, decided under the locks (a person may
    have acted since the sweep read it: then nothing is due and nothing happens)."""
    order, sale = locks.locked(db.session.get(AfterSale, sale_id))
    if sale.deadline_at is None or sale.deadline_at > now:
        return None
    if sale.status == S.requested.value:
        if sale.kind == "refund_only" and sale.refund_fen <= current_app.config["AFTERSALE_AUTO_APPROVE_MAX_FEN"]:
            decisions.approve_locked(order, sale, SYSTEM, note="auto_approved")
            return _mark(sale, "auto_approved")
        AFTER_SALES.move(sale, "escalate", SYSTEM, note="merchant_no_answer", deadline_at=None)
        outbox.enqueue("staff_alert", {"event": "aftersale_escalated", "after_sale_id": sale.id,
                                       "store_id": sale.store_id}, dedupe_key=f"aftersale_escalated:{sale.id}:timer")
        return _mark(sale, "escalated")
    if sale.status == S.awaiting_return.value:
        AFTER_SALES.move(sale, "close", SYSTEM, note="never_shipped", deadline_at=None)
        return _mark(sale, "closed")
    if sale.status == S.return_shipped.value and sale.signed_at is not None:
        returns.receive_automatically(order, sale)
        return _mark(sale, "auto_received")
    return None


def _mark(sale: AfterSale, action: str) -> str:
    sale.auto_action = action
    return action


def remind_once(sale_id: int, now) -> bool:
    order, sale = locks.locked(db.session.get(AfterSale, sale_id))
    if sale.reminded_at is not None or sale.deadline_at is None or sale.deadline_at <= now \
            or sale.status not in _TIMED:
        return False
    sale.reminded_at = now
    key = f"aftersale_due:{sale.id}:{sale.status}:{sale.deadline_at:%Y%m%d%H%M%S}"
    if sale.status == S.awaiting_return.value:  # the shopper's deadline
        outbox.enqueue("subscribe_message", {"event": "aftersale_due", "order_id": sale.order_id,
                                             "after_sale_id": sale.id, "deadline": sale.deadline_at.isoformat()},
                       dedupe_key=key)
    else:  # the merchant's: answer, or receive
        outbox.enqueue("staff_alert", {"event": "aftersale_due", "after_sale_id": sale.id, "store_id": sale.store_id,
                                       "deadline": sale.deadline_at.isoformat()}, dedupe_key=key)
    return True


def breaches(store_ids: list[int] | None, *, limit: int = 200) -> list[AfterSale]:
    """After-sales past their deadline and not yet acted on, and those the timer acted on
    (auto_action): the breach report, newest deadline first."""
    now = utcnow()
    where = or_(and_(AfterSale.status.in_(_TIMED), AfterSale.deadline_at <= now), AfterSale.auto_action.is_not(None))
    query = select(AfterSale).where(where)
    if store_ids is not None:
        query = query.where(AfterSale.store_id.in_(store_ids))
    return list(db.session.scalars(query.order_by(AfterSale.deadline_at.desc(), AfterSale.id.desc()).limit(limit)))
