"""The Celery app, built from the Flask app: every task runs inside an app context, in one
transaction (committed when it returns, rolled back when it raises), then runs what that
transaction deferred.

Two ways to run it:
- a worker (`CELERY_BROKER_URL`, or production): `celery -A make_celery worker` runs the
  tasks, `celery -A make_celery beat` (exactly one) sends the schedule (app/schedule.py);
- in process (the embedded default): nothing leaves the web process. Deferred work runs
  after the response (app/tasks.py); `InProcessBeat`, started by the development server
  (scripts/gunicorn_dev.py), runs the schedule on a thread.
"""
from __future__ import annotations

import logging
import threading

from celery import Celery, Task
from celery.beat import ScheduleEntry
from celery.signals import worker_process_init
from flask import Flask

log = logging.getLogger(__name__)


def init_app(app: Flask) -> Celery:
    from app import jobs, schedule

    cfg = app.config

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            from app.db import retried
            from app.extensions import db
            from app.tasks import run_deferred

            def attempt():
                result = self.run(*args, **kwargs)
                db.session.commit()
                return result

            with app.app_context():
                try:
                    # Run again after a write conflict, like a request (app.db.retried).
                    return retried(attempt, unit="task")
                except BaseException:
                    db.session.rollback()
                    raise
                finally:
                    run_deferred()
                    db.session.remove()

    in_process = cfg["TASKS_IN_PROCESS"]
    broker_url = "memory://" if in_process else cfg["CELERY_BROKER_URL"]
    celery = Celery(app.import_name, task_cls=FlaskTask, set_as_current=False)
    celery.conf.update(
        broker_url=broker_url,
        task_always_eager=in_process,  # nothing is ever sent to a broker in process
        task_ignore_result=True,
        task_default_queue=cfg["CELERY_QUEUE"],  # sent there; a worker consumes it too
        task_serializer="json", accept_content=["json"],
        # A task is acknowledged when it has finished: one whose worker died is run again
        # (every task here is safe to repeat: claims, guarded updates, unique keys).
        task_acks_late=True,
        # ...also when the process running it died (SIGKILL, out of memory): the message
        # is rejected back to the queue, not acknowledged as failed. (A worker that dies
        # as a whole closes its broker connection: RabbitMQ hands its unacknowledged
        # messages to another at once, Redis after the visibility timeout.)
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,  # our JSON logs (app/logs.py) stay
        broker_connection_retry_on_startup=True,
        # A broker that hangs must not hold a request's after-commit hook (a task sent)
        # or a worker without end: kombu waits forever unless told (_broker_timeouts).
        **_broker_timeouts(broker_url, cfg["REDIS_TIMEOUT_S"]),
        task_publish_retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2,
                                   "interval_max": 0.2},
        timezone="Asia/Shanghai", enable_utc=True,
        beat_schedule=schedule.beat_schedule(cfg),
        beat_schedule_filename=cfg["CELERY_BEAT_SCHEDULE_FILE"],
    )
    jobs.register(celery)

    def _fresh_connections(**_):
        # A forked worker child must not reuse the parent's database connections.
        with app.app_context():
            from app.extensions import db

            db.engine.dispose(close=False)

    worker_process_init.connect(_fresh_connections, weak=False)
    app.extensions["celery"] = celery
    return celery


def _broker_timeouts(broker_url: str, timeout_s: float) -> dict:
    """Connect and socket limits in the broker transport's own terms (REDIS_TIMEOUT_S, at
    least 2 s); one retry of a publish (task_publish_retry_policy)."""
    transport = broker_url.partition("://")[0].partition("+")[0]
    wait_s = max(timeout_s, 2.0)
    if transport in ("redis", "rediss"):
        # Above kombu's 1 s BRPOP that a worker's consumer waits on.
        return {"broker_transport_options": {"socket_timeout": wait_s,
                                             "socket_connect_timeout": timeout_s}}
    if transport in ("amqp", "amqps", "pyamqp"):
        # RabbitMQ (py-amqp): the TCP connect and AMQP handshake, then every socket read
        # and write; a worker's consumer is woken by the event loop and by the 60 s
        # heartbeats, so an idle queue does not trip the read limit. A message is
        # redelivered if it stays unacknowledged past the server's consumer_timeout
        # (30 min by default): with late acknowledgement that is the longest a task may
        # run (docs/architecture.md, "Broker").
        return {"broker_connection_timeout": wait_s, "broker_heartbeat": 60,
                "broker_transport_options": {"read_timeout": wait_s, "write_timeout": wait_s}}
    return {}  # memory:// (in process): nothing to wait for


class InProcessBeat:
    """The beat schedule on a thread of this process (embedded default only): each due
    entry runs as an eager task, one after the other."""

    def __init__(self, app: Flask):
        self.celery: Celery = app.extensions["celery"]
        self.entries = {name: ScheduleEntry(name=name, app=self.celery, **spec)
                        for name, spec in self.celery.conf.beat_schedule.items()}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> float:
        """Run what is due; seconds until the next entry is."""
        wait = 60.0
        for name, entry in list(self.entries.items()):
            due, next_s = entry.is_due()
            if due:
                self.entries[name] = entry = next(entry)  # last run: now
                outcome = self.celery.tasks[entry.task].apply(args=entry.args, kwargs=entry.kwargs)
                if outcome.failed():
                    log.error("scheduled %s failed: %r", name, outcome.result)
                due, next_s = entry.is_due()
            wait = min(wait, next_s)
        return max(wait, 1.0)

    def start(self) -> "InProcessBeat":
        def loop():
            while not self._stop.is_set():
                try:
                    wait = self.tick()
                except Exception:
                    log.exception("in-process beat")
                    wait = 5.0
                self._stop.wait(wait)

        self._thread = threading.Thread(target=loop, name="in-process-beat", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()


def start_in_process_beat(app: Flask) -> InProcessBeat | None:
    """For the development server: the schedule in this process, when there is no worker."""
    if not app.config["TASKS_IN_PROCESS"]:
        return None
    log.info("running the beat schedule in process (no Celery worker configured)")
    logging.getLogger("celery.app.trace").setLevel(logging.WARNING)  # not a line per run
    return InProcessBeat(app).start()
