"""The beat schedule: every periodic job in one list. Crontab times are Asia/Shanghai
(the Celery app's timezone). Frequent jobs expire after one interval, so a backlog
queued while workers were down runs once, not once per missed tick.

Each job is a safety net or a deadline keeper; none is needed for correctness on time
(deadlines are also checked when a record is read or acted on).
"""
from __future__ import annotations

from celery.schedules import crontab


def _every(seconds: float, task: str) -> dict:
    return {"task": task, "schedule": float(seconds), "options": {"expires": float(seconds)}}


def beat_schedule(cfg) -> dict:
    return {
        # Catch-up for outbox rows whose after-commit kick was lost, and retries now due.
        "outbox-dispatch": _every(cfg["OUTBOX_SWEEP_S"], "tihuo.outbox.dispatch"),
        # Partner webhooks now due (retries on their schedule; a lost kick).
        "partner-webhooks": _every(cfg["WEBHOOK_SWEEP_S"], "tihuo.partners.webhooks"),
        # Unpaid orders past their pay deadline (after asking WeChat Pay); old deliveries.
        "orders-sweep": _every(60, "tihuo.orders.sweep"),
        # After-sale deadlines: auto-approve or escalate, close, receive; reminders; exchanges done.
        "aftersales-sweep": _every(60, "tihuo.aftersales.sweep"),
        # Payments whose notify never came.
        "payments-query-pending": _every(60, "tihuo.pay.query_pending"),
        # Refunds still pending (resubmitted) or processing (asked about).
        "refunds-query": _every(300, "tihuo.pay.refunds"),
        # WeChat Pay complaints new since the newest we hold, and open ones not read for an hour.
        "complaints-pull": _every(600, "tihuo.complaints.pull"),
        # Pickup reminders (expiring soon) and expiry with refund.
        "pickup-sweep": _every(60, "tihuo.pickup.sweep"),
        # Flash-sale gates recounted from the database (nothing to do without flash sales).
        "flash-resync": _every(60, "tihuo.flash.resync"),
        # Card exports: results past CARD_EXPORT_TTL_S destroyed; stalled jobs started again.
        "card-exports-sweep": _every(300, "tihuo.cards.export_sweep"),
        # Exports: files past EXPORT_TTL_S deleted; stalled jobs started again.
        "exports-sweep": _every(300, "tihuo.exports.sweep"),
        # Parcels: poll those silent for a day, queue those without an event 48 h after
        # shipping, resubscribe those 快递100 stopped (pushes do the rest).
        "parcels-sweep": _every(900, "tihuo.parcels.sweep"),
        # Levels are evaluated with every stock change; this hourly pass only repairs drift.
        "stock-levels": {"task": "tihuo.stock.levels", "schedule": crontab(minute=17)},
        # Yesterday's WeChat Pay trade bill against our payments and refunds.
        "reconcile": {"task": "tihuo.pay.reconcile", "schedule": crontab(hour=20, minute=0)},
        # The analytics rollups of the last ANALYTICS_ROLLUP_DAYS days, rebuilt (today is live).
        "analytics-rollup": {"task": "tihuo.analytics.rollup", "schedule": crontab(minute=7)},
        # Customer scores (RFM, segments, pickup style) over ANALYTICS_RFM_DAYS, nightly.
        "analytics-customers": {"task": "tihuo.analytics.customers", "schedule": crontab(hour=4, minute=10)},
        # Idempotency keys of orders and pickup verifications past IDEMPOTENCY_RETENTION_DAYS.
        "idempotency-retention": {"task": "tihuo.idempotency.retention", "schedule": crontab(hour=3, minute=40)},
        # Audit rows older than AUDIT_RETENTION_DAYS.
        "audit-retention": {"task": "tihuo.audit.retention", "schedule": crontab(hour=3, minute=30)},
        # Coupons and points past their end (points end at a Shanghai midnight: 16:00 UTC).
        "growth-expire": {"task": "tihuo.growth.expire", "schedule": crontab(minute=5)},
        # Invitations: first orders found, referrals settled after 7 days, tiers granted once.
        "growth-invitations": {"task": "tihuo.growth.invitations", "schedule": crontab(minute=25)},
        # Campaigns: up to each one's per_run members rewarded a minute (the throttle).
        "growth-campaigns": _every(60, "tihuo.growth.campaigns"),
        # Member levels reviewed (down as well as up) on the 1st of the month, 03:15 Shanghai.
        "growth-levels-review": {"task": "tihuo.growth.levels_review",
                                 "schedule": crontab(day_of_month=1, hour=3, minute=15)},
        # Birthday coupons of the members whose birthday it is, at 00:20 Shanghai.
        "growth-birthdays": {"task": "tihuo.growth.birthdays", "schedule": crontab(hour=0, minute=20)},
    }
