"""Building rollup days, idempotently: a day's rows are computed from the raw tables and
replace whatever was there, so building a day twice changes nothing and a late event (a
payment notified after midnight with yesterday's success time, a refund that succeeded
days after its order) is counted once its day is built again. The scheduled job rebuilds
a trailing window (`ANALYTICS_ROLLUP_DAYS`, default 7) every hour; `flask analytics
rollup` rebuilds any range; `flask analytics check` compares built days with the raw tables.

Only days that have ended are built: today is always computed live (reports.py).
The reads are plain consistent reads (no locking read of orders or events), so order
placement never waits on a rollup; two builds of one day queue on its RollupDay row.
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from app.errors import InvalidRequest
from app.extensions import db
from models.analytics import calendar
from models.analytics.figures import FIELDS, of_day
from models.analytics.tables import RollupDay, StoreDay
from models.base import utcnow

MAX_DAYS = 366


def _check_range(first: date, last: date) -> None:
    if first > last:
        raise InvalidRequest("The range ends before it starts.", details={"from": str(first), "to": str(last)})
    if last >= calendar.today():
        raise InvalidRequest("Only days that have ended can be built; today is computed live.",
                             details={"to": str(last)})
    if (last - first).days >= MAX_DAYS:
        raise InvalidRequest("A range is at most 366 days.", details={"from": str(first), "to": str(last)})


def _lock_day(day: date) -> RollupDay:
    """The day's marker row, locked for this transaction (created on first build)."""
    marker = db.session.scalars(select(RollupDay).where(RollupDay.day == day).with_for_update()).first()
    if marker is not None:
        return marker
    try:
        with db.session.begin_nested():
            db.session.add(RollupDay(day=day))
    except IntegrityError:  # another build created it first: wait for it, then go on
        pass
    return db.session.scalars(select(RollupDay).where(RollupDay.day == day).with_for_update()).one()


def build_day(day: date) -> int:
    """Replace the day's rows with what the raw tables say; the number of store rows."""
    marker = _lock_day(day)
    rows = [{"day": day, "store_id": store_id, **figures} for store_id, figures in of_day(day).items()]
    db.session.execute(delete(StoreDay).where(StoreDay.day == day))
    if rows:
        db.session.execute(insert(StoreDay), rows)
    marker.built_at = utcnow()
    return len(rows)


def build(first: date, last: date) -> dict:
    """Build every day of [first, last]; the caller commits (one transaction)."""
    _check_range(first, last)
    rows = sum(build_day(day) for day in calendar.days(first, last))
    return {"from": first.isoformat(), "to": last.isoformat(), "days": (last - first).days + 1, "rows": rows}


def build_trailing(window: int) -> dict:
    """The scheduled job: the `window` days before today."""
    yesterday = calendar.today() - timedelta(days=1)
    return build(yesterday - timedelta(days=window - 1), yesterday)


def differences(first: date, last: date) -> list[dict]:
    """Built days of [first, last] whose rows differ from the raw tables: one entry per
    (day, store, figure) with the stored and the actual value. Unbuilt days are skipped."""
    if first > last or (last - first).days >= MAX_DAYS:
        raise InvalidRequest("A range is at most 366 days.", details={"from": str(first), "to": str(last)})
    built = set(db.session.scalars(select(RollupDay.day).where(RollupDay.day.between(first, last))))
    stored: dict[tuple[date, int], dict] = {
        (row.day, row.store_id): row.figures()
        for row in db.session.scalars(select(StoreDay).where(StoreDay.day.between(first, last)))}
    out = []
    for day in sorted(built):
        actual = of_day(day)
        for store_id in sorted({sid for d, sid in stored if d == day} | set(actual)):
            have = stored.get((day, store_id), {})
            want = actual.get(store_id, {})
            out.extend({"day": day.isoformat(), "store_id": store_id, "figure": name,
                        "stored": have.get(name, 0), "actual": want.get(name, 0)}
                       for name in FIELDS if have.get(name, 0) != want.get(name, 0))
    return out
