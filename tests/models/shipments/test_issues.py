"""Parcels in trouble reach the staff queue (with an alert) once; the sweep polls only
parcels silent for a day, queues those without an event 48 h after shipping, and
subscribes again those 快递100 stopped."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from app.extensions import db
from models.base import utcnow
from models.shipments.sweep import sweep
from models.shipments.tables import Parcel
from tests.app.test_errors import assert_error
from tests.factories import bearer, make_staff, make_store, staff_token
from tests.models.payments.test_payments import sb
from tests.models.shipments.conftest import parcel_of, push, settled
from tests.models.shipments.test_tracking import shipped


def _age(app, number, **columns):
    with app.app_context():
        db.session.execute(update(Parcel).where(Parcel.tracking_no == number).values(**columns))
        db.session.commit()


def test_a_problem_parcel_is_queued_once_for_its_stores_staff(app, client, sandbox, shop2, clerk):
    number = "SF4000000001"
    order_no = shipped(client, sandbox, shop2, clerk, number)
    push(sandbox, number, state=0, context="【上海】运输中")
    result = push(sandbox, number, state=2, context="【上海】地址不详，联系不上收件人", duplicates=2)
    assert all(d["accepted"] for d in result["deliveries"])
    assert parcel_of(app, number).status == "exception"
    [issue] = client.get("/api/staff/parcel-issues", headers=clerk).json["items"]
    assert (issue["kind"], issue["order_no"], issue["status"]) == ("problem", order_no, "open")
    assert issue["detail"] == "【上海】地址不详，联系不上收件人" and issue["parcel"]["tracking_no"] == number
    alerts = [r for r in settled(app, "staff_alert") if r.payload["event"] == "parcel_exception"]
    assert len(alerts) == 1 and alerts[0].payload["reason"] == "快递疑难件"
    shopper = [r.payload for r in settled(app, "subscribe_message") if r.payload["event"] == "parcel_exception"]
    assert shopper == [{"event": "parcel_exception", "order_id": shopper[0]["order_id"], "carrier": "SF",
                        "tracking_no": number}]
    with app.app_context():
        other = bearer(staff_token(client, make_staff("clerk", [make_store()])))
        analyst = bearer(staff_token(client, make_staff("analyst")))
    assert client.get("/api/staff/parcel-issues", headers=other).json["items"] == []
    assert_error(client.post(f"/api/staff/parcel-issues/{issue['id']}/resolve", headers=other,
                             json={"resolution": "x"}), 403, "forbidden")
    assert_error(client.get("/api/staff/parcel-issues", headers=analyst), 403, "forbidden")
    done = client.post(f"/api/staff/parcel-issues/{issue['id']}/resolve", headers=clerk,
                       json={"resolution": "已联系收件人改约派送"})
    assert done.status_code == 200 and done.json["status"] == "resolved" and done.json["changed"] is True
    assert client.post(f"/api/staff/parcel-issues/{issue['id']}/resolve", headers=clerk,
                       json={"resolution": "again"}).json["changed"] is False
    push(sandbox, number, duplicates=1)  # the same trace again: not news, not reopened
    assert client.get("/api/staff/parcel-issues", headers=clerk).json["items"] == []
    push(sandbox, number, state=14, context="【上海】收件人拒签")  # new trouble of another kind
    [refused] = client.get("/api/staff/parcel-issues", headers=clerk).json["items"]
    assert refused["kind"] == "refused"
    assert_error(client.post("/api/staff/parcel-issues/999999/resolve", headers=clerk,
                             json={"resolution": "x"}), 404, "not_found")


def test_the_sweep_polls_only_silent_parcels_and_queues_48h_silences(app, client, sandbox, shop2, clerk):
    quiet, talking = "SF4000000002", "SF4000000003"
    shipped(client, sandbox, shop2, clerk, quiet)
    shipped(client, sandbox, shop2, clerk, talking)
    settled(app)
    # The carrier has news of `quiet` that never reached us as a push.
    push(sandbox, quiet, state=1, context="【上海】已揽收", send=False)
    with app.app_context():
        assert sweep() == {"polled": 0, "silent": 0, "resubscribed": 0}  # nobody silent for a day yet
    _age(app, quiet, last_heard_at=utcnow() - timedelta(hours=25))
    with app.app_context():
        assert sweep()["polled"] == 1
    assert [q["num"] for q in sb(sandbox, "GET", "/_/kuaidi100/queries").json()["queries"]] == [quiet]
    assert parcel_of(app, quiet).status == "collected"
    # Nothing at all 48 h after shipping: the staff queue.
    _age(app, talking, created_at=utcnow() - timedelta(hours=49))
    with app.app_context():
        assert sweep()["silent"] == 1
        assert sweep()["silent"] == 0  # queued once
    [issue] = client.get("/api/staff/parcel-issues", headers=clerk).json["items"]
    assert (issue["kind"], issue["parcel"]["tracking_no"]) == ("silent", talking)


def test_an_aborted_subscription_is_renewed_after_half_an_hour(app, client, sandbox, shop2, clerk):
    number = "SF4000000004"
    shipped(client, sandbox, shop2, clerk, number)
    push(sandbox, number, status="abort", message="3天查询无记录")
    assert parcel_of(app, number).abort_reason == "3天查询无记录"
    with app.app_context():
        assert sweep()["resubscribed"] == 0
    _age(app, number, aborted_at=utcnow() - timedelta(minutes=31))
    sandbox.state.advance(31 * 60)  # 快递100 takes it again ~30 min after the abort
    with app.app_context():
        assert sweep()["resubscribed"] == 1
    from app.tasks import run_deferred
    with app.app_context():
        run_deferred()
    rows = settled(app, "kuaidi100_subscribe")
    assert [r.status for r in rows] == ["sent", "sent"]
    [sub] = sb(sandbox, "GET", "/_/kuaidi100/subscriptions").json()["subscriptions"]
    assert sub["status"] == "polling" and parcel_of(app, number).aborted_at is None
