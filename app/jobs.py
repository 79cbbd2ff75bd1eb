"""The Celery tasks: each calls one domain operation (like a handler, for the queue).
The task class (app/celery_app.py) gives every run an app context and one transaction."""
from __future__ import annotations

import logging

from celery import Celery
from flask import current_app

log = logging.getLogger(__name__)


def register(celery: Celery) -> None:
    task = celery.task

    @task(name="tihuo.deferred")
    def deferred(target: str, args: list):
        """Work a committed transaction deferred (app.tasks.defer)."""
        from app.tasks import resolve

        return resolve(target)(*args)

    @task(name="tihuo.outbox.dispatch")
    def outbox_dispatch():
        from models.notifications.dispatch import dispatch_due

        return dispatch_due()

    @task(name="tihuo.orders.sweep")
    def orders_sweep():
        from models.orders.lifecycle import sweep

        return sweep()

    @task(name="tihuo.pay.query_pending")
    def pay_query_pending():
        from models.payments.upstream import query_pending

        return query_pending()

    @task(name="tihuo.pay.refunds")
    def pay_refunds():
        from models.payments.refunds import query_unsettled

        return query_unsettled()

    @task(name="tihuo.pay.reconcile")
    def pay_reconcile(bill_date: str | None = None):
        return reconcile_day(bill_date)

    @task(name="tihuo.pickup.sweep")
    def pickup_sweep():
        return pickup_expiry_sweep()

    @task(name="tihuo.flash.resync")
    def flash_resync():
        from models.flash_sale import resync_all

        return resync_all()

    @task(name="tihuo.stock.levels")
    def stock_levels():
        from models.stock_levels import reevaluate_all

        return reevaluate_all()

    @task(name="tihuo.audit.retention")
    def audit_retention():
        from models.audit import purge_older_than

        return purge_older_than(current_app.config["AUDIT_RETENTION_DAYS"])


def reconcile_day(bill_date: str | None = None) -> dict:
    """Reconcile one day (default: yesterday in China). A day without a bill (no payments
    that day) is nothing to reconcile, not a failure."""
    from datetime import date

    from app.extensions import db
    from models.payments.reconcile import default_bill_date, reconcile
    from wechat.pay.errors import WeChatPayError

    day = date.fromisoformat(bill_date) if bill_date else default_bill_date()
    try:
        report = reconcile(day)
    except WeChatPayError as exc:
        if exc.code == "NO_STATEMENT_EXIST":
            return {"bill_date": day.isoformat(), "status": "no_bill"}
        raise
    db.session.commit()
    if report.status != "ok":
        log.warning("reconciliation %s: %s difference(s) (report #%s)", day, len(report.differences), report.id)
    return {"bill_date": day.isoformat(), "status": report.status, "report_id": report.id}


def pickup_expiry_sweep() -> dict:
    from models.pickup import expiry

    return expiry.sweep()
