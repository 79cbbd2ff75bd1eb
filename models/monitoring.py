"""What /metrics reads from the database at scrape time: the figures behind the alerts of
deploy/prometheus/tihuo-alerts.yml (docs/operations.md, "What to watch").

Each is one statement on an index range — a count of a status's rows, or the first row
of one — so a scrape costs a few index reads however large the history grows
(tests/models/test_monitoring.py EXPLAINs them on MariaDB). They are read where /metrics
is answered rather than kept in the workers: with several gunicorn workers
(PROMETHEUS_MULTIPROC_DIR), a gauge set by one worker would be one of several stale
copies; a count read now is the same whichever worker answers.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from app.extensions import db
from models.base import utcnow
from models.orders.status import Status
from models.orders.tables import Order
from models.outbox.tables import OutboxMessage
from models.payments.tables import ReconciliationReport


@dataclass(frozen=True)
class Gauge:
    name: str
    help: str
    value: float
    labels: dict[str, str] | None = None


def gauges(now: datetime | None = None) -> list[Gauge]:
    """The figures, read on a connection of their own (never the request's session: a
    failed read here must not poison the request's transaction)."""
    now = now or utcnow()
    soon = timedelta(hours=current_app.config["PICKUP_REMINDER_HOURS"] or 6)
    ready = Status.ready_for_pickup.value
    with db.engine.connect() as conn:
        def count(*where) -> int:
            return conn.execute(select(func.count()).select_from(OutboxMessage).where(*where)).scalar_one()

        figures = [Gauge("tihuo_outbox_messages", "Outbox rows waiting to be delivered or failed, by status",
                         count(OutboxMessage.status == status), {"status": status})
                   for status in ("pending", "sending", "failed")]
        oldest = [conn.execute(select(OutboxMessage.created_at).where(OutboxMessage.status == status)
                               .order_by(OutboxMessage.id).limit(1)).scalar()
                  for status in ("pending", "sending")]
        oldest = [at for at in oldest if at is not None]
        figures.append(Gauge("tihuo_outbox_oldest_waiting_seconds",
                             "Age of the oldest outbox row not yet delivered (0 when none waits)",
                             max(0.0, (now - min(oldest)).total_seconds()) if oldest else 0.0))

        def pickups(*where) -> int:
            return conn.execute(select(func.count()).select_from(Order)
                                .where(Order.status == ready, *where)).scalar_one()

        figures.append(Gauge("tihuo_pickups_expiring_soon",
                             "Ready pickups whose deadline falls within PICKUP_REMINDER_HOURS",
                             pickups(Order.pickup_deadline > now, Order.pickup_deadline <= now + soon)))
        figures.append(Gauge("tihuo_pickups_overdue",
                             "Ready pickups past their deadline and not yet expired (the pickup sweep is behind)",
                             pickups(Order.pickup_deadline <= now)))

        last = conn.execute(select(ReconciliationReport.bill_date, ReconciliationReport.differences,
                                   ReconciliationReport.created_at)
                            .order_by(ReconciliationReport.bill_date.desc(), ReconciliationReport.id.desc())
                            .limit(1)).first()
    figures.append(Gauge("tihuo_reconciliation_differences",
                         "Differences the latest reconciliation against the WeChat Pay bill found",
                         len(last.differences or []) if last else 0))
    # A run that fails (the bill cannot be fetched or read) writes no report: this stops
    # moving, and the alert on its age fires.
    figures.append(Gauge("tihuo_reconciliation_last_run_timestamp_seconds",
                         "When the latest reconciliation report was written (0: never)",
                         last.created_at.timestamp() if last else 0))
    return figures
