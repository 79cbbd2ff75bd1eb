"""Background work: the beat schedule, the jobs it runs, deferring to a worker after
commit (never on rollback), and the in-process runner of the embedded default."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from celery.schedules import crontab
from sqlalchemy import select, update

from app.tasks import pending
from app import create_app
from app.extensions import db
from models import outbox
from models.audit import AuditLog, purge_older_than
from models.base import utcnow
from models.outbox.tables import OutboxMessage
from tests.models.notifications.test_subscribe import enqueue

UTC = timezone.utc


def test_the_beat_schedule(app):
    celery = app.extensions["celery"]
    schedule = celery.conf.beat_schedule
    assert {name: entry["task"] for name, entry in schedule.items()} == {
        "outbox-dispatch": "tihuo.outbox.dispatch", "partner-webhooks": "tihuo.partners.webhooks",
        "orders-sweep": "tihuo.orders.sweep",
        "payments-query-pending": "tihuo.pay.query_pending", "refunds-query": "tihuo.pay.refunds",
        "pickup-sweep": "tihuo.pickup.sweep", "flash-resync": "tihuo.flash.resync",
        "stock-levels": "tihuo.stock.levels", "reconcile": "tihuo.pay.reconcile",
        "analytics-rollup": "tihuo.analytics.rollup", "analytics-customers": "tihuo.analytics.customers",
        "idempotency-retention": "tihuo.idempotency.retention",
        "audit-retention": "tihuo.audit.retention", "card-exports-sweep": "tihuo.cards.export_sweep",
        "exports-sweep": "tihuo.exports.sweep", "growth-expire": "tihuo.growth.expire",
        "growth-invitations": "tihuo.growth.invitations", "complaints-pull": "tihuo.complaints.pull",
        "aftersales-sweep": "tihuo.aftersales.sweep", "growth-campaigns": "tihuo.growth.campaigns",
        "growth-levels-review": "tihuo.growth.levels_review",
        "growth-birthdays": "tihuo.growth.birthdays",
        "parcels-sweep": "tihuo.parcels.sweep"}
    assert all(entry["task"] in celery.tasks for entry in schedule.values())
    every = {name: entry["schedule"] for name, entry in schedule.items() if isinstance(entry["schedule"], float)}
    assert every == {"outbox-dispatch": 30.0, "partner-webhooks": 30.0, "orders-sweep": 60.0, "payments-query-pending": 60.0,
                     "refunds-query": 300.0, "pickup-sweep": 60.0, "flash-resync": 60.0,
                     "card-exports-sweep": 300.0, "exports-sweep": 300.0, "complaints-pull": 600.0,
                     "aftersales-sweep": 60.0, "growth-campaigns": 60.0, "parcels-sweep": 900.0}
    # A backlog after an outage runs once: frequent jobs expire after one interval.
    assert all(schedule[name]["options"]["expires"] == s for name, s in every.items())
    assert celery.conf.timezone == "Asia/Shanghai"
    assert (schedule["stock-levels"]["schedule"].minute, schedule["stock-levels"]["schedule"].hour) == (
        ({17}, set(range(24))))
    assert (schedule["audit-retention"]["schedule"].hour, schedule["audit-retention"]["schedule"].minute) == (
        ({3}, {30}))


@pytest.mark.parametrize("now_utc, due", [
    (datetime(2024, 5, 1, 12, 0, 30, tzinfo=UTC), True),    # 20:00:30 in Shanghai
    (datetime(2024, 5, 1, 11, 59, 0, tzinfo=UTC), False),   # 19:59 in Shanghai
])
def test_reconciliation_runs_at_20_00_shanghai(app, now_utc, due):
    from zoneinfo import ZoneInfo

    celery = app.extensions["celery"]
    china = ZoneInfo("Asia/Shanghai")
    assert celery.now().utcoffset() == timedelta(hours=8)  # what beat stamps last runs with
    entry = celery.conf.beat_schedule["reconcile"]["schedule"]
    clock = crontab(minute=entry._orig_minute, hour=entry._orig_hour, app=celery,
                    nowfun=lambda: now_utc.astimezone(china))
    last_run = datetime(2024, 4, 30, 20, 0, 30, tzinfo=china)  # yesterday's run
    assert clock.is_due(last_run)[0] is due


def test_reconcile_job_defaults_to_yesterday_and_a_day_without_bill_is_fine(app):
    from models.payments.reconcile import default_bill_date, reconcile_day

    with app.app_context():
        assert reconcile_day() == {"bill_date": default_bill_date().isoformat(), "status": "no_bill"}


def test_audit_retention_deletes_only_old_rows_in_batches(app):
    now = utcnow()
    with app.app_context():
        for days in (400, 200, 181, 179, 1):
            db.session.add(AuditLog(at=now - timedelta(days=days), actor_type="system", action="t",
                                    target_type="test", target_id=str(days), changes={}))
        db.session.commit()
        assert purge_older_than(180, batch=2) == 3
        assert sorted(db.session.scalars(select(AuditLog.target_id))) == ["1", "179"]
    app.config["AUDIT_RETENTION_DAYS"] = 100
    try:
        assert app.extensions["celery"].tasks["tihuo.audit.retention"].apply().result == 1
    finally:
        app.config["AUDIT_RETENTION_DAYS"] = 180


def test_stock_levels_safety_net_repairs_only_drift(app):
    from models.stock.tables import Inventory, StockLevelEvent
    from models.stock.levels import reevaluate_all
    from tests.factories import make_product, make_store, stock

    with app.app_context():
        store = make_store()
        sku = make_product().skus[0]
        stock(store, sku, 100, baseline=100)
        assert reevaluate_all() == 0
        # A counter changed behind the model layer's back (a manual fix in the database).
        db.session.execute(update(Inventory).values(on_hand=3))
        db.session.commit()
        assert reevaluate_all(batch=1) == 1
        inv = db.session.scalars(select(Inventory)).one()
        assert (inv.level, inv.online) == ("closed", False)
        assert db.session.scalars(select(StockLevelEvent.to_level).order_by(StockLevelEvent.id.desc())).first() == "closed"
        assert reevaluate_all() == 0


def test_pickup_sweep_job_runs_the_pickup_sweep(app, monkeypatch):
    from models.pickup import expiry

    calls = []
    real = expiry.sweep
    monkeypatch.setattr(expiry, "sweep", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    pickup_expiry_sweep = app.extensions["celery"].tasks["tihuo.pickup.sweep"].apply
    assert pickup_expiry_sweep().result == {"expired": 0, "reminded": 0}  # nothing due
    assert calls == [1]


def test_every_scheduled_job_runs_on_an_empty_shop(app):
    """Each task of the beat runs to the end with nothing to do: a job wired to the wrong
    function (the member-level review once called the stock levels' module) fails here."""
    from app.schedule import beat_schedule

    tasks = app.extensions["celery"].tasks
    for name, entry in beat_schedule(app.config).items():
        result = tasks[entry["task"]].apply()
        assert result.successful(), (name, result.result)


def test_scheduled_jobs_run_from_the_command_line(app):
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["jobs", "list"])
    assert listed.exit_code == 0 and "tihuo.pay.reconcile" in listed.output
    ran = runner.invoke(args=["jobs", "run", "outbox-dispatch"])
    assert ran.exit_code == 0 and "tihuo.outbox.dispatch: {}" in ran.output
    assert runner.invoke(args=["jobs", "run", "celery.backend_cleanup"]).exit_code != 0
    assert runner.invoke(args=["jobs", "run", "nope"]).exit_code != 0


# --- in process: the embedded default ------------------------------------------------------

def test_in_process_beat_runs_what_is_due_once(app):
    from app.celery_app import InProcessBeat

    beat = InProcessBeat(app)
    assert beat.tick() <= 30  # nothing due yet: the next entry is within the sweep interval
    first = enqueue(app, {"event": "order_paid", "order_id": 999999})
    beat.entries["outbox-dispatch"].last_run_at = utcnow() - timedelta(minutes=5)
    wait = beat.tick()
    with app.app_context():
        assert db.session.get(OutboxMessage, first).status == "failed"  # the order is gone
    assert 25 <= wait <= 30
    second = enqueue(app, {"event": "order_paid", "order_id": 999998})
    beat.tick()  # ran a moment ago: not again yet
    with app.app_context():
        assert db.session.get(OutboxMessage, second).status == "pending"


# --- with a worker: deferred work goes to the queue after commit ---------------------------

@pytest.fixture
def worker_mode_app(settings, app):
    """The app as a web process with a Celery worker configured (the broker is in memory;
    what would be sent is captured)."""
    other = create_app(settings.model_copy(update={"TASKS_IN_PROCESS": False,
                                                     "CELERY_BROKER_URL": "memory://"}))
    sent = []
    other.extensions["celery"].send_task = lambda name, args: sent.append((name, args))
    yield other, sent
    with other.app_context():
        db.engine.dispose()


def test_with_a_worker_deferred_work_is_sent_after_commit_only(worker_mode_app):
    from app.tasks import defer
    from models.payments import refunds

    other, sent = worker_mode_app
    with other.app_context():
        outbox.enqueue("staff_alert", {"event": "x"})
        outbox.enqueue("staff_alert", {"event": "y"})
        assert sent == []  # nothing before the commit
        db.session.commit()
        assert sent == [("tihuo.outbox.dispatch", [])]
        outbox.enqueue("staff_alert", {"event": "z"})
        defer(refunds.SUBMIT_TASK, 7)
        db.session.rollback()
        assert len(sent) == 1  # rolled back: nothing sent
        defer(refunds.SUBMIT_TASK, 7)
        db.session.commit()
        assert sent[-1] == ("tihuo.pay.submit_refund", [7])
    assert not pending(other)  # nothing ran in this process


def test_only_tasks_of_the_job_table_can_be_started(worker_mode_app):
    """Work is started by task name; a name never resolves to any other code."""
    from app.tasks import defer, start

    other, sent = worker_mode_app
    tasks = other.extensions["celery"].tasks
    assert "tihuo.deferred" not in tasks  # no generic task that runs a function named in a string
    assert tasks["tihuo.outbox.dispatch"].apply().result == {}
    with other.app_context():
        for bad in ("os:system", "models.staff:create_staff", "tihuo.nope", "celery.backend_cleanup"):
            with pytest.raises(LookupError):
                defer(bad)
            with pytest.raises(LookupError):
                start(bad)
    assert sent == []


def test_a_task_is_one_transaction(worker_mode_app):
    """Committed when the task returns, rolled back when it raises."""
    other, _ = worker_mode_app
    celery = other.extensions["celery"]

    @celery.task(name="tihuo.test.write")
    def write(fail: bool):
        db.session.add(AuditLog(actor_type="system", action="task", target_type="test", changes={}))
        db.session.flush()
        if fail:
            raise RuntimeError("halfway")
        return "ok"

    assert write.apply(args=[True]).failed()
    assert write.apply(args=[False]).result == "ok"
    with other.app_context():
        assert db.session.scalars(select(AuditLog.action)).all() == ["task"]


def test_settings_for_background_work(monkeypatch):
    from app.config import ConfigError, Settings
    from tests.app.test_config import PROD

    for name in ("APP_ENV", "REDIS_URL", "CELERY_BROKER_URL", "TASKS_IN_PROCESS"):
        monkeypatch.delenv(name, raising=False)

    embedded = Settings(_env_file=None)
    assert embedded.TASKS_IN_PROCESS is True and embedded.CELERY_BROKER_URL is None
    with_redis = Settings(_env_file=None, REDIS_URL="redis://127.0.0.1:6379/3")
    assert with_redis.TASKS_IN_PROCESS is True  # no worker asked for: still in process
    worker = Settings(_env_file=None, CELERY_BROKER_URL="redis://127.0.0.1:6379/4")
    assert worker.TASKS_IN_PROCESS is False
    prod = Settings(_env_file=None, **PROD)
    assert prod.TASKS_IN_PROCESS is False and prod.CELERY_BROKER_URL == PROD["REDIS_URL"]
    with pytest.raises(ConfigError, match="Celery"):
        Settings(_env_file=None, **PROD, TASKS_IN_PROCESS=True)
    with pytest.raises(ConfigError, match="CELERY_BROKER_URL"):
        Settings(_env_file=None, TASKS_IN_PROCESS=False)


def test_work_deferred_outside_a_request_belongs_to_its_thread(app):
    """A command's deferred work is run by that command; a server thread running its own
    after-response work (run_deferred) must not take it."""
    import threading

    from app.tasks import defer, run_deferred
    from models.payments import refunds

    ran = []
    with app.app_context():
        defer(refunds.SUBMIT_TASK, 424242)
        db.session.commit()
        mine = list(pending(app))
    assert [args for _, args in mine] == [(424242,)]

    def other_thread():
        with app.app_context():
            ran.append(list(pending(app)))
            run_deferred()  # nothing of ours to run here
    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert ran == [[]] and [args for _, args in pending(app)] == [(424242,)]
    pending(app).clear()


def test_idempotency_retention_keeps_recent_keys(app, client, ctx):
    from datetime import timedelta

    from app.db import purge_before
    from models.orders.tables import IdempotencyKey
    from models.users import User

    user = User(openid="o-retention")
    db.session.add(user)
    db.session.commit()
    now = utcnow()
    for n, age in enumerate((30, 20, 8, 1, 0)):
        db.session.add(IdempotencyKey(user_id=user.id, key=f"k{n}", request_hash="h" * 64,
                                      created_at=now - timedelta(days=age)))
    db.session.commit()
    celery = app.extensions["celery"]
    outcome = celery.tasks["tihuo.idempotency.retention"].apply()
    assert outcome.result == {"order_keys": 3, "verify_requests": 0}
    assert sorted(db.session.scalars(select(IdempotencyKey.key))) == ["k3", "k4"]
    # Batches: a pass that deletes a full batch looks again; one that finds a new row stops.
    assert purge_before(IdempotencyKey, IdempotencyKey.created_at, now + timedelta(days=1), batch=1) == 2
