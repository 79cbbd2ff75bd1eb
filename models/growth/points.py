"""Points (积分) as a lot ledger.

Each earning is a lot: how many, how many are left, from when they can be spent (after the
after-sale window of the order that earned them) and when they expire (the end of the
month twelve months after the earning, China time). Every change is an append-only entry
with the balance (and debt) after it.

Every operation on a shopper's points locks their account row first, then the lots it
touches in (expires_at, id) order: two spends of one shopper queue, and no two
operations lock lots in different orders (no deadlock). Spending takes the
oldest-expiring lots first and never more than is spendable, so a balance never goes
negative. A refund of the earning order claws back what is left of its lot; what was
already spent becomes a debt that later earnings pay first.
"""
from __future__ import annotations

import calendar as cal
from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError

from app.errors import AppError, InvalidRequest
from app.extensions import db
from app.sqlbatch import joining
from models.base import keyset_page, mirror, utcnow
from models.growth.tables import PointAccount, PointEntry, PointLot

CHINA = ZoneInfo("Asia/Shanghai")
VALID_MONTHS = 12


class PointsInsufficient(AppError):
    status, code, message = 409, "points_insufficient", "Not enough points."


class GrantKeyReused(AppError):
    status, code, message = 422, "idempotency_key_reused", "This Idempotency-Key was used with a different grant."


def expiry_for(earned_at: datetime) -> datetime:
    """The end of the month `VALID_MONTHS` after the earning's month (China time), in UTC."""
    local = earned_at.astimezone(CHINA)
    months = local.year * 12 + local.month - 1 + VALID_MONTHS
    year, month = divmod(months, 12)
    last_day = cal.monthrange(year, month + 1)[1]
    end = datetime(year, month + 1, last_day, tzinfo=CHINA) + timedelta(days=1)
    return end.astimezone(ZoneInfo("UTC"))


def _account(user_id: int) -> PointAccount:
    """The shopper's account, locked (made on first use: two first uses at once, one insert wins)."""
    locked = select(PointAccount).where(PointAccount.user_id == user_id).with_for_update() \
        .execution_options(populate_existing=True)
    account = db.session.scalars(locked).first()
    if account is not None:
        return account
    try:
        with db.session.begin_nested():
            db.session.add(PointAccount(user_id=user_id, balance=0, debt=0, updated_at=utcnow()))
    except IntegrityError:
        pass
    return db.session.scalars(locked).one()


def _entry(account: PointAccount, delta: int, reason: str, ref: str | None, lot_id: int | None, at: datetime) -> None:
    db.session.add(PointEntry(user_id=account.user_id, lot_id=lot_id, delta=delta, balance_after=account.balance,
                              debt_after=account.debt, reason=reason, ref=ref, at=at))


def earn(user_id: int, amount: int, *, source: str, ref: str, available_from: datetime | None = None,
         now: datetime | None = None) -> PointLot:
    """A lot of `amount` points; earning the same (source, ref) again returns the first lot.
    A debt is paid from it first. The caller commits."""
    if amount <= 0:
        raise InvalidRequest("Points earned are a positive number.", details={"amount": amount})
    now = now or utcnow()
    account = _account(user_id)
    lot = db.session.scalars(select(PointLot).where(PointLot.source == source, PointLot.ref == ref)).first()
    if lot is not None:
        return lot
    lot = PointLot(user_id=user_id, source=source, ref=ref, amount=amount, remaining=amount,
                   available_from=available_from or now, expires_at=expiry_for(now), created_at=now)
    db.session.add(lot)
    db.session.flush()
    account.balance += amount
    _entry(account, amount, "earn", ref, lot.id, now)
    paid = min(account.debt, amount)
    if paid:
        lot.remaining -= paid
        account.balance -= paid
        account.debt -= paid
        _entry(account, -paid, "debt", ref, lot.id, now)
    account.updated_at = now
    return lot


def _spendable_lots(user_id: int, now: datetime) -> list[PointLot]:
    return list(db.session.scalars(
        select(PointLot).where(PointLot.user_id == user_id, PointLot.remaining > 0, PointLot.available_from <= now,
                               PointLot.expires_at > now)
        .order_by(PointLot.expires_at, PointLot.id).with_for_update()
        .execution_options(populate_existing=True)))


def spendable(user_id: int, now: datetime | None = None) -> int:
    now = now or utcnow()
    return int(db.session.scalar(select(func.coalesce(func.sum(PointLot.remaining), 0)).where(
        PointLot.user_id == user_id, PointLot.remaining > 0, PointLot.available_from <= now,
        PointLot.expires_at > now)))


def spend(user_id: int, points: int, *, ref: str, now: datetime | None = None,
          new_ref: bool = False, writes=None) -> list[tuple[int, int]]:
    """Take `points` from the oldest-expiring spendable lots: [(lot_id, points)]. Spending
    with a `ref` already spent (and not returned) returns that spend (`new_ref`: the caller
    knows the ref is new, e.g. the number of an order just written: not looked up). The
    account and the lots are locked now; their writes run in one round trip — in the
    caller's batch, with `writes` (order placement's, with the order's rows). The caller
    commits."""
    if points <= 0:
        raise InvalidRequest("Points spent are a positive number.", details={"points": points})
    now = now or utcnow()
    account = _account(user_id)
    done = [] if new_ref else _spent(user_id, ref)
    if done:
        return done
    lots = _spendable_lots(user_id, now)
    if sum(lot.remaining for lot in lots) < points:
        raise PointsInsufficient(details={"spendable": sum(lot.remaining for lot in lots), "asked": points})
    taken, left, balance = [], points, account.balance
    with joining(writes) as batch:
        for lot in lots:
            n = min(lot.remaining, left)
            balance -= n
            batch.add(_TAKE, {"lot": lot.id, "n": n}, one_row=f"point lot {lot.id} changed while locked")
            batch.add(_ENTRIES, {"user_id": user_id, "lot_id": lot.id, "delta": -n, "balance_after": balance,
                                 "debt_after": account.debt, "reason": "spend", "ref": ref, "at": now})
            mirror(lot, {"remaining": lot.remaining - n})
            taken.append((lot.id, n))
            left -= n
            if not left:
                break
        batch.add(_SET_BALANCE, {"user": user_id, "balance": balance, "at": now},
                  one_row=f"point account {user_id} changed while locked")
        mirror(account, {"balance": balance, "updated_at": now})
    return taken


_ENTRIES = PointEntry.__table__.insert()
_TAKE = (PointLot.__table__.update().where(PointLot.__table__.c.id == bindparam("lot"),
                                           PointLot.__table__.c.remaining >= bindparam("n"))
         .values(remaining=PointLot.__table__.c.remaining - bindparam("n")))
_SET_BALANCE = (PointAccount.__table__.update().where(PointAccount.__table__.c.user_id == bindparam("user"))
                .values(balance=bindparam("balance"), updated_at=bindparam("at")))


def _spent(user_id: int, ref: str) -> list[tuple[int, int]]:
    """The spend under `ref` not yet returned: [(lot_id, points)] (empty: none, or returned)."""
    rows = db.session.execute(select(PointEntry.lot_id, PointEntry.delta, PointEntry.reason).where(
        PointEntry.reason.in_(("spend", "return")), PointEntry.ref == ref, PointEntry.user_id == user_id)).all()
    if any(r.reason == "return" for r in rows):
        return []
    return [(r.lot_id, -r.delta) for r in rows]


def return_spend(user_id: int, *, ref: str, now: datetime | None = None) -> int:
    """The order that spent them was cancelled: the points go back to the lots they came
    from (an expired lot's return expires at the next run). Once. The caller commits."""
    now = now or utcnow()
    account = _account(user_id)
    spent = _spent(user_id, ref)
    if not spent:
        return 0
    lots = {lot.id: lot for lot in db.session.scalars(
        select(PointLot).where(PointLot.id.in_([lot_id for lot_id, _ in spent]))
        .order_by(PointLot.expires_at, PointLot.id).with_for_update().execution_options(populate_existing=True))}
    for lot_id, n in spent:
        lots[lot_id].remaining += n
        account.balance += n
        _entry(account, n, "return", ref, lot_id, now)
    account.updated_at = now
    return sum(n for _, n in spent)


def claw_back(*, source: str, ref: str, now: datetime | None = None) -> int:
    """The earning order was refunded: what is left of its lot is taken back, and what had
    left it otherwise than by expiring (spent, or paid a debt) becomes a debt. Once.
    Returns the points taken back and owed. The caller commits."""
    now = now or utcnow()
    found = db.session.scalars(select(PointLot.user_id).where(PointLot.source == source, PointLot.ref == ref)).first()
    if found is None:
        return 0
    account = _account(found)
    lot = db.session.scalars(select(PointLot).where(PointLot.source == source, PointLot.ref == ref)
                             .with_for_update().execution_options(populate_existing=True)).one()
    if lot.clawed_back_at is not None:
        return 0
    expired = -int(db.session.scalar(select(func.coalesce(func.sum(PointEntry.delta), 0)).where(
        PointEntry.lot_id == lot.id, PointEntry.reason == "expire")))
    owed = lot.amount - lot.remaining - expired
    taken = lot.remaining
    lot.remaining = 0
    lot.clawed_back_at = now
    account.balance -= taken
    account.debt += owed
    _entry(account, -taken, "clawback", ref, lot.id, now)
    account.updated_at = now
    return taken + owed


def expire_due(now: datetime | None = None, batch: int = 500) -> int:
    """Lots past their expiry with points left lose them (the expires_at index finds them);
    returns the points expired. The caller commits."""
    now = now or utcnow()
    due = db.session.execute(select(PointLot.id, PointLot.user_id).where(
        PointLot.expires_at <= now, PointLot.remaining > 0).order_by(PointLot.expires_at).limit(batch)).all()
    by_user: dict[int, list[int]] = defaultdict(list)
    for lot_id, user_id in due:
        by_user[user_id].append(lot_id)
    expired = 0
    for user_id in sorted(by_user):
        account = _account(user_id)
        for lot in db.session.scalars(select(PointLot).where(
                PointLot.id.in_(by_user[user_id]), PointLot.remaining > 0, PointLot.expires_at <= now)
                .order_by(PointLot.expires_at, PointLot.id).with_for_update().execution_options(populate_existing=True)):
            n, lot.remaining = lot.remaining, 0
            account.balance -= n
            _entry(account, -n, "expire", lot.ref, lot.id, now)
            expired += n
        account.updated_at = now
    return expired


def remind_expiring(now: datetime | None = None, within_days: int = 7, batch: int = 500) -> int:
    """A week (POINTS_REMIND_DAYS) before points expire, each shopper with such lots is
    told once (a subscribe message, sent only where they left a grant for it): the lots
    are marked reminded. Walks the expires_at index over the coming days only. The caller
    commits; returns the shoppers reminded."""
    from models import outbox

    now = now or utcnow()
    due = db.session.execute(select(PointLot.id, PointLot.user_id, PointLot.remaining, PointLot.expires_at).where(
        PointLot.expires_at > now, PointLot.expires_at <= now + timedelta(days=within_days),
        PointLot.remaining > 0, PointLot.reminded_at.is_(None)).order_by(PointLot.expires_at).limit(batch)).all()
    by_user: dict[int, list] = defaultdict(list)
    for row in due:
        by_user[row.user_id].append(row)
    for user_id, lots in sorted(by_user.items()):
        first = min(lot.expires_at for lot in lots)
        outbox.enqueue("subscribe_message", {"event": "points_expiring", "user_id": user_id,
                                             "points": sum(lot.remaining for lot in lots),
                                             "expires_at": first.isoformat()},
                       dedupe_key=f"points_expiring:{user_id}:{first.date().isoformat()}")
    if due:
        db.session.execute(update(PointLot).where(PointLot.id.in_([row.id for row in due]),
                                                  PointLot.reminded_at.is_(None)).values(reminded_at=now)
                           .execution_options(synchronize_session=False))
    return len(by_user)


def checkout_value(points: int, payable_fen: int, *, points_per_yuan: int = 100, unit: int = 100,
                   max_share_percent: int = 50) -> tuple[int, int]:
    """(points used, fen off) for `points` offered at checkout: whole units of `unit`
    points, `points_per_yuan` points to ¥1, at most `max_share_percent` % of the payable."""
    cap_fen = payable_fen * max_share_percent // 100
    usable = min(points, cap_fen * points_per_yuan // 100) // unit * unit
    return usable, usable * 100 // points_per_yuan


def summary(user_id: int, now: datetime | None = None) -> dict:
    """A shopper's points: balance, what they can spend now, a debt, and what expires next."""
    now = now or utcnow()
    account = db.session.get(PointAccount, user_id)
    soon = db.session.execute(select(PointLot.expires_at, func.sum(PointLot.remaining)).where(
        PointLot.user_id == user_id, PointLot.remaining > 0, PointLot.expires_at > now)
        .group_by(PointLot.expires_at).order_by(PointLot.expires_at).limit(3)).all()
    return {"balance": account.balance if account else 0, "debt": account.debt if account else 0,
            "spendable": spendable(user_id, now),
            "expiring": [{"expires_at": at, "points": int(n)} for at, n in soon]}


def history(user_id: int, *, cursor: int | None, limit: int) -> list[PointEntry]:
    return keyset_page(select(PointEntry).where(PointEntry.user_id == user_id), PointEntry.id,
                       cursor=cursor, limit=limit, newest_first=True)


def grant(staff, user_id: int, amount: int, *, key: str, note: str | None) -> PointLot:
    """Points given by hand (audited); the same key again is the same grant."""
    from models import audit
    from models.users import User

    if db.session.get(User, user_id) is None:
        raise InvalidRequest("No such shopper.", details={"user_id": user_id})
    done = db.session.scalars(select(PointLot).where(PointLot.source == "admin", PointLot.ref == key)).first()
    if done is not None:  # a retry: the same grant, nothing new; the key for another grant: refused
        if (done.user_id, done.amount) != (user_id, amount):
            raise GrantKeyReused(details={"user_id": done.user_id, "points": done.amount})
        return done
    lot = earn(user_id, amount, source="admin", ref=key)
    audit.record("points.grant", lot, actor=staff, changes={"user_id": user_id, "amount": amount, "note": note})
    return lot
