"""Reports for a date range and a set of stores: `daily` (the figures per day and store)
and `flow` (time in each step, bottlenecks, the funnel). Days that have been built come
from the rollup rows (one indexed read, however long the history); the rest — today, and
any past day not built yet — from the raw tables for that day only. So a report costs the
days it shows; at 10^6 orders as at 10^4. Every read here may go to the read replica
(ANALYTICS_DATABASE_URL, app.db.replica_reads): a report can be a moment behind."""
from __future__ import annotations

import functools
from datetime import date, datetime, timedelta

from sqlalchemy import case, func, select

from app.db import replica_reads
from app.errors import InvalidRequest
from app.extensions import db
from models.analytics import bottlenecks, calendar, customers as customer_scores, stockouts
from models.analytics.flow import FUNNEL
from models.analytics.figures import FIELDS, add, blank, derived, of_day
from models.analytics.products import SKU_FIELDS, of_day as sku_of_day
from models.analytics.tables import Customer, RollupDay, SkuDay, StoreDay
from models.catalog import Product, Sku
from models.base import utcnow

MAX_DAYS = 366


def _on_replica(report):
    @functools.wraps(report)
    def reading_the_replica(*args, **kwargs):
        with replica_reads():
            return report(*args, **kwargs)
    return reading_the_replica


def _sums(group_by):
    return select(group_by, *(func.sum(getattr(StoreDay, name)) for name in FIELDS)).group_by(group_by)


def _figures(first: date, last: date, store_ids: list[int] | None, today: date):
    """({day: figures}, {store_id: figures}) over [first, last] for the stores."""
    by_day = {day: blank() for day in calendar.days(first, last)}
    by_store: dict[int, dict] = {}
    built = set(db.session.scalars(select(RollupDay.day).where(
        RollupDay.day.between(first, last), RollupDay.day < today)))
    if built:
        scope = [StoreDay.day.in_(built)] if len(built) < len(by_day) else [StoreDay.day.between(first, last)]
        if store_ids is not None:
            scope.append(StoreDay.store_id.in_(store_ids or [-1]))
        for key, target in ((StoreDay.day, "day"), (StoreDay.store_id, "store")):
            for row in db.session.execute(_sums(key).where(*scope)):
                sums = {name: int(value or 0) for name, value in zip(FIELDS, row[1:])}
                if target == "day":
                    add(by_day[row[0]], sums)
                else:
                    add(by_store.setdefault(row[0], blank()), sums)
    for day in by_day:
        if day in built or day > today:
            continue
        for store_id, figures in of_day(day, store_ids).items():
            add(by_day[day], figures)
            add(by_store.setdefault(store_id, blank()), figures)
    return by_day, by_store


def _total(by_day: dict) -> dict:
    total = blank()
    for figures in by_day.values():
        add(total, figures)
    return total


def _check(first: date, last: date) -> None:
    if first > last:
        raise InvalidRequest("The range ends before it starts.", details={"from": str(first), "to": str(last)})
    if (last - first).days >= MAX_DAYS:
        raise InvalidRequest("A range is at most 366 days.", details={"from": str(first), "to": str(last)})


@_on_replica
def daily(store_ids: list[int] | None, first: date, last: date, now: datetime | None = None) -> dict:
    """The range's figures per day and per store, their total, and the total of the
    period of the same length just before it (for "compared with the previous period")."""
    _check(first, last)
    now = now or utcnow()
    today = calendar.today(now)
    by_day, by_store = _figures(first, last, store_ids, today)
    length = timedelta(days=(last - first).days + 1)
    before_first, before_last = first - length, first - timedelta(days=1)
    before, _ = _figures(before_first, before_last, store_ids, today)
    return {
        "from": first, "to": last, "as_of": now,
        "totals": derived(_total(by_day)),
        "by_day": [{"day": day, **derived(figures)} for day, figures in by_day.items()],
        "by_store": [{"store_id": sid, **derived(by_store[sid])} for sid in sorted(by_store)],
        "previous": {"from": before_first, "to": before_last, "totals": derived(_total(before))},
    }


@_on_replica
def flow(store_ids: list[int] | None, first: date, last: date, now: datetime | None = None) -> dict:
    """Time in each step (p50 / p90, bottlenecks flagged) and the funnel of the orders
    placed in the range, over all the stores and per store."""
    _check(first, last)
    now = now or utcnow()
    today = calendar.today(now)
    per_store = bottlenecks.funnels(first, last, store_ids, today)
    totals = dict.fromkeys(FUNNEL, 0)
    for f in per_store.values():
        for name in FUNNEL:
            totals[name] += f[name]
    return {
        "from": first, "to": last, "as_of": now,
        "steps": bottlenecks.steps(first, last, store_ids, today),
        "funnel": {"totals": totals, "by_store": [{"store_id": sid, **per_store[sid]} for sid in sorted(per_store)]},
    }


PRODUCT_SORTS = ("units", "gmv_fen", "refund_rate", "closed_s")


@_on_replica
def products(store_ids: list[int] | None, first: date, last: date, *, sort: str = "units", limit: int = 50,
             now: datetime | None = None) -> dict:
    """SKUs ranked by units, GMV, refund rate (refunded ÷ GMV, per mille) or hours closed
    for online ordering, with their stock alerts, over the range and the stores."""
    _check(first, last)
    now = now or utcnow()
    today = calendar.today(now)
    built = set(db.session.scalars(select(RollupDay.day).where(RollupDay.day.between(first, last),
                                                               RollupDay.day < today)))
    rows: dict[int, dict] = {}

    def add(sku_id: int, f) -> None:
        into = rows.setdefault(sku_id, dict.fromkeys(SKU_FIELDS, 0))
        for name in SKU_FIELDS:
            into[name] += int(f[name] or 0)

    if built:
        query = (select(SkuDay.sku_id, *(func.sum(getattr(SkuDay, n)).label(n) for n in SKU_FIELDS))
                 .where(SkuDay.day.between(first, last), SkuDay.day.in_(built)).group_by(SkuDay.sku_id))
        if store_ids is not None:
            query = query.where(SkuDay.store_id.in_(store_ids or [-1]))
        for row in db.session.execute(query):
            add(row.sku_id, row._mapping)
    for day in calendar.days(first, min(last, today)):
        if day not in built:
            for (_, sku_id), f in sku_of_day(day, store_ids).items():
                add(sku_id, f)
    for (_, sku_id), c in stockouts.closures(first, last, store_ids, now).items():
        into = rows.setdefault(sku_id, dict.fromkeys(SKU_FIELDS, 0))
        into["closed_s"] = into.get("closed_s", 0) + c["closed_s"]
        into["alerts"] = into.get("alerts", 0) + c["alerts"]
    for f in rows.values():
        f.setdefault("closed_s", 0)
        f.setdefault("alerts", 0)
        f["refund_rate"] = f["refunded_fen"] * 1000 // f["gmv_fen"] if f["gmv_fen"] else 0
    ranked = sorted(rows.items(), key=lambda kv: (-kv[1][sort], kv[0]))[:limit]
    names = {sku.id: sku for sku in db.session.scalars(select(Sku).where(Sku.id.in_([k for k, _ in ranked] or [-1])))}
    products_ = {p.id: p for p in db.session.scalars(select(Product).where(
        Product.id.in_({s.product_id for s in names.values()} or {-1})))}
    return {"from": first, "to": last, "as_of": now, "sort": sort, "items": [
        {"sku_id": sku_id, "name": products_[names[sku_id].product_id].name if sku_id in names else None,
         "spec": names[sku_id].spec if sku_id in names else None, **f} for sku_id, f in ranked]}



def _holding(row) -> dict:
    """How a group's stock is held: uncollected order units, and goods left on cards."""
    return {"units_held": int(row.held or 0) if row else 0, "card_units_held": int(row.card_held or 0) if row else 0}


@_on_replica
def customers(store_ids: list[int] | None) -> dict:
    """The nightly customer scores: per scope (0: every store, else a store of the member's),
    customers and what they paid per segment, how many of them a message can reach, pickup
    styles, and the repeat-purchase rate of each first-order month."""
    scopes = [customer_scores.ALL_STORES] if store_ids is None else sorted(store_ids)
    out = []
    for scope in scopes:
        where = Customer.store_id == scope
        segments = {row.segment: row for row in db.session.execute(
            select(Customer.segment, func.count().label("customers"), func.sum(Customer.monetary_fen).label("fen"),
                   func.sum(case((Customer.reachable.is_(True), 1), else_=0)).label("reachable"),
                   func.sum(Customer.units_held).label("held"), func.sum(Customer.card_units_held).label("card_held"))
            .where(where).group_by(Customer.segment))}
        styles = {row.pickup_style: row for row in db.session.execute(
            select(Customer.pickup_style, func.count().label("customers"),
                   func.sum(Customer.pickup_orders).label("orders"), func.sum(Customer.visits).label("visits"),
                   func.sum(Customer.units_held).label("held"), func.sum(Customer.card_units_held).label("card_held"))
            .where(where).group_by(Customer.pickup_style))}
        cohorts: dict[str, list[int]] = {}
        for first, orders in db.session.execute(select(Customer.first_order_at, Customer.orders).where(where)):
            month = first.astimezone(calendar.CHINA).strftime("%Y-%m")
            counts = cohorts.setdefault(month, [0, 0])
            counts[0] += 1
            counts[1] += orders >= 2
        out.append({
            "store_id": scope,
            "computed_at": db.session.scalar(select(func.max(Customer.computed_at)).where(where)),
            "segments": [{"segment": name, "customers": int(segments[name].customers) if name in segments else 0,
                          "monetary_fen": int(segments[name].fen or 0) if name in segments else 0,
                          "reachable": int(segments[name].reachable or 0) if name in segments else 0,
                          **_holding(segments.get(name))}
                         for name in customer_scores.SEGMENTS],
            "pickup_styles": [{"style": name, "customers": int(styles[name].customers) if name in styles else 0,
                               "pickup_orders": int(styles[name].orders or 0) if name in styles else 0,
                               "visits": int(styles[name].visits or 0) if name in styles else 0,
                               **_holding(styles.get(name))}
                              for name in customer_scores.STYLES],
            "cohorts": [{"month": month, "customers": c[0], "repeat": c[1], "repeat_rate": c[1] * 1000 // c[0]}
                        for month, c in sorted(cohorts.items())],
        })
    return {"scopes": out}
