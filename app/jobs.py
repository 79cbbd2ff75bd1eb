"""The Celery tasks, by name: each calls one domain operation (like a handler, for the
queue). The task class (app/celery_app.py) gives every run an app context and one
transaction. Domain code starts a task by its name (app.tasks.defer / start); this is the
one table of what those names run. The beat's schedule is app/schedule.py."""
from __future__ import annotations

from celery import Celery
from flask import current_app

from models import audit
from models.aftersales import deadlines as aftersale_deadlines
from models.analytics import bottlenecks, customers, rollup
from models.cards import exports as card_exports
from models.complaints import sync as complaint_sync
from models.exports import jobs as exports
from models.growth import campaigns, coupons, invitations, points
from models.growth import levels as member_levels
from models.orders import deadlines, placement
from models.outbox import dispatch
from models.outbox.enqueue import DISPATCH_TASK
from models.partners import delivery as webhook_delivery
from models.partners.webhooks import KICK_TASK as WEBHOOKS_TASK
from models.payments import checkout, reconcile, refunds, upstream
from models.pickup import expiry, replay
from models.shipments import sweep as parcels
from models.stock import flash_sale, levels


def register(celery: Celery) -> None:
    task = celery.task

    @task(name=DISPATCH_TASK)  # "tihuo.outbox.dispatch": kicked after commits, and swept by the beat
    def outbox_dispatch():
        return dispatch.dispatch_due()

    @task(name=WEBHOOKS_TASK)  # "tihuo.partners.webhooks": kicked after a fan-out, and swept by the beat
    def partner_webhooks():
        return webhook_delivery.dispatch_due()

    @task(name="tihuo.orders.sweep")
    def orders_sweep():
        return deadlines.sweep()

    @task(name="tihuo.aftersales.sweep")
    def aftersales_sweep():
        return aftersale_deadlines.sweep()

    @task(name="tihuo.pay.query_pending")
    def pay_query_pending():
        return upstream.query_pending()

    @task(name=refunds.SUBMIT_TASK)  # "tihuo.pay.submit_refund": after the refund's commit
    def pay_submit_refund(refund_id: int):
        return refunds.submit(refund_id)

    @task(name=checkout.CLOSE_TASK)  # "tihuo.pay.close": a prepay made for an order cancelled meanwhile
    def pay_close(order_no: str):
        return checkout.close_unpayable(order_no)

    @task(name="tihuo.pay.refunds")
    def pay_refunds():
        return refunds.query_unsettled()

    @task(name=complaint_sync.SYNC_TASK)  # "tihuo.complaints.sync": after a notification or an action
    def complaints_sync(complaint_id: str):
        return complaint_sync.sync(complaint_id)

    @task(name="tihuo.complaints.pull")
    def complaints_pull():
        return complaint_sync.pull()

    @task(name="tihuo.pay.reconcile")
    def pay_reconcile(bill_date: str | None = None):
        return reconcile.reconcile_day(bill_date)

    @task(name="tihuo.analytics.rollup")
    def analytics_rollup():
        built = rollup.build_trailing(current_app.config["ANALYTICS_ROLLUP_DAYS"])
        return {**built, "bottleneck_alerts": bottlenecks.alert_yesterday()}

    @task(name="tihuo.analytics.customers")
    def analytics_customers():
        return customers.build(current_app.config["ANALYTICS_RFM_DAYS"])

    @task(name="tihuo.idempotency.retention")
    def idempotency_retention():
        days = current_app.config["IDEMPOTENCY_RETENTION_DAYS"]
        return {"order_keys": placement.purge_keys(days), "verify_requests": replay.purge(days)}

    @task(name="tihuo.growth.expire")
    def growth_expire():
        return {"coupons": coupons.expire_due(), "points": points.expire_due(),
                "reminded": points.remind_expiring(within_days=current_app.config["POINTS_REMIND_DAYS"])}

    @task(name="tihuo.growth.campaigns")
    def growth_campaigns():
        return campaigns.send_due()

    @task(name="tihuo.growth.levels_review")
    def growth_levels_review():
        return member_levels.review()

    @task(name="tihuo.growth.invitations")
    def growth_invitations():
        return invitations.sweep()

    @task(name="tihuo.growth.birthdays")
    def growth_birthdays():
        return {"coupons": member_levels.birthday_coupons()}

    @task(name="tihuo.growth.visit")  # deferred by a pickup: the shopper's visit day, off the counter's path
    def growth_visit(user_id: int, at: str):
        from datetime import datetime

        from models.growth import streaks

        streaks.visit(user_id, datetime.fromisoformat(at))

    @task(name="tihuo.pickup.sweep")
    def pickup_sweep():
        return expiry.sweep()

    @task(name="tihuo.flash.resync")
    def flash_resync():
        return flash_sale.resync_all()

    @task(name="tihuo.stock.levels")
    def stock_levels():
        return levels.reevaluate_all()

    @task(name=card_exports.EXPORT_TASK)  # "tihuo.cards.export": after the export's start commits
    def cards_export(export_id: int):
        return card_exports.run(export_id)

    @task(name="tihuo.cards.export_sweep")
    def cards_export_sweep():
        return card_exports.sweep()

    @task(name=exports.EXPORT_TASK)  # "tihuo.exports.run": after the export's start commits
    def exports_run(export_id: int):
        return exports.run(export_id)

    @task(name="tihuo.exports.sweep")
    def exports_sweep():
        return exports.sweep()

    @task(name="tihuo.parcels.sweep")
    def parcels_sweep():
        return parcels.sweep()

    @task(name="tihuo.audit.retention")
    def audit_retention():
        return audit.purge_older_than(current_app.config["AUDIT_RETENTION_DAYS"])
