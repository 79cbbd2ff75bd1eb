"""Mini-program subscribe messages: the shopper's grants, and their delivery.

One acceptance in `wx.requestSubscribeMessage` allows one send of a one-time template, so
we count grants per (shopper, template): the mini-program reports acceptances
(`record_acceptance`); a message is sent only if it can take one (a guarded decrement,
in the claiming transaction), otherwise it is skipped and logged as such. WeChat has the
last word: 43101 (no grant left there) skips the message and zeroes our count.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select, update

from app import wechat
from app.errors import AppError
from app.extensions import db
from models.base import utcnow
from models.notifications import templates as tpl
from models.outbox.delivery import Claim, Delivery, Permanent, Result, Skip
from models.notifications.status import FINISH, MESSAGE_LOG
from models.notifications.tables import MessageLog, SubscribeGrant
from models.orders.tables import Order
from models.users import User

NO_GRANT = 43101
# A client can report acceptances we can't check; this bounds what it can make us try.
MAX_GRANTS = 50


class UnknownTemplate(AppError):
    status, code, message = 422, "unknown_template", "Not a subscribe template of this mini-program."


# -- grants -----------------------------------------------------------------------------

def record_acceptance(user_id: int, accepted: list[str]) -> dict[str, int]:
    """The shopper accepted these templates once each. Only configured template ids are
    taken; any other refuses the whole request (422 unknown_template), so a stale client
    learns it instead of silently counting nothing."""
    known = tpl.template_ids()
    unknown = sorted(set(accepted) - known)
    if unknown:
        raise UnknownTemplate(details={"unknown": unknown, "known": sorted(known)})
    for template_id in sorted(set(accepted)):  # one acceptance per template per prompt
        _add_grant(user_id, template_id)
    return counts(user_id)


def counts(user_id: int) -> dict[str, int]:
    """Remaining grants of every configured template (0 where none)."""
    have = dict(db.session.execute(select(SubscribeGrant.template_id, SubscribeGrant.remaining)
                                   .where(SubscribeGrant.user_id == user_id)).all())
    return {tid: have.get(tid, 0) for tid in sorted(tpl.template_ids())}


def _add_grant(user_id: int, template_id: str) -> None:
    """One more grant, up to the cap: a single upsert, so first reports arriving together
    neither lose a count nor deadlock (an insert that lost a unique-key race and then
    updated would, on InnoDB, with a third one waiting)."""
    table = SubscribeGrant.__table__
    values = {"user_id": user_id, "template_id": template_id, "remaining": 1, "updated_at": utcnow()}
    if db.session.get_bind().dialect.name == "mysql":
        from sqlalchemy.dialects.mysql import insert

        stmt = insert(table).values(**values).on_duplicate_key_update(
            remaining=func.least(table.c.remaining + 1, MAX_GRANTS), updated_at=values["updated_at"])
    else:
        from sqlalchemy.dialects.sqlite import insert

        stmt = insert(table).values(**values).on_conflict_do_update(
            index_elements=["user_id", "template_id"],
            set_={"remaining": func.min(table.c.remaining + 1, MAX_GRANTS), "updated_at": values["updated_at"]})
    db.session.execute(stmt)


def take_grant(user_id: int, template_id: str) -> bool:
    """Use one grant, if there is one (never below zero, whoever else takes at once)."""
    return _change(user_id, template_id, -1, SubscribeGrant.remaining > 0)


def return_grant(user_id: int, template_id: str) -> None:
    """A taken grant that WeChat did not use (the send failed for good)."""
    _change(user_id, template_id, +1)


def zero_grants(user_id: int, template_id: str) -> None:
    """WeChat says none are left (43101): believe it."""
    db.session.execute(update(SubscribeGrant).where(
        SubscribeGrant.user_id == user_id, SubscribeGrant.template_id == template_id)
        .values(remaining=0).execution_options(synchronize_session=False))


def _change(user_id: int, template_id: str, delta: int, *guard) -> bool:
    return db.session.execute(
        update(SubscribeGrant)
        .where(SubscribeGrant.user_id == user_id, SubscribeGrant.template_id == template_id, *guard)
        .values(remaining=SubscribeGrant.remaining + delta)
        .execution_options(synchronize_session=False)).rowcount == 1


# -- delivery (outbox kind "subscribe_message", payload {event, order_id, ...}) --------

@dataclass(frozen=True)
class Prepared:
    user_id: int
    openid: str
    template_id: str
    data: dict
    page: str | None


def prepare(claim: Claim) -> Prepared:
    payload = claim.payload
    event = payload.get("event")
    if event not in tpl.EVENTS:
        raise Permanent(f"unknown event {str(event)[:32]!r}")
    if event in tpl.USER_EVENTS:  # the shopper's own news (points, invitations): no order
        order, user = None, db.session.get(User, payload.get("user_id"))
        if user is None:
            raise Permanent("user_missing", event=event)
    else:
        order = db.session.get(Order, payload.get("order_id"))
        if order is None:
            raise Permanent("order_missing", event=event)
        user = db.session.get(User, order.user_id)
    info = {"event": event, "order_id": order.id if order else None, "user_id": user.id, "openid": user.openid}
    template = tpl.templates().get(event)
    if template is None:
        raise Skip("no_template", **info)
    info["template_id"] = template.template_id
    try:
        fields = (tpl.user_event_fields(event, payload, claim.created_at) if order is None
                  else tpl.event_fields(event, order, payload, claim.created_at))
        data = tpl.render(template, fields)
        page = tpl.page_for(template, order.order_no if order else None)
    except ValueError as exc:
        raise Permanent(f"render: {exc}", **info) from None
    entry = _entry(claim.id)
    if entry is None or not entry.grant_held:  # a retry keeps the grant it took
        if not take_grant(user.id, template.template_id):
            raise Skip("no_grant", **info)
        entry = entry or _new_entry(claim, info, "sending")
        entry.grant_held = True
    entry.attempts = claim.attempt
    MESSAGE_LOG.move(entry, "send")  # a repeat for a new entry, or a claim taken over
    db.session.flush()
    return Prepared(user.id, user.openid, template.template_id, data, page)


def send(prepared: Prepared):
    return wechat.miniprogram().send_subscribe_message(
        prepared.openid, prepared.template_id, prepared.data, page=prepared.page,
        miniprogram_state=current_app.config["SUBSCRIBE_MINIPROGRAM_STATE"])


def finish(claim: Claim, prepared: Prepared | None, result: Result) -> None:
    """Log the outcome and settle the grant: used (sent), none left (43101: zero),
    returned (failed for good), or kept for the next try (retry). The entry's move and
    what it records go in one update."""
    entry = _entry(claim.id)
    new = entry is None  # it ended before it took a grant
    if new:
        entry = _new_entry(claim, result.info, "retrying" if result.status == "retry" else result.status)
    fields = {"attempts": claim.attempt, "errcode": result.errcode,
              "reason": str(result.errcode) if result.errcode else (result.reason or "")[:64] or None}
    if result.status == "sent":
        fields.update(msgid=str(result.value or ""), grant_held=False, reason=None)
    elif result.status == "skipped" and result.errcode == NO_GRANT:
        zero_grants(entry.user_id, entry.template_id)
        fields["grant_held"] = False
    elif result.status != "retry" and entry.grant_held:
        return_grant(entry.user_id, entry.template_id)
        fields["grant_held"] = False
    if new or not MESSAGE_LOG.move(entry, FINISH[result.status], **fields).applied:
        for name, value in fields.items():  # a new entry, or one already in that state
            setattr(entry, name, value)


def _entry(outbox_id: int) -> MessageLog | None:
    return db.session.scalars(select(MessageLog).where(MessageLog.outbox_id == outbox_id)).first()


def _new_entry(claim: Claim, info: dict, status: str) -> MessageLog:
    entry = MessageLog(outbox_id=claim.id, event=str(info.get("event") or claim.payload.get("event"))[:32],
                       order_id=info.get("order_id"), user_id=info.get("user_id"),
                       openid=info.get("openid"), template_id=info.get("template_id"),
                       status=MESSAGE_LOG.initial_status(status), grant_held=False, attempts=claim.attempt)
    db.session.add(entry)
    return entry


DELIVERY = Delivery(send=send, prepare=prepare, finish=finish)
