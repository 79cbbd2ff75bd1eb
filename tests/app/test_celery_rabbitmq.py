"""Celery on RabbitMQ (CELERY_BROKER_URL=amqp://...), with real worker processes, the
MariaDB test database and the broker on loopback (.ci/run starts RabbitMQ when it is down):

- a task sent by the web side runs on the worker (a card export, end to end);
- a worker SIGKILLed mid-task: the broker hands the unacknowledged task to a second
  worker, which runs it to the end — done twice, once in effect (task_acks_late; the
  task's effect is keyed);
- a worker told to stop (SIGTERM) mid-task finishes it first (warm shutdown): the task
  ends once, and nothing is left on the queue to run again.

Every run uses a queue of its own (CELERY_QUEUE) on the broker's default vhost, so nothing
needs creating and nothing of another run is consumed; `TEST_AMQP_URL` names another
broker or vhost. MariaDB + Redis run only, like tests/app/test_celery_worker.py."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from kombu import Connection
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from models.users import User
from tests.app.test_celery_worker import _env
from tests.conftest import ClosingClient, backend_is_mysql
from tests.factories import admin_headers, make_product

ROOT = Path(__file__).resolve().parents[2]
AMQP = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


def _rabbitmq_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=2):
            return True
    except OSError:
        return False


pytestmark = [
    pytest.mark.skipif(not backend_is_mysql() or not os.environ.get("TEST_REDIS_URL"),
                       reason="a real worker needs MariaDB and Redis (scripts/test runs it there)"),
    pytest.mark.skipif(not _rabbitmq_answers(), reason="RabbitMQ is not running on 127.0.0.1:5672 "
                                                       "(.ci/run starts it)"),
]


@pytest.fixture
def queue():
    name = f"tihuo-test-{uuid.uuid4().hex[:12]}"
    yield name
    with Connection(AMQP) as conn:  # the run's queue goes with it
        conn.default_channel.queue_delete(name)


@pytest.fixture
def web(settings, queue):
    """The web side, sending to RabbitMQ."""
    web_app = create_app(settings.model_copy(update={
        "TASKS_IN_PROCESS": False, "CELERY_BROKER_URL": AMQP, "CELERY_QUEUE": queue}))
    web_app.test_client_class = ClosingClient
    yield web_app
    with web_app.app_context():
        db.engine.dispose()


class Workers:
    """Worker processes on the run's queue; each one stopped at the end if still running."""

    def __init__(self, settings, queue, web, tmp_path):
        self.settings, self.queue, self.web, self.tmp_path = settings, queue, web, tmp_path
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str) -> subprocess.Popen:
        env = _env(self.settings, TASKS_IN_PROCESS="0", CELERY_BROKER_URL=AMQP, CELERY_QUEUE=self.queue,
                   LOG_LEVEL="INFO", PROBE_WORKER=name, PYTHONUNBUFFERED="1",
                   CELERY_BEAT_SCHEDULE_FILE=str(self.tmp_path / "beat"))
        node = f"{name}-{uuid.uuid4().hex[:8]}@%h"
        with open(self.log(name), "w") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "make_celery", "worker", "--pool=solo",
                 "--include", "tests.app.celery_probe", "--loglevel=INFO", "--without-gossip",
                 "--without-mingle", "--without-heartbeat", "-n", node],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.procs[name] = proc
        celery, deadline = self.web.extensions["celery"], time.monotonic() + 90
        hostname = node.replace("%h", socket.gethostname())
        # Ping this worker only: others on the broker (other runs) answer pings too.
        while not celery.control.ping(destination=[hostname], timeout=0.5):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"worker {name} did not start:\n{self.log(name).read_text()[-4000:]}")
        return proc

    def log(self, name: str) -> Path:
        return self.tmp_path / f"{name}.log"

    def stop_all(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture
def workers(settings, queue, web, tmp_path):
    found = Workers(settings, queue, web, tmp_path)
    yield found
    found.stop_all()


def wait_for(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {seconds} s")
        time.sleep(0.1)


def messages_waiting(queue: str) -> int:
    with Connection(AMQP) as conn:
        return conn.default_channel.queue_declare(queue, passive=True).message_count


def _queue_state(queue: str):
    with Connection(AMQP) as conn:
        return conn.default_channel.queue_declare(queue, passive=True)


def shoppers(web, openid: str) -> int:
    with web.app_context():
        count = db.session.scalar(select(func.count()).select_from(User).where(User.openid == openid))
        db.session.rollback()
        return count


def test_a_task_runs_on_a_worker_through_rabbitmq(web, workers):
    """The card export's POST only queues the job; a worker on RabbitMQ makes it."""
    workers.start("w1")
    client = web.test_client()
    with web.app_context():
        sku_id = make_product("月饼", skus=[("6枚", 12800)]).skus[0].id
        admin = admin_headers(client)
    batch_id = client.post("/api/admin/card-batches", headers=admin, json={
        "name": "中秋", "sku_id": sku_id, "card_count": 3, "valid_until": "2099-01-01T00:00:00+08:00"}).json["id"]
    started = client.post(f"/api/admin/card-batches/{batch_id}/export", headers=admin)
    assert started.status_code == 202 and started.json["status"] == "queued"
    url, state = f"/api/admin/card-exports/{started.json['id']}", {}

    def ready():
        state.update(client.get(url, headers=admin).json)
        return state["status"] == "ready"
    wait_for(ready, 60, f"no export ({state}); worker log:\n{workers.log('w1').read_text()[-3000:]}")
    assert state["cards_done"] == 3 and "tihuo.cards.export" in workers.log("w1").read_text()


def test_a_killed_workers_task_is_redelivered_and_done_once_in_effect(web, workers, queue, tmp_path):
    notes, openid = tmp_path / "notes", f"o-probe-{uuid.uuid4().hex[:8]}"
    notes.mkdir()
    first = workers.start("w1")
    web.extensions["celery"].send_task("tihuo.test.probe", args=[openid, str(notes), 120.0])
    wait_for(lambda: (notes / "effect-w1").exists(), 60, "w1 did not start the task")
    workers.start("w2")  # idle, consuming the same queue
    first.send_signal(signal.SIGKILL)  # mid-task: its effect committed, the task not acknowledged
    first.wait()
    wait_for(lambda: (notes / "effect-w2").exists(), 60,
             f"the task was not redelivered ({_queue_state(queue)}, {sorted(p.name for p in notes.iterdir())}):\n{workers.log('w2').read_text()[-1500:]}"
             f"\n{workers.log('w1').read_text()[-1500:]}")
    (notes / "release").touch()
    wait_for(lambda: (notes / "finished-w2").exists(), 30, "w2 did not finish the task")
    assert not (notes / "finished-w1").exists()
    assert sorted(p.name.rsplit("-", 1)[0] for p in notes.glob("started-*")) == ["started-w1", "started-w2"]
    assert shoppers(web, openid) == 1  # run twice, one effect
    wait_for(lambda: messages_waiting(queue) == 0, 10, "a message was left on the queue")


def test_a_worker_told_to_stop_finishes_its_task_first(web, workers, queue, tmp_path):
    notes, openid = tmp_path / "notes", f"o-probe-{uuid.uuid4().hex[:8]}"
    notes.mkdir()
    first = workers.start("w1")
    web.extensions["celery"].send_task("tihuo.test.probe", args=[openid, str(notes), 120.0])
    wait_for(lambda: (notes / "effect-w1").exists(), 60, "w1 did not start the task")
    first.send_signal(signal.SIGTERM)  # warm shutdown: no new task, the running one ends
    time.sleep(1.0)
    assert first.poll() is None  # still at it
    (notes / "release").touch()
    assert first.wait(timeout=60) == 0
    assert (notes / "finished-w1").exists(), workers.log("w1").read_text()[-3000:]
    # Acknowledged before the worker left: nothing waits to run a second time.
    assert messages_waiting(queue) == 0 and len(list(notes.glob("started-*"))) == 1
    assert shoppers(web, openid) == 1
