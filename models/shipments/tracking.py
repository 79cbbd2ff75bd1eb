"""What the carrier says (快递100's pushes, §10.2, and the real-time query of a silent
parcel, §10.3) becomes parcel events, parcel moves and their effects.

A push is verified first (`sign` over the raw `param` and the parcel's salt): a bad one
changes nothing at all. Each push carries the whole trace; nodes are stored by
fingerprint (`ParcelEvent` is unique per parcel and fingerprint), so a replay adds
nothing. A push whose newest node is older than what the parcel already has (reordered
on the way) stores any nodes it alone has but moves nothing. Moves only go forward
(models.shipments.status): a late "collected" after "out for delivery" is not applied.

Each applied move has its effects once: the subscribe message of that stage, a staff
issue for trouble, and for the last outbound parcel signed: the order delivered (its
auto-confirm countdown from the sign time) and WeChat's confirm-receipt reminder."""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from app.extensions import db
from models import outbox
from models.base import utcnow
from models.orders import lifecycle
from models.orders.status import SYSTEM, Status
from models.outbox.tables import OutboxMessage
from models.pickup.codes import lock_order
from models.shipments import events, issues
from models.shipments.parcels import push_salt
from models.shipments.status import PARCELS
from models.shipments.tables import Parcel, ParcelEvent
from wechat.kuaidi100 import push_signed

log = logging.getLogger(__name__)
CHINA = timezone(timedelta(hours=8))

# 快递100 lastResult.state → the parcel's move (None: no move). 6 退回, 7 转投, 8 and 10–13
# customs are still on the way. Unknown finer sub-states (3 digits, resultv2) are read by
# their first digit (§10.2).
ACTIONS = {0: "transit", 1: "collect", 2: "flag", 3: "sign", 4: "return", 5: "dispatch", 6: "transit",
           7: "transit", 8: "transit", 10: "transit", 11: "transit", 12: "transit", 13: "transit", 14: "flag"}
# Trouble: the issue kind staff see.
TROUBLE = {2: "problem", 4: "returned", 14: "refused"}
# Stages the shopper hears of (subscribe messages), by move.
SHOPPER_EVENTS = {"collect": "parcel_collected", "dispatch": "parcel_out_for_delivery"}


class PushRejected(Exception):
    """Not a push we accept: unknown parcel, bad signature, or not 快递100's format."""


@dataclass(frozen=True)
class Applied:
    parcel_id: int
    new_events: int
    moved: str | None  # the action applied, if any
    stale: bool = False


def handle_push(token: str, form) -> Applied:
    """A push to /callbacks/kuaidi100/<token>: verified, then applied."""
    param, sign = form.get("param"), form.get("sign")
    if not isinstance(param, str) or not param:
        raise PushRejected("no param")
    parcel_id = db.session.scalar(select(Parcel.id).where(Parcel.token == token)) if len(token) <= 32 else None
    if parcel_id is None:
        raise PushRejected("unknown parcel")
    if not push_signed(param, sign or "", push_salt(token)):
        raise PushRejected("bad signature")
    try:
        data = json.loads(param)
    except ValueError:
        raise PushRejected("param is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("status"), str):
        raise PushRejected("param has no status")
    return apply(parcel_id, data, source="push")


def apply(parcel_id: int, data: dict, *, source: str) -> Applied:
    """Apply one report about a parcel: a push's param, or a query's answer wrapped as one
    ({"status": "polling", "lastResult": answer})."""
    order_id = db.session.scalar(select(Parcel.order_id).where(Parcel.id == parcel_id))
    order = lock_order(order_id)  # the lock order: order, then parcel
    parcel = db.session.scalars(select(Parcel).where(Parcel.id == parcel_id).with_for_update()
                                .execution_options(populate_existing=True)).one()
    now = utcnow()
    parcel.last_heard_at = now
    status, last = data.get("status"), data.get("lastResult") if isinstance(data.get("lastResult"), dict) else {}
    _carrier_correction(parcel, data)
    if status == "abort":
        # Stopped (3 days without data, or 60 days without change): the sweep subscribes
        # it again once 快递100 takes it (KUAIDI100_RESUBSCRIBE_AFTER_S), unless 快递100
        # moved it to the right carrier itself (comNew).
        if not data.get("comNew"):
            parcel.aborted_at, parcel.abort_reason = now, str(data.get("message") or "")[:64] or None
        return Applied(parcel.id, 0, None)
    if status == "shutdown":
        parcel.tracking_ended_at = now
    nodes = _nodes(last.get("data"))
    added = _store(parcel, nodes)
    newest = max((n["at"] for n in nodes), default=None)
    state = _state(last.get("state"))
    if newest is None or state is None:
        return Applied(parcel.id, added, None)
    if parcel.last_event_at is not None and newest < parcel.last_event_at:
        return Applied(parcel.id, added, None, stale=True)  # an older picture, arrived late
    changed = parcel.carrier_state != state
    parcel.last_event_at, parcel.carrier_state = newest, state
    action = ACTIONS.get(state)
    moved = None
    if action is not None and PARCELS.allows(parcel.status, action):
        PARCELS.move(parcel, action, SYSTEM, note=f"kuaidi100 {source} state {state}", at=newest)
        moved = action
        _effects(order, parcel, action, newest)
    if state in TROUBLE and (moved or changed):  # news of trouble (a replay is not news)
        _trouble(order, parcel, TROUBLE[state], nodes[0]["context"])
    return Applied(parcel.id, added, moved)


def _trouble(order, parcel: Parcel, kind: str, context: str) -> None:
    issues.open_issue(parcel, kind, context[:200] or None)
    if parcel.direction == "outbound":
        _tell_shopper("parcel_exception", order, parcel, f"parcel_exception:{parcel.id}:{kind}")


def _effects(order, parcel: Parcel, action: str, at: datetime) -> None:
    outbound = parcel.direction == "outbound"
    if action in SHOPPER_EVENTS and outbound:
        _tell_shopper(SHOPPER_EVENTS[action], order, parcel, f"{SHOPPER_EVENTS[action]}:{parcel.id}")
    if action == "sign":
        if outbound:
            _outbound_signed(order, at)
        elif parcel.after_sale_no:
            events.return_signed.send(None, after_sale_no=parcel.after_sale_no, at=at)


def _outbound_signed(order, at: datetime) -> None:
    """The last outbound parcel signed for: the order is delivered (from the sign time)
    and WeChat reminds the buyer to confirm receipt — once per order (§9.4)."""
    siblings = db.session.scalars(select(Parcel.status).where(
        Parcel.order_id == order.id, Parcel.direction == "outbound")).all()
    if any(s != "signed" for s in siblings):
        return
    if order.status == Status.shipped.value:
        lifecycle.mark_delivered(order, SYSTEM, at=at, reason="carrier_signed")
    if order.status not in (Status.delivered.value, Status.completed.value):
        return
    # Staff may have marked it delivered already: the reminder still goes, once (this
    # runs under the order's lock, so the look-up and the insert cannot race).
    _enqueue_once("wechat_confirm_receive", {"order_id": order.id, "received_time": int(at.timestamp())},
                  f"confirm_receive:{order.id}")
    _enqueue_once("subscribe_message", {"event": "parcel_delivered", "order_id": order.id},
                  f"parcel_delivered:{order.id}")


def _tell_shopper(event: str, order, parcel: Parcel, key: str) -> None:
    _enqueue_once("subscribe_message", {"event": event, "order_id": order.id, "carrier": parcel.carrier,
                                        "tracking_no": parcel.tracking_no}, key)


def _enqueue_once(kind: str, payload: dict, key: str) -> None:
    if db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)) is None:
        outbox.enqueue(kind, payload, dedupe_key=key)


def _carrier_correction(parcel: Parcel, data: dict) -> None:
    """快递100 found the carrier code wrong and moved the subscription (§10.2 autoCheck)."""
    new = data.get("comNew")
    if isinstance(new, str) and new and new.isascii() and len(new) <= 32 and new != parcel.kuaidi100_com:
        parcel.kuaidi100_com = new


def _state(value) -> int | None:
    try:
        state = int(value)
    except (TypeError, ValueError):
        return None
    while state >= 100:  # a finer sub-state: its first digit (§10.2)
        state //= 10
    return state


def _nodes(data) -> list[dict]:
    """The trace's nodes we can read, newest first; one that is not a node is skipped."""
    out = []
    for node in data if isinstance(data, list) else ():
        if not isinstance(node, dict):
            continue
        at = _parse_time(node.get("ftime") or node.get("time"))
        context = node.get("context")
        if at is None or not isinstance(context, str):
            continue
        fp = hashlib.md5(f"{node.get('ftime') or node.get('time')}|{context}".encode()).hexdigest()
        out.append({"at": at, "context": context[:500], "fingerprint": fp,
                    "area": str(node.get("areaName") or "")[:100] or None,
                    "node_status": str(node.get("status") or "")[:16] or None})
    out.sort(key=lambda n: n["at"], reverse=True)
    return out


def _parse_time(text) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.strptime(text[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA).astimezone(timezone.utc)
    except ValueError:
        return None


def _store(parcel: Parcel, nodes: list[dict]) -> int:
    """Insert the nodes not stored yet; returns how many. Under the parcel's lock, so two
    pushes of one parcel never race to insert the same node."""
    if not nodes:
        return 0
    have = set(db.session.scalars(select(ParcelEvent.fingerprint).where(ParcelEvent.parcel_id == parcel.id)))
    seen, rows, now = set(have), [], utcnow()
    for node in nodes:
        if node["fingerprint"] in seen:
            continue
        seen.add(node["fingerprint"])
        rows.append({"parcel_id": parcel.id, "fingerprint": node["fingerprint"], "at": node["at"],
                     "context": node["context"], "area": node["area"], "node_status": node["node_status"],
                     "received_at": now})
    if rows:
        db.session.execute(ParcelEvent.__table__.insert(), rows)
    return len(rows)
