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

from sqlalchemy import bindparam, select, update

from app.extensions import db
from models import outbox
from models.base import utcnow
from models.orders import lifecycle
from models.orders.status import SYSTEM, Status
from models.outbox.tables import OutboxMessage
from models.pickup.codes import lock_order
from models.shipments import events, issues
from models.shipments.parcels import push_salts
from models.shipments.status import PARCELS
from models.shipments.tables import Parcel, ParcelEvent
from models.state_machine import Row
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
    """A push to /callbacks/kuaidi100/<token>: verified, then applied. The signature is
    checked before the database is asked anything: a forgery costs a hash, and an unknown
    token is answered like a bad signature (nothing tells which tokens exist)."""
    param, sign = form.get("param"), form.get("sign")
    if not isinstance(param, str) or not param:
        raise PushRejected("no param")
    if not token or len(token) > 32 or not any(push_signed(param, sign or "", salt) for salt in push_salts(token)):
        raise PushRejected("bad signature")
    try:
        data = json.loads(param)
    except ValueError:
        raise PushRejected("param is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("status"), str):
        raise PushRejected("param has no status")
    parcel = db.session.execute(_BY_TOKEN, {"token": token}).first()
    if parcel is None:
        raise PushRejected("unknown parcel")
    return _apply(parcel, data, "push")


def apply(parcel_id: int, data: dict, *, source: str) -> Applied:
    """Apply one report about a parcel: a push's param, or a query's answer wrapped as one
    ({"status": "polling", "lastResult": answer})."""
    return _apply(_locked(Parcel.id == parcel_id), data, source)


_COLUMNS = (Parcel.id, Parcel.order_id, Parcel.store_id, Parcel.direction, Parcel.after_sale_no, Parcel.carrier,
            Parcel.tracking_no, Parcel.kuaidi100_com, Parcel.status, Parcel.carrier_state, Parcel.last_event_at,
            Parcel.event_count)


def _locked(where):
    """The parcel's row, locked. Lock order: a parcel, then its order (only "signed" takes
    the order; staff correcting a parcel take the parcel first too), so pushes of two
    parcels of one order, or a push and a correction, never wait on each other in a circle."""
    return db.session.execute(select(*_COLUMNS).where(where).with_for_update()).first()


# The hot path's statements, built once (their compiled forms are cached by shape).
_BY_TOKEN = select(*_COLUMNS).where(Parcel.token == bindparam("token")).with_for_update()
_PROGRESS = (update(Parcel).where(Parcel.id == bindparam("row"))
             .values(last_heard_at=bindparam("heard"), event_count=bindparam("count"),
                     last_event_at=bindparam("newest"), carrier_state=bindparam("state"))
             .execution_options(synchronize_session=False))


def _apply(parcel, data: dict, source: str) -> Applied:
    # The common push (in transit, a node or two more) is one locking read, one INSERT
    # IGNORE of the new nodes and one UPDATE: a parcel is pushed tens of times.
    now = utcnow()
    values: dict = {"last_heard_at": now}
    status, last = data.get("status"), data.get("lastResult") if isinstance(data.get("lastResult"), dict) else {}
    new_com = data.get("comNew")
    if isinstance(new_com, str) and new_com and new_com.isascii() and len(new_com) <= 32:
        values["kuaidi100_com"] = new_com  # 快递100 found the carrier code wrong (§10.2 autoCheck)
    if status == "abort":
        # Stopped (3 days without data, or 60 days without change): the sweep subscribes
        # it again once 快递100 takes it (KUAIDI100_RESUBSCRIBE_AFTER_S), unless 快递100
        # moved it to the right carrier itself (comNew).
        if "kuaidi100_com" not in values:
            values.update(aborted_at=now, abort_reason=str(data.get("message") or "")[:64] or None)
        _update(parcel.id, values)
        return Applied(parcel.id, 0, None)
    if status == "shutdown":
        values["tracking_ended_at"] = now
    nodes = _nodes(last.get("data"))
    added, values["event_count"] = _store(parcel, nodes, now)
    newest = nodes[0]["at"] if nodes else None
    state = _state(last.get("state"))
    if newest is None or state is None:
        _update(parcel.id, values)
        return Applied(parcel.id, added, None)
    if parcel.last_event_at is not None and newest < parcel.last_event_at:
        _update(parcel.id, values)
        return Applied(parcel.id, added, None, stale=True)  # an older picture, arrived late
    if len(values) == 2:  # the usual push: progress only, one prepared statement
        db.session.execute(_PROGRESS, {"row": parcel.id, "heard": now, "count": values["event_count"],
                                       "newest": newest, "state": state})
    else:
        _update(parcel.id, {**values, "last_event_at": newest, "carrier_state": state})
    action, moved = ACTIONS.get(state), None
    if action is not None and PARCELS.allows(parcel.status, action):
        PARCELS.move(Row(parcel.id, parcel.status), action, SYSTEM, note=f"kuaidi100 {source} state {state}",
                     at=newest)
        moved = action
        _effects(parcel, action, newest)
    if state in TROUBLE and (moved or parcel.carrier_state != state):  # news of trouble (a replay is not)
        _trouble(parcel, TROUBLE[state], nodes[0]["context"])
    return Applied(parcel.id, added, moved)


def _update(parcel_id: int, values: dict) -> None:
    db.session.execute(update(Parcel).where(Parcel.id == parcel_id).values(**values)
                       .execution_options(synchronize_session=False))


def _trouble(parcel, kind: str, context: str) -> None:
    issues.open_issue(parcel, kind, context[:200] or None)
    if parcel.direction == "outbound":
        _tell_shopper("parcel_exception", parcel, f"parcel_exception:{parcel.id}:{kind}")


def _effects(parcel, action: str, at: datetime) -> None:
    outbound = parcel.direction == "outbound"
    if action in SHOPPER_EVENTS and outbound:
        _tell_shopper(SHOPPER_EVENTS[action], parcel, f"{SHOPPER_EVENTS[action]}:{parcel.id}")
    if action == "sign":
        if outbound:
            _outbound_signed(lock_order(parcel.order_id), at)
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


def _tell_shopper(event: str, parcel, key: str) -> None:
    _enqueue_once("subscribe_message", {"event": event, "order_id": parcel.order_id, "carrier": parcel.carrier,
                                        "tracking_no": parcel.tracking_no}, key)


def _enqueue_once(kind: str, payload: dict, key: str) -> None:
    if db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)) is None:
        outbox.enqueue(kind, payload, dedupe_key=key)


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
    try:  # "2024-05-01 12:00:00", Asia/Shanghai
        return datetime.fromisoformat(text[:19]).replace(tzinfo=CHINA).astimezone(timezone.utc)
    except ValueError:
        return None


def _store(parcel, nodes: list[dict], now: datetime) -> tuple[int, int]:
    """Store the nodes not stored yet: (how many were added, how many are stored now).
    Under the parcel's lock, so two pushes of one parcel never race on a node.

    快递100 sends the whole trace each time, and a trace grows on top: the nodes newer
    than the newest one stored are inserted (INSERT IGNORE: the unique fingerprint is the
    last line against a repeat); if the push then still has more distinct nodes than are
    stored, some never reached us (a lost push, a late scan, two nodes in one second):
    only then are the stored fingerprints read to add the rest."""
    distinct = {node["fingerprint"]: node for node in nodes}
    if not distinct:
        return 0, parcel.event_count
    floor = parcel.last_event_at
    fresh = [n for n in distinct.values() if floor is None or n["at"] > floor]
    added = _insert_ignore(parcel.id, fresh, now)
    if len(distinct) <= parcel.event_count + added:
        return added, parcel.event_count + added
    have = set(db.session.scalars(select(ParcelEvent.fingerprint).where(ParcelEvent.parcel_id == parcel.id)))
    added += _insert_ignore(parcel.id, [n for fp, n in distinct.items() if fp not in have], now)
    return added, len(have | set(distinct))


def _insert_ignore(parcel_id: int, nodes: list[dict], now: datetime) -> int:
    if not nodes:
        return 0
    rows = [{"parcel_id": parcel_id, "fingerprint": n["fingerprint"], "at": n["at"], "context": n["context"],
             "area": n["area"], "node_status": n["node_status"], "received_at": now} for n in nodes]
    stmt = _INSERT_IGNORE.get(db.session.get_bind().dialect.name, _INSERT_IGNORE["mysql"])
    return db.session.execute(stmt, rows).rowcount


_INSERT_IGNORE = {"mysql": ParcelEvent.__table__.insert().prefix_with("IGNORE"),
                  "sqlite": ParcelEvent.__table__.insert().prefix_with("OR IGNORE")}
