"""Time in each step, and the stores where a step is stuck.

For a range and a set of stores: each step's p50 / p90 (digest.py: within ±4.9 %), over
all and per store, from the step digests (rollups for built days, the raw tables for the
rest). A store's step is a bottleneck when, with at least MIN_SAMPLES samples, its p90 is
over FACTOR times
  - the median p90 of the stores (when at least three stores have MIN_SAMPLES), or
  - its own p90 over the BASELINE_DAYS before the range (with MIN_SAMPLES there too).
The hourly rollup job checks yesterday and alerts the store's managers and the admins
(official account, `bottleneck`), once per day, store and step (the outbox's dedupe key).
"""
from __future__ import annotations

import statistics
from datetime import date, timedelta

from sqlalchemy import select

from app.extensions import db
from models import outbox
from models.analytics import calendar, digest
from models.analytics.flow import FUNNEL, STEPS, durations_of_day, funnel_of_day
from models.analytics.tables import FunnelDay, RollupDay, StepDay
from models.outbox.tables import OutboxMessage

MIN_SAMPLES = 20
FACTOR = 2.0
BASELINE_DAYS = 28


def _built(first: date, last: date, today: date) -> set[date]:
    return set(db.session.scalars(select(RollupDay.day).where(RollupDay.day.between(first, last),
                                                              RollupDay.day < today)))


def step_digests(first: date, last: date, store_ids: list[int] | None, today: date) -> dict[tuple[int, str], dict]:
    built = _built(first, last, today)
    out: dict[tuple[int, str], dict] = {}
    if built:
        query = select(StepDay).where(StepDay.day.between(first, last), StepDay.day.in_(built))
        if store_ids is not None:
            query = query.where(StepDay.store_id.in_(store_ids or [-1]))
        for row in db.session.scalars(query):
            digest.merge(out.setdefault((row.store_id, row.step), {}), row.digest)
    for day in calendar.days(first, min(last, today)):
        if day not in built:
            for key, d in durations_of_day(day, store_ids).items():
                digest.merge(out.setdefault(key, {}), d)
    return out


def funnels(first: date, last: date, store_ids: list[int] | None, today: date) -> dict[int, dict[str, int]]:
    built = _built(first, last, today)
    out: dict[int, dict[str, int]] = {}

    def add(store_id: int, f: dict) -> None:
        into = out.setdefault(store_id, dict.fromkeys(FUNNEL, 0))
        for name in FUNNEL:
            into[name] += f[name]

    if built:
        query = select(FunnelDay).where(FunnelDay.day.between(first, last), FunnelDay.day.in_(built))
        if store_ids is not None:
            query = query.where(FunnelDay.store_id.in_(store_ids or [-1]))
        for row in db.session.scalars(query):
            add(row.store_id, row.funnel())
    for day in calendar.days(first, min(last, today)):
        if day not in built:
            for store_id, f in funnel_of_day(day, store_ids).items():
                add(store_id, f)
    return out


def _summary(d: dict) -> dict:
    return {"samples": sum(d.values()), "p50_s": digest.percentile(d, 0.5), "p90_s": digest.percentile(d, 0.9)}


def steps(first: date, last: date, store_ids: list[int] | None, today: date) -> list[dict]:
    """Per step: the overall summary and each store's, with its bottleneck flag."""
    now = step_digests(first, last, store_ids, today)
    before = step_digests(first - timedelta(days=BASELINE_DAYS), first - timedelta(days=1), store_ids, today)
    out = []
    for step in STEPS:
        stores = sorted(sid for sid, s in now if s == step)
        overall: dict = {}
        for sid in stores:
            digest.merge(overall, now[(sid, step)])
        rows = [{"store_id": sid, **_summary(now[(sid, step)])} for sid in stores]
        enough = [r["p90_s"] for r in rows if r["samples"] >= MIN_SAMPLES]
        median = statistics.median(enough) if len(enough) >= 3 else None
        for row in rows:
            past = _summary(before.get((row["store_id"], step), {}))
            row["usual_p90_s"] = past["p90_s"] if past["samples"] >= MIN_SAMPLES else None
            row["bottleneck"] = None
            if row["samples"] >= MIN_SAMPLES:
                if median is not None and row["p90_s"] > FACTOR * median:
                    row["bottleneck"] = "vs_stores"
                elif row["usual_p90_s"] is not None and row["p90_s"] > FACTOR * row["usual_p90_s"]:
                    row["bottleneck"] = "vs_own_past"
            if row["bottleneck"] == "vs_stores":
                row["usual_p90_s"] = round(median)
        out.append({"step": step, **_summary(overall), "by_store": rows})
    return out


def alert_yesterday() -> int:
    """Queue one staff alert per bottleneck of yesterday (once: the outbox dedupes)."""
    day = calendar.today() - timedelta(days=1)
    queued = 0
    for step in steps(day, day, None, calendar.today()):
        for row in step["by_store"]:
            key = f"bottleneck:{day.isoformat()}:{row['store_id']}:{step['step']}"
            # The job runs hourly: the unique dedupe key would refuse a second row, so look first.
            if row["bottleneck"] and not db.session.scalars(
                    select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)).first():
                outbox.enqueue("staff_alert", {
                    "event": "bottleneck", "store_id": row["store_id"], "day": day.isoformat(),
                    "step": step["step"], "p90_s": row["p90_s"], "usual_p90_s": row["usual_p90_s"],
                    "kind": row["bottleneck"]},
                    dedupe_key=key)
                queued += 1
    return queued
