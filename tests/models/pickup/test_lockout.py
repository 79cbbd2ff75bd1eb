"""Wrong codes: three against one order lock it for a manager's review; per-staff and
per-device limits stop guessing across orders; unlock and reissue; all audited."""
from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from app.extensions import db
from models.audit import AuditLog
from models.outbox.tables import OutboxMessage
from tests.factories import admin_headers, bearer, make_staff, make_store, staff_token
from tests.models.pickup.support import counter, make_counter, order_row, ready_order, shown, verify  # noqa: F401
from tests.app.test_errors import assert_error
from tests.models.orders.test_concurrency import run_threads

WRONG = "000000000000"


def lock(client, c, order_no, times=3):
    for _ in range(times):
        assert_error(verify(client, c.clerk, order_no=order_no, code=WRONG), 400, "pickup_code_invalid")


def test_three_wrong_codes_lock_the_order(client, counter):
    order_no = ready_order(client, counter)
    code = shown(client, counter, order_no)["code"]
    lock(client, counter, order_no, times=2)
    reviews = client.get("/api/staff/pickups/reviews", headers=counter.manager).json
    assert reviews == {"items": [], "next_cursor": None}
    lock(client, counter, order_no, times=1)
    err = assert_error(verify(client, counter.clerk, code=code), 423, "pickup_locked")
    assert err["details"] == {"order_no": order_no}
    assert_error(client.get(f"/api/orders/{order_no}/pickup", headers=counter.shopper), 423, "pickup_locked")
    (item,) = client.get("/api/staff/pickups/reviews", headers=counter.manager).json["items"]
    assert set(item) == {"kind", "ref", "store_id", "locked_at", "failed_attempts"}
    assert (item["kind"], item["ref"], item["store_id"], item["failed_attempts"]) == (
        ("order", order_no, counter.store.id, 3))
    alerts = db.session.scalars(select(OutboxMessage.payload).where(OutboxMessage.kind == "staff_alert")).all()
    assert {"event": "pickup_locked", "order_id": order_row(order_no).id, "store_id": counter.store.id} in alerts
    # Who may see and act on it.
    assert_error(client.get("/api/staff/pickups/reviews", headers=counter.clerk), 403, "forbidden")
    other = bearer(staff_token(client, make_staff("manager", [make_store()])))
    assert client.get("/api/staff/pickups/reviews", headers=other).json["items"] == []
    assert_error(client.get(f"/api/staff/pickups/reviews?store_id={counter.store.id}", headers=other),
                 403, "forbidden")
    assert len(client.get("/api/staff/pickups/reviews", headers=admin_headers(client)).json["items"]) == 1
    url = f"/api/staff/pickups/orders/{order_no}/unlock"
    assert_error(client.post(url, headers=counter.clerk, json={}), 403, "forbidden")
    assert_error(client.post(url, headers=other, json={}), 403, "forbidden")
    unlocked = client.post(url, headers=counter.manager, json={"note": "核对了身份证"})
    assert unlocked.status_code == 200 and unlocked.json["changed"] is True
    assert unlocked.json["locked"] is False and unlocked.json["failed_attempts"] == 0
    again = client.post(url, headers=counter.manager, json={})
    assert again.status_code == 200 and again.json["changed"] is False
    assert client.get("/api/staff/pickups/reviews", headers=counter.manager).json["items"] == []
    assert verify(client, counter.clerk, code=code).status_code == 200
    audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "pickup.unlock")).one()
    assert audit.changes["failed_attempts"] == [3, 0] and audit.changes["note"] == "核对了身份证"


def test_reissue_clears_a_lock(client, counter):
    order_no = ready_order(client, counter)
    lock(client, counter, order_no)
    client.post(f"/api/staff/pickups/orders/{order_no}/reissue", headers=counter.manager, json={})
    assert client.get("/api/staff/pickups/reviews", headers=counter.manager).json["items"] == []
    assert verify(client, counter.clerk, code=shown(client, counter, order_no)["code"]).status_code == 200


def test_locked_code_refuses_even_the_right_one_and_the_count_is_per_order(client, counter):
    first, second = ready_order(client, counter), ready_order(client, counter)
    code = shown(client, counter, first)["code"]
    lock(client, counter, first)
    assert_error(verify(client, counter.clerk, code=code), 423, "pickup_locked")
    assert verify(client, counter.clerk, code=shown(client, counter, second)["code"]).status_code == 200
    rows = client.get("/api/staff/pickups/reviews", headers=counter.manager).json["items"]
    assert [r["ref"] for r in rows] == [first]


def test_a_bare_wrong_code_names_no_order(client, counter):
    order_no = ready_order(client, counter)
    for _ in range(5):
        assert_error(verify(client, counter.clerk, code=WRONG), 400, "pickup_code_invalid")
    assert client.get("/api/staff/pickups/reviews", headers=counter.manager).json["items"] == []
    assert verify(client, counter.clerk, code=shown(client, counter, order_no)["code"]).status_code == 200


def test_other_stores_cannot_lock_an_order(client, counter):
    order_no = ready_order(client, counter)
    elsewhere = make_counter(client)
    for _ in range(4):
        assert_error(verify(client, elsewhere.clerk, order_no=order_no, code=WRONG), 400, "pickup_code_invalid")
    assert client.get("/api/staff/pickups/reviews", headers=counter.manager).json["items"] == []


@pytest.fixture
def tight_limits(app):
    saved = {k: app.config[k] for k in ("PICKUP_STAFF_MAX_FAILURES", "PICKUP_DEVICE_MAX_FAILURES")}
    app.config.update(PICKUP_STAFF_MAX_FAILURES=4, PICKUP_DEVICE_MAX_FAILURES=6)
    yield
    app.config.update(saved)


def test_per_staff_and_per_device_limits(client, counter, tight_limits):
    order_no = ready_order(client, counter)
    code = shown(client, counter, order_no)["code"]
    for _ in range(4):
        assert_error(verify(client, counter.clerk, device="till-1", code=WRONG), 400, "pickup_code_invalid")
    err = assert_error(verify(client, counter.clerk, device="till-2", code=code), 429, "rate_limited")
    assert err["details"]["retry_after_s"] > 0
    # Another clerk on the same till has two tries left before the device is stopped too.
    other = bearer(staff_token(client, make_staff("clerk", [counter.store])))
    for _ in range(2):
        assert_error(verify(client, other, device="till-1", code=WRONG), 400, "pickup_code_invalid")
    assert_error(verify(client, other, device="till-1", code=code), 429, "rate_limited")
    assert_error(client.post("/api/staff/pickups/preview", headers={**other, "X-Device-Id": "till-1"},
                             json={"code": code}), 429, "rate_limited")
    resp = verify(client, other, device="till-3", code=code)
    assert resp.status_code == 200, resp.json  # successes are never limited


def test_concurrent_wrong_codes_stop_at_the_staff_limit(app, counter, tight_limits):
    # One clerk, twenty wrong codes at once, each from another device id: the clerk's
    # limit (4) is taken before the code is looked up, so only that many get that far.
    db.session.commit()  # this thread's read ends (on SQLite it holds the write lock)
    codes = run_threads(20, lambda i: verify(app.test_client(), counter.clerk, device=f"till-{i}",
                                             code=WRONG).status_code)
    assert Counter(codes) == {400: 4, 429: 16}


def test_concurrent_wrong_codes_stop_at_the_device_limit(app, client, counter, tight_limits):
    # Three clerks of the store, eight wrong codes each, all at once on one till: the
    # till's limit (6) holds although each clerk alone could still try.
    clerks = [counter.clerk] + [bearer(staff_token(client, make_staff("clerk", [counter.store])))
                                for _ in range(2)]
    db.session.commit()
    codes = run_threads(24, lambda i: verify(app.test_client(), clerks[i % 3], device="till-1",
                                             code=WRONG).status_code)
    assert Counter(codes) == {400: 6, 429: 18}


def test_clerks_of_another_store_cannot_lock_a_stores_till(client, counter, tight_limits):
    # Two clerks of store B try wrong codes with store A's till id until they are stopped
    # (6 of them: the till's limit): store A's clerk on that till still verifies.
    order_no = ready_order(client, counter)
    code = shown(client, counter, order_no)["code"]
    elsewhere = make_counter(client)
    second = bearer(staff_token(client, make_staff("clerk", [elsewhere.store])))
    tries = [verify(client, clerk, device="till-A", code=WRONG).status_code
             for clerk in (elsewhere.clerk, second) for _ in range(5)]
    resp = verify(client, counter.clerk, device="till-A", code=code)
    assert resp.status_code == 200, resp.json
    # B's clerks are still stopped: the first by their own limit (4), the second by B's
    # count on that device id (6).
    assert tries == [400] * 4 + [429] + [400] * 2 + [429] * 3


def test_rotating_device_ids_does_not_escape_the_staff_limit(client, counter, tight_limits):
    for i in range(4):
        assert_error(verify(client, counter.clerk, device=f"fake-{i}", code=WRONG), 400, "pickup_code_invalid")
    assert_error(verify(client, counter.clerk, device="fake-new", code=WRONG), 429, "rate_limited")


def test_every_attempt_is_audited_without_the_code(client, counter):
    order_no = ready_order(client, counter)
    code = shown(client, counter, order_no)["code"]
    verify(client, counter.clerk, code=WRONG)
    verify(client, counter.clerk, order_no=order_no, code=WRONG)
    verify(client, counter.clerk, code=code, items=[{"sku_id": counter.skus[0].id, "qty": 1}])
    rows = db.session.scalars(select(AuditLog).where(AuditLog.action == "pickup.verify").order_by(AuditLog.id)).all()
    assert [(r.target_type, r.changes["result"]) for r in rows] == [
        ("staff", "pickup_code_invalid"), ("orders", "pickup_code_invalid"), ("orders", "ok")]
    assert rows[1].changes["order_no"] == order_no and rows[1].changes["locked"] is False
    assert rows[2].changes["items"] == [[counter.skus[0].id, 1]] and rows[2].changes["partial"] is True
    assert all(r.actor_type == "staff" and r.actor_id == counter.clerk_id for r in rows)
    for r in rows:
        assert code not in str(r.changes) and WRONG not in str(r.changes)
        assert len(r.changes["code_ref"]) == 12
