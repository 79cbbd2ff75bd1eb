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
from models.analytics import digest
from models.analytics import products
from models.analytics.figures import FIELDS, of_day
from models.analytics.flow import FUNNEL, durations_of_day, funnel_of_day
from models.analytics.tables import FunnelDay, RollupDay, SkuDay, StepDay, StoreDay
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


def _replace(model, day: date, rows: list[dict]) -> None:
    db.session.execute(delete(model).where(model.day == day))
    if rows:
        db.session.execute(insert(model), rows)


def build_day(day: date) -> int:
    """Replace the day's rows with what the raw tables say; the number of store rows."""
    marker = _lock_day(day)
    rows = [{"day": day, "store_id": store_id, **figures} for store_id, figures in of_day(day).items()]
    _replace(StoreDay, day, rows)
    _replace(StepDay, day, [{"day": day, "store_id": store_id, "step": step, "samples": sum(d.values()),
                             "digest": digest.to_json(d)}
                            for (store_id, step), d in sorted(durations_of_day(day).items())])
    _replace(FunnelDay, day, [{"day": day, "store_id": store_id, **f} for store_id, f in funnel_of_day(day).items()])
    _replace(SkuDay, day, [{"day": day, "store_id": store_id, "sku_id": sku_id, **f}
                           for (store_id, sku_id), f in sorted(products.of_day(day).items())])
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


def _stored(day: date) -> dict[int, dict]:
    """{store_id: {name: value}} of a built day: figures, funnel (funnel.<name>) and step
    digests (step.<step>: the digest as JSON)."""
    out: dict[int, dict] = {}
    for row in db.session.scalars(select(StoreDay).where(StoreDay.day == day)):
        out.setdefault(row.store_id, {}).update(row.figures())
    for row in db.session.scalars(select(FunnelDay).where(FunnelDay.day == day)):
        out.setdefault(row.store_id, {}).update({f"funnel.{k}": v for k, v in row.funnel().items()})
    for row in db.session.scalars(select(StepDay).where(StepDay.day == day)):
        out.setdefault(row.store_id, {})[f"step.{row.step}"] = {str(k): v for k, v in row.digest.items()}
    for row in db.session.scalars(select(SkuDay).where(SkuDay.day == day)):
        out.setdefault(row.store_id, {})[f"sku.{row.sku_id}"] = {k: getattr(row, k) for k in products.SKU_FIELDS}
    return out


def _actual(day: date) -> dict[int, dict]:
    out: dict[int, dict] = {}
    for store_id, figures in of_day(day).items():
        out.setdefault(store_id, {}).update(figures)
    for store_id, f in funnel_of_day(day).items():
        out.setdefault(store_id, {}).update({f"funnel.{k}": v for k, v in f.items()})
    for (store_id, step), d in durations_of_day(day).items():
        out.setdefault(store_id, {})[f"step.{step}"] = digest.to_json(d)
    for (store_id, sku_id), f in products.of_day(day).items():
        out.setdefault(store_id, {})[f"sku.{sku_id}"] = f
    return out


def _empty(name: str):
    return {} if name.startswith(("step.", "sku.")) else 0


def differences(first: date, last: date) -> list[dict]:
    """Built days of [first, last] whose rows differ from the raw tables: one entry per
    (day, store, figure) with the stored and the actual value. Unbuilt days are skipped."""
    if first > last or (last - first).days >= MAX_DAYS:
        raise InvalidRequest("A range is at most 366 days.", details={"from": str(first), "to": str(last)})
    built = db.session.scalars(select(RollupDay.day).where(RollupDay.day.between(first, last)).order_by(RollupDay.day))
    names = [*FIELDS, *(f"funnel.{k}" for k in FUNNEL)]
    out = []
    for day in list(built):
        stored, actual = _stored(day), _actual(day)
        for store_id in sorted(set(stored) | set(actual)):
            have, want = stored.get(store_id, {}), actual.get(store_id, {})
            steps = sorted(k for k in {*have, *want} if k.startswith(("step.", "sku.")))
            out.extend({"day": day.isoformat(), "store_id": store_id, "figure": name,
                        "stored": have.get(name, _empty(name)), "actual": want.get(name, _empty(name))}
                       for name in (*names, *steps) if have.get(name, _empty(name)) != want.get(name, _empty(name)))
    return out
