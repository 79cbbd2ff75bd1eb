"""The outbox dispatcher: each row sent at most once (two workers at once, a crashed
worker, a lost claim), retries with backoff and a cap (times computed, never slept),
WeChat's answers classified per error code, failed rows kept for staff to retry."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select

from app.tasks import pending
from app.extensions import db
from models.audit import AuditLog
from models.base import utcnow
from models.outbox import dispatch as dispatcher
from models.outbox.dispatch import backoff_s, classify, claim_next, dispatch_due, record
from models.outbox.tables import OutboxMessage
from tests.factories import bearer, make_staff, staff_token
from tests.app.test_errors import assert_error
from tests.models.notifications.test_subscribe import (buyer, dispatch, enqueue, fail_next,
                                           grant, log_row, outbox_row, place_order, remaining,
                                           sandbox_calls, sent_messages)
from wechat.errors import WeChatAPIError, WeChatUnavailable


def whole_second():
    """Now, rounded up to a whole second (MySQL DATETIME keeps no fractions), so rows
    written just before are due."""
    return (utcnow() + timedelta(seconds=1)).replace(microsecond=0)


@pytest.fixture
def paid_event(app, client, sandbox):
    """A shopper with one grant at WeChat and here, and an order_paid row to deliver."""
    user_id, openid, headers = buyer(client, sandbox)
    order_id = place_order(app, client, headers)
    grant(client, sandbox, openid, headers)
    row_id = enqueue(app, {"event": "order_paid", "order_id": order_id})
    return {"user_id": user_id, "openid": openid, "headers": headers, "order_id": order_id, "row_id": row_id}


# --- retry, backoff, cap -------------------------------------------------------------------

def test_backoff_doubles_up_to_the_cap():
    assert [backoff_s(n, 30, 3600) for n in range(1, 10)] == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert backoff_s(1, 5, 3) == 3


@pytest.mark.parametrize("failure", [{"errcode": -1}, {"http_status": 502}, {"errcode": 45009},
                                     {"errcode": 40001, "twice": True}])
def test_transient_failures_retry_after_the_backoff(app, sandbox, paid_event, failure):
    twice = failure.pop("twice", False)
    for _ in range(2 if twice else 1):  # 40001 twice: the client's own refresh didn't help
        fail_next(sandbox, **failure)
    t0 = whole_second()
    assert dispatch(app, now=t0) == {"retry": 1}
    row = outbox_row(app, paid_event["row_id"])
    assert (row.status, row.attempts, row.claim_token) == ("pending", 1, None)
    assert row.next_attempt_at == t0 + timedelta(seconds=30)
    assert row.last_error
    # The grant stays with the message (taken once, not given back, not taken again).
    assert log_row(app, paid_event["row_id"]).grant_held is True
    assert remaining(app, paid_event["user_id"]) == 0
    assert dispatch(app, now=t0 + timedelta(seconds=29)) == {}  # not due yet
    assert dispatch(app, now=t0 + timedelta(seconds=30)) == {"sent": 1}
    assert len(sent_messages(sandbox)) == 1 and outbox_row(app, paid_event["row_id"]).attempts == 2
    assert remaining(app, paid_event["user_id"]) == 0 and log_row(app, paid_event["row_id"]).grant_held is False


def test_40001_refreshes_the_token_and_retries_once(app, sandbox, paid_event):
    tokens_before = len(sandbox_calls(sandbox, "/cgi-bin/stable_token"))
    fail_next(sandbox, errcode=40001)
    assert dispatch(app) == {"sent": 1}
    assert [c["errcode"] for c in sandbox_calls(sandbox)] == [40001, 0]
    assert len(sandbox_calls(sandbox, "/cgi-bin/stable_token")) == tokens_before + 1
    assert outbox_row(app, paid_event["row_id"]).attempts == 1


@pytest.mark.parametrize("errcode", [47003, 40037, 40003, 41030])
def test_permanent_errors_fail_at_once_and_give_the_grant_back(app, sandbox, paid_event, errcode):
    fail_next(sandbox, errcode=errcode)
    assert dispatch(app) == {"failed": 1}
    row = outbox_row(app, paid_event["row_id"])
    assert row.status == "failed" and row.last_error.startswith(f"errcode {errcode}:") and row.attempts == 1
    entry = log_row(app, paid_event["row_id"])
    assert (entry.status, entry.errcode, entry.grant_held) == ("failed", errcode, False)
    assert remaining(app, paid_event["user_id"]) == 1  # WeChat didn't use it
    assert dispatch(app, now=utcnow() + timedelta(days=1)) == {}  # never retried by itself


def test_after_the_last_try_the_row_is_failed_for_staff(app, sandbox, paid_event):
    app.config["OUTBOX_MAX_ATTEMPTS"] = 3
    try:
        now = whole_second()
        for n in range(3):
            fail_next(sandbox, errcode=-1)
            result = dispatch(app, now=now)
            now += timedelta(seconds=backoff_s(n + 1, 30, 3600))
        assert result == {"failed": 1}
    finally:
        app.config["OUTBOX_MAX_ATTEMPTS"] = 8
    row = outbox_row(app, paid_event["row_id"])
    assert row.status == "failed" and row.attempts == 3 and row.last_error.startswith("gave up after 3 tries")
    assert remaining(app, paid_event["user_id"]) == 1 and log_row(app, paid_event["row_id"]).status == "failed"


def test_classification_of_every_answer():
    assert classify(WeChatAPIError(43101, "user refuse")).status == "skipped"
    assert classify(WeChatAPIError(47003, "argument invalid")).status == "failed"
    assert classify(WeChatAPIError(40037, "invalid template_id")).status == "failed"
    assert classify(WeChatAPIError(43004, "require subscribe")).status == "failed"  # staff alerts
    assert classify(WeChatAPIError(-1, "system error")).status == "retry"
    assert classify(WeChatAPIError(40001, "invalid credential")).status == "retry"
    assert classify(WeChatAPIError(99999, "new to us")).status == "retry"
    assert classify(WeChatUnavailable("subscribe_send: HTTP 502")).status == "retry"
    assert classify(RuntimeError("bug")).reason == "RuntimeError: bug"


# --- at most once ------------------------------------------------------------------------------

def test_two_workers_at_once_send_each_row_once(app, client, sandbox):
    user_id, openid, headers = buyer(client, sandbox)
    order_id = place_order(app, client, headers)
    n = 24
    grant(client, sandbox, openid, headers, count=n)
    rows = [enqueue(app, {"event": "order_paid", "order_id": order_id, "n": i}) for i in range(n)]
    barrier, results = threading.Barrier(2), []

    def worker():
        barrier.wait(timeout=10)
        results.append(dispatch(app))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sum(r.get("sent", 0) for r in results) == n
    # Counted at WeChat: n calls, n messages, every grant used once.
    assert len(sandbox_calls(sandbox)) == n and len(sent_messages(sandbox, openid)) == n
    assert requests.get(f"{sandbox.base_url}/_/subscribe-grants", params={"openid": openid},
                        timeout=5).json()["grants"][0]["remaining"] == 0
    assert remaining(app, user_id) == 0
    with app.app_context():
        assert set(db.session.scalars(select(OutboxMessage.attempts).where(OutboxMessage.id.in_(rows)))) == {1}


def test_a_worker_that_died_after_claiming_is_replaced_when_the_lease_ends(app, sandbox, paid_event):
    t0 = whole_second()
    with app.app_context():  # claim and prepare, then "crash" before sending
        claim = claim_next(t0)
        dispatcher.DELIVERIES[claim.kind].prepare(claim)
        db.session.commit()
    assert remaining(app, paid_event["user_id"]) == 0  # the grant went with the claim
    assert dispatch(app, now=t0 + timedelta(seconds=60)) == {}  # the lease still holds
    lease = app.config["OUTBOX_LEASE_S"]
    assert dispatch(app, now=t0 + timedelta(seconds=lease)) == {"sent": 1}
    assert len(sent_messages(sandbox)) == 1 and remaining(app, paid_event["user_id"]) == 0
    assert outbox_row(app, paid_event["row_id"]).attempts == 2


def test_a_worker_whose_lease_ran_out_cannot_record_over_the_next(app, sandbox, paid_event):
    from models.outbox.delivery import Result

    t0 = whole_second()
    with app.app_context():
        slow = claim_next(t0)
        db.session.commit()
    later = t0 + timedelta(seconds=app.config["OUTBOX_LEASE_S"] + 1)
    assert dispatch(app, now=later) == {"sent": 1}
    with app.app_context():  # the first worker comes back with a failure to record
        record(slow, None, Result("failed", "too late"), later)
    row = outbox_row(app, paid_event["row_id"])
    assert row.status == "sent" and row.last_error is None
    assert log_row(app, paid_event["row_id"]).status == "sent"


def test_a_crash_while_preparing_keeps_nothing_half_done(app, sandbox, paid_event, monkeypatch):
    from models.notifications import subscribe

    real_take = subscribe.take_grant

    def take_then_crash(user_id, template_id):
        assert real_take(user_id, template_id)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(subscribe, "take_grant", take_then_crash)
    t0 = whole_second()
    assert dispatch(app, now=t0) == {"retry": 1}
    monkeypatch.undo()
    assert remaining(app, paid_event["user_id"]) == 1  # the grant taken was rolled back
    row = outbox_row(app, paid_event["row_id"])
    assert row.status == "pending" and row.last_error == "RuntimeError: disk on fire"
    assert dispatch(app, now=t0 + timedelta(seconds=30)) == {"sent": 1}
    assert remaining(app, paid_event["user_id"]) == 0


def test_a_sent_row_is_never_sent_again(app, sandbox, paid_event):
    assert dispatch(app) == {"sent": 1}
    with app.app_context():
        for later in (60, 3600, 86400):
            assert dispatch_due(now=utcnow() + timedelta(seconds=later)) == {}
    assert len(sandbox_calls(sandbox)) == 1


def test_kinds_without_a_delivery_stay_pending(app, sandbox):
    row_id = enqueue(app, {"event": "coo"}, kind="carrier_pigeon")
    assert dispatch(app, now=utcnow() + timedelta(days=1)) == {}
    row = outbox_row(app, row_id)
    assert row.status == "pending" and row.attempts == 0


# --- after commit ---------------------------------------------------------------------------

def test_rows_are_dispatched_after_the_commit_that_wrote_them(app, client, sandbox):
    from models import outbox

    user_id, openid, headers = buyer(client, sandbox)
    order_id = place_order(app, client, headers)
    grant(client, sandbox, openid, headers)
    with app.app_context():
        outbox.enqueue("subscribe_message", {"event": "order_paid", "order_id": order_id})
        outbox.enqueue("subscribe_message", {"event": "order_paid", "order_id": order_id, "again": 1})
        db.session.rollback()
        assert pending(app) == []  # rolled back: no row, no kick
        outbox.enqueue("subscribe_message", {"event": "order_paid", "order_id": order_id})
        outbox.enqueue("shipping_upload", {"order_id": order_id, "logistics_type": 4})
        db.session.commit()
        assert len(pending(app)) == 1  # one kick for the transaction
        outbox.enqueue("staff_alert", {"event": "x"})
        db.session.commit()
        assert len(pending(app)) == 1  # and one queued dispatch covers both
        from app.tasks import run_deferred

        run_deferred()
        statuses = dict(db.session.execute(select(OutboxMessage.kind, OutboxMessage.status)).all())
    assert statuses["subscribe_message"] == "sent" and len(sent_messages(sandbox, openid)) == 1
    assert statuses["shipping_upload"] == "skipped"  # never paid through WeChat: nothing to settle
    with app.app_context():
        outbox.enqueue("staff_alert", {"event": "y"})
        db.session.commit()
        # The dispatch took the flag down when it started: the next commit kicks again.
        assert len(pending(app)) == 1


def test_with_a_worker_one_published_dispatch_serves_many_commits(app, monkeypatch):
    """A broker publish per request would cost more than the request's own SQL: commits
    publish only while no dispatch is queued and not yet started."""
    from models import outbox

    published = []

    class Broker:
        tasks = {"tihuo.outbox.dispatch": None}  # the names a worker knows

        def send_task(self, name, args):
            published.append((name, args))

    monkeypatch.setitem(app.config, "TASKS_IN_PROCESS", False)
    monkeypatch.setitem(app.extensions, "celery", Broker())
    with app.app_context():
        for n in range(3):
            outbox.enqueue("staff_alert", {"event": "x", "n": n})
            db.session.commit()
        assert published == [("tihuo.outbox.dispatch", [])]
        dispatch_due()  # what the worker runs: the flag comes down first
        outbox.enqueue("staff_alert", {"event": "x", "n": 3})
        db.session.commit()
        assert len(published) == 2


def test_paid_order_message_arrives_after_the_notify(app, client, live, sandbox):
    """In process (the embedded default): the notify commits the order_paid row, and the
    dispatch it kicked runs after the response."""
    import time

    user_id, openid, headers = buyer(client, sandbox)
    grant(client, sandbox, openid, headers)
    order_id = place_order(app, client, headers)
    with app.app_context():
        from models.orders.tables import Order

        order_no = db.session.get(Order, order_id).order_no
    params = client.post(f"/api/orders/{order_no}/pay", headers=headers).json
    assert requests.post(f"{sandbox.base_url}/_/pay/request-payment", json=params, timeout=10).status_code == 200
    deadline = time.monotonic() + 10
    while not sent_messages(sandbox, openid) and time.monotonic() < deadline:
        time.sleep(0.05)
    [msg] = sent_messages(sandbox, openid)
    assert msg["template_id"] == "TPL_ORDER_PAID" and msg["data"]["character_string1"]["value"] == order_no


# --- staff: failed rows and retry -------------------------------------------------------------

def test_staff_see_failed_rows_and_retry_them_audited(app, client, sandbox, paid_event):
    fail_next(sandbox, errcode=47003)
    assert dispatch(app) == {"failed": 1}
    with app.app_context():
        admin = bearer(staff_token(client, make_staff("admin")))
        analyst = bearer(staff_token(client, make_staff("analyst")))
        clerk = bearer(staff_token(client, make_staff("clerk")))
    listed = client.get("/api/admin/outbox?status=failed", headers=analyst)
    assert listed.status_code == 200
    [item] = listed.json["items"]
    assert item["id"] == paid_event["row_id"] and item["last_error"].startswith("errcode 47003")
    assert client.get("/api/admin/outbox?status=sent", headers=admin).json["items"] == []
    assert_error(client.get("/api/admin/outbox", headers=clerk), 403, "forbidden")
    assert_error(client.get("/api/admin/outbox?status=lost", headers=admin), 400, "invalid_request")
    assert_error(client.post(f"/api/admin/outbox/{item['id']}/retry", headers=analyst), 403, "forbidden")
    assert_error(client.post("/api/admin/outbox/999999/retry", headers=admin), 404, "not_found")

    retried = client.post(f"/api/admin/outbox/{item['id']}/retry", headers=admin)
    assert retried.status_code == 200 and retried.json["status"] in ("pending", "sent")
    # The retry kicked a dispatch after its commit (in process: after the response).
    row = outbox_row(app, item["id"])
    assert row.status == "sent" and row.attempts == 1
    assert len(sent_messages(sandbox, paid_event["openid"])) == 1
    with app.app_context():
        entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "outbox.retry")).one()
        assert entry.target_id == str(item["id"]) and entry.changes["status"] == ["failed", "pending"]
    # Only failed or skipped rows: a sent one is not sent twice.
    assert_error(client.post(f"/api/admin/outbox/{item['id']}/retry", headers=admin), 409, "conflict")


def test_outbox_list_pages_newest_first(app, client, sandbox):
    for i in range(3):
        enqueue(app, {"event": "x", "n": i}, kind="staff_alert")
    with app.app_context():
        admin = bearer(staff_token(client, make_staff("admin")))
        total = db.session.scalar(select(func.count()).select_from(OutboxMessage))
    first = client.get("/api/admin/outbox?limit=2&kind=staff_alert", headers=admin).json
    assert [i["payload"]["n"] for i in first["items"]] == [2, 1] and first["next_cursor"]
    rest = client.get(f"/api/admin/outbox?limit=2&kind=staff_alert&cursor={first['next_cursor']}",
                      headers=admin).json
    assert [i["payload"]["n"] for i in rest["items"]] == [0] and rest["next_cursor"] is None
    assert total == 3
