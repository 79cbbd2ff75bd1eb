"""Staff finding orders: by number, by the shopper's phone (whole, or its last 4 digits —
what a shopper tells a clerk at the counter), by store, status, fulfilment and the days
they were placed; newest first, keyset on id.

Every filter reaches its rows through an index, and a page reads about a page of rows:
- a store (and a status): `ix_orders_store_id_id` / `ix_orders_store_id_status_id`, read
  backwards from the cursor; a member of several stores gets each store's newest rows
  (one branch per store, `UNION ALL`) and the newest of those, never a sort of all
  their stores' history;
- every store (admins, analysts): the primary key, or `ix_orders_status_id` by status;
- a number: its unique index; a phone: `users.phone_hash` / `phone_tail_hash`, then the
  shoppers' orders by `ix_orders_user_id_id`;
- days: turned into bounds on the id (`id_bounds`, two one-row reads of
  `ix_orders_created_at`), so the scans above start and stop inside the range. Fulfilment
  is a filter on the rows read (both kinds are common, so a page is found quickly).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select, union_all
from sqlalchemy.orm import selectinload

from app.crypto import cipher
from app.errors import AppError
from app.extensions import db
from models.orders.tables import Order
from models.staff.abilities import readable_store_ids
from models.users import User, phone_tail_hashes

CHINA = ZoneInfo("Asia/Shanghai")
MAX_RANGE_DAYS = 366
# How much later than its created_at an order's row can be inserted (it is computed in the
# same request, before the INSERT that takes its id), plus any skew between the clocks of
# the app servers: `id_bounds` widens the range by this much on either side, so it never
# cuts off an order of the range. Rows in the margin are read and dropped by created_at.
INSERT_SLACK = timedelta(hours=1)

_TAIL = re.compile(r"^\d{4}$")
_MAINLAND = re.compile(r"^(?:\+?86)?(1\d{10})$")
_FOREIGN = re.compile(r"^\+\d{6,20}$")
_SEPARATORS = re.compile(r"[\s-]")


class DateRangeInvalid(AppError):
    status, code, message = 400, "invalid_date_range", "The date range is not valid."


class SearchInvalid(AppError):
    status, code, message = (400, "invalid_search",
                             "Search by an order number, a whole phone number or its last 4 digits.")


@dataclass(frozen=True)
class Search:
    kind: str    # order_no | phone | tail
    value: str


def parse_search(text: str) -> Search:
    """What a staff member typed: 4 digits are a phone's tail, a phone number (11 digits
    from 1, optionally +86; or + and a foreign number, as WeChat gives it) is a whole
    phone, anything else an order number. Other runs of digits are refused: they are no
    order number (those start with TH) and no phone."""
    compact = _SEPARATORS.sub("", text.strip())
    if _TAIL.match(compact):
        return Search("tail", compact)
    if mainland := _MAINLAND.match(compact):
        return Search("phone", mainland.group(1))
    if _FOREIGN.match(compact):
        return Search("phone", compact)
    digits = compact.lstrip("+")
    if not digits or digits.isdigit():
        raise SearchInvalid(details={"field": "q"})
    return Search("order_no", compact.upper())


def day_bounds(created_from: date | None, created_to: date | None) -> tuple[datetime | None, datetime | None]:
    """Asia/Shanghai calendar days, both inclusive → [start, end) in UTC. 400
    `invalid_date_range` when from is after to, or the range is over MAX_RANGE_DAYS."""
    if created_from and created_to:
        if created_from > created_to:
            raise DateRangeInvalid("The start date is after the end date.",
                                   details={"created_from": created_from.isoformat(),
                                            "created_to": created_to.isoformat()})
        days = (created_to - created_from).days + 1
        if days > MAX_RANGE_DAYS:
            raise DateRangeInvalid("At most {days} days at once.", params={"days": MAX_RANGE_DAYS},
                                   details={"max_days": MAX_RANGE_DAYS})

    def utc_midnight(day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=CHINA).astimezone(timezone.utc)

    return (utc_midnight(created_from) if created_from else None,
            utc_midnight(created_to + timedelta(days=1)) if created_to else None)


def id_bounds(start: datetime | None, end: datetime | None) -> tuple[int | None, int | None]:
    """Ids that bracket every order created in [start, end): (lowest, highest), None where
    unbounded. Ids grow in the order rows are inserted, and a row is inserted at most
    INSERT_SLACK after its created_at; so an order created before start − slack has a
    smaller id than any order of the range, and one created at end + slack or later a
    larger one. Each bound is the nearest such order: one index entry read."""
    lo = hi = None
    if start is not None:
        before = db.session.scalar(select(Order.id).where(Order.created_at < start - INSERT_SLACK)
                                   .order_by(Order.created_at.desc()).limit(1))
        lo = before + 1 if before is not None else None
    if end is not None:
        after = db.session.scalar(select(Order.id).where(Order.created_at >= end + INSERT_SLACK)
                                  .order_by(Order.created_at).limit(1))
        hi = after - 1 if after is not None else None
    return lo, hi


def staff_orders(staff, *, store_id: int | None = None, status: str | None = None,
                 fulfillment: str | None = None, created_from: date | None = None,
                 created_to: date | None = None, q: str | None = None, cursor: int | None = None,
                 limit: int = 20, priority: bool | None = None) -> list[Order]:
    """The orders of the stores whose lists the member reads (admins and analysts: every
    store), or of the one store asked for (403 if not theirs), that match every filter
    given; newest first, at most `limit`, older than `cursor`."""
    store_ids = readable_store_ids(staff, store_id)
    search = parse_search(q) if q else None
    start, end = day_bounds(created_from, created_to)
    where = []
    if search is not None:
        where.append(_matching(search))
    if status:
        where.append(Order.status == status)
    if fulfillment:
        where.append(Order.fulfillment == fulfillment)
    if priority is not None:  # read on the store's (status) index walk: a paid queue is short
        where.append(Order.priority.is_(priority))
    lo, hi = id_bounds(start, end)
    if start is not None:
        where.append(Order.created_at >= start)
    if end is not None:
        where.append(Order.created_at < end)
    if lo is not None:
        where.append(Order.id >= lo)
    if hi is not None:
        where.append(Order.id <= hi)
    if cursor:
        where.append(Order.id < cursor)
    if store_ids is not None and not store_ids:
        return []
    if search is not None:  # a number or a phone: a handful of rows, found through users or the number
        if store_ids is not None:
            where.append(Order.store_id.in_(store_ids))
        return _load(select(Order).where(*where).order_by(Order.id.desc()).limit(limit))
    if store_ids is not None and len(store_ids) > 1:
        return _newest_of_each(store_ids, where, limit, by_status=bool(status))
    if store_ids is not None:
        where.append(Order.store_id == store_ids[0])
    query = select(Order).where(*where).order_by(Order.id.desc()).limit(limit)
    return _load(_walk(query, store=store_ids is not None, by_status=bool(status)))


def _walk(query, *, store: bool, by_status: bool):
    """The index a list walks, newest first, from the cursor or the range's upper id. Told,
    because MariaDB's own choice was worse: for a store and a status it intersected the
    store's and the status's indexes and sorted every match (150 ms on 300k orders), and
    with an id range it read the index from the store's newest row down to the range.
    Every store's list with no status walks the primary key (no hint needed)."""
    if store:
        index = "ix_orders_store_id_status_id" if by_status else "ix_orders_store_id_id"
    elif by_status:
        index = "ix_orders_status_id"
    else:
        return query
    return query.with_hint(Order, f"FORCE INDEX ({index})", dialect_name="mysql")


def _load(query) -> list[Order]:
    return list(db.session.scalars(query.options(selectinload(Order.items))))


def _matching(search: Search):
    if search.kind == "order_no":
        return Order.order_no == search.value
    column, digests = ((User.phone_hash, cipher().lookup_hashes(search.value)) if search.kind == "phone"
                       else (User.phone_tail_hash, phone_tail_hashes(search.value)))
    return Order.user_id.in_(select(User.id).where(column.in_(digests)))


def _newest_of_each(store_ids: list[int], where: list, limit: int, *, by_status: bool) -> list[Order]:
    """The newest `limit` orders of several stores: each store's newest `limit` by its own
    index, then the newest of those (an IN over the stores would sort all their rows)."""
    branches = [_walk(select(Order.id).where(Order.store_id == sid, *where).order_by(Order.id.desc())
                      .limit(limit), store=True, by_status=by_status).subquery()
                for sid in sorted(store_ids)]
    ids = union_all(*[select(b.c.id) for b in branches]).subquery()
    newest = select(ids.c.id).order_by(ids.c.id.desc()).limit(limit).subquery()
    return _load(select(Order).join(newest, Order.id == newest.c.id).order_by(Order.id.desc()))
