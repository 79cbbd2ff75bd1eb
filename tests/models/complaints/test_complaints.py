"""WeChat Pay complaints (消费者投诉2.0) end to end against the sandbox: real signatures,
real AES-GCM notifications over HTTP to the app on its live port, the RSA-encrypted
payer phone. Notify → detail and history pulled → respond → refund progress → complete;
forged, stale and duplicate notifications; first-response time; store scoping."""
from __future__ import annotations

import requests
from sqlalchemy import func, select

from app.extensions import db
from models.complaints.sync import pull
from models.complaints.tables import Complaint, ComplaintHistory
from models.state_machine import StateChange
from tests.app.test_errors import assert_error
from tests.factories import bearer, make_staff, make_store, staff_token
from tests.models.payments.test_payments import eventually, place, sb
from tests.models.payments.test_payments import shop  # noqa: F401 (fixture)

PHONE = "13912345678"


def paid_order(client, sandbox, shop):  # noqa: F811
    order_no = place(client, shop)
    params = client.post(f"/api/orders/{order_no}/pay", headers=shop[2]).json
    assert sb(sandbox, "POST", "/_/pay/request-payment", json=params).status_code == 200
    sb(sandbox, "GET", "/_/pay/notifications", params={"out_trade_no": order_no, "wait": 5})
    return order_no


def register_url(app):
    result = app.test_cli_runner().invoke(args=["pay", "complaint-url"])
    assert result.exit_code == 0, result.output
    assert "/wechat/pay/complaint-notify" in result.output


def complain(sandbox, order_no, **body):
    resp = sb(sandbox, "POST", "/_/pay/complaints",
              json={"out_trade_no": order_no, "problem_type": "REFUND", "phone": PHONE, **body})
    assert resp.status_code == 200, resp.text
    return resp.json()["complaint"]["complaint_id"]


def deliveries(sandbox, complaint_id):
    return sb(sandbox, "GET", "/_/pay/notifications",
              params={"complaint_id": complaint_id, "wait": 5}).json()["notifications"]


def synced(app, complaint_id, history=2):
    def probe():
        row = db.session.scalars(select(Complaint).where(Complaint.complaint_id == complaint_id)).first()
        if row is None or row.needs_sync:
            return None
        n = db.session.scalar(select(func.count()).select_from(ComplaintHistory)
                              .where(ComplaintHistory.complaint_row_id == row.id))
        return row if n >= history else None
    return eventually(app, probe)


def manager_of(app, client, store_id):
    with app.app_context():
        from models.stores import Store

        member = make_staff("manager", [db.session.get(Store, store_id)])
        return bearer(staff_token(client, member))


def wechat_side(sandbox, complaint_id):
    return sb(sandbox, "GET", f"/_/pay/complaints/{complaint_id}").json()["complaint"]


def test_notify_sync_respond_refund_complete(app, client, live, sandbox, shop, caplog):  # noqa: F811
    caplog.set_level("DEBUG")
    register_url(app)
    order_no = paid_order(client, sandbox, shop)
    sandbox.state.advance(-7200)  # the payer complained two hours ago
    try:
        complaint_id = complain(sandbox, order_no, images=1)
    finally:
        sandbox.state.advance(7200)
    assert [n["status_code"] for n in deliveries(sandbox, complaint_id)] == [204]
    row = synced(app, complaint_id)
    with app.app_context():
        from models.orders.tables import Order

        order = db.session.scalars(select(Order).where(Order.order_no == order_no)).one()
        assert (row.order_id, row.store_id) == (order.id, shop[0])
        assert row.status == "pending" and row.wechat_state == "PENDING" and row.problem_type == "REFUND"
        assert row.payer_phone_enc and PHONE not in row.payer_phone_enc  # our own encryption
        assert len(row.media) == 1

    headers = manager_of(app, client, shop[0])
    listed = client.get("/api/staff/complaints", headers=headers)
    assert listed.status_code == 200, listed.json
    [item] = listed.json["items"]
    assert item["order_no"] == order_no and item["first_response_s"] is None
    detail = client.get(f"/api/staff/complaints/{complaint_id}", headers=headers).json
    assert detail["payer_phone_masked"] == "139****5678"
    assert [h["operate_type"] for h in detail["history"]][0] == "USER_CREATE_COMPLAINT"
    # The image: a signed GET of its media_id on the API host.
    with app.app_context():
        from app import wechat

        assert wechat.pay().download_complaint_image(detail["media"][0])[:4] == b"\x89PNG"

    # Completing before any response is refused here, without asking WeChat.
    calls_before = len(sb(sandbox, "GET", "/_/pay/calls").json()["calls"])
    assert_error(client.post(f"/api/staff/complaints/{complaint_id}/complete", headers=headers),
                 409, "invalid_transition")
    assert len(sb(sandbox, "GET", "/_/pay/calls").json()["calls"]) == calls_before

    answered = client.post(f"/api/staff/complaints/{complaint_id}/response", headers=headers,
                           json={"content": "您好，已为您安排退款，请留意微信通知。"})
    assert answered.status_code == 200, answered.json
    assert answered.json["status"] == "processing"
    assert 7190 <= answered.json["first_response_s"] <= 7300
    refund = client.post(f"/api/staff/complaints/{complaint_id}/refund-progress", headers=headers,
                         json={"action": "APPROVE", "launch_refund_day": 1})
    assert refund.status_code == 200, refund.json
    assert refund.json["first_response_s"] == answered.json["first_response_s"]  # set once
    done = client.post(f"/api/staff/complaints/{complaint_id}/complete", headers=headers)
    assert done.status_code == 200 and done.json["status"] == "processed", done.json
    again = client.post(f"/api/staff/complaints/{complaint_id}/complete", headers=headers)
    assert again.status_code == 200 and again.json["status"] == "processed"

    there = wechat_side(sandbox, complaint_id)
    assert there["complaint_state"] == "PROCESSED"
    assert [h["operate_type"] for h in there["history"]][-3:] == [
        "MERCHANT_RESPONSE", "MERCHANT_APPROVE_REFUND", "MERCHANT_CONFIRM_COMPLETE"]
    completes = [c for c in sb(sandbox, "GET", "/_/pay/calls").json()["calls"] if c["path"].endswith("/complete")]
    assert [c["http_status"] for c in completes] == [204]  # the repeat asked nothing
    row = synced(app, complaint_id, history=5)  # the sync after the commit brought WeChat's history
    with app.app_context():
        moves = db.session.scalars(select(StateChange.to_status).where(
            StateChange.machine == "complaints", StateChange.row_id == row.id).order_by(StateChange.id)).all()
        assert moves == ["processing", "processed"]
    summary = client.get("/api/staff/complaints/summary", headers=headers).json
    assert summary["total"] == 1 and summary["answered"] == 1 and summary["open"] == 0
    assert summary["max_first_response_s"] == detail_first(client, headers, complaint_id)
    assert PHONE not in caplog.text and PHONE[-8:] not in caplog.text  # never logged


def detail_first(client, headers, complaint_id):
    return client.get(f"/api/staff/complaints/{complaint_id}", headers=headers).json["first_response_s"]


def test_forged_stale_and_duplicate_notifications_change_nothing(app, client, live, sandbox, shop):  # noqa: F811
    register_url(app)
    order_no = paid_order(client, sandbox, shop)
    captured = []
    sandbox.state.pay.notify_sender = lambda url, headers, body, timeout: captured.append((headers, body)) or 503
    try:
        complaint_id = complain(sandbox, order_no)
        deliveries(sandbox, complaint_id)
    finally:
        sandbox.state.pay.notify_sender = None
    headers, body = captured[0]
    url = f"{live}/wechat/pay/complaint-notify"
    forged = requests.post(url, data=body.replace(b'"ciphertext":"', b'"ciphertext":"A'), headers=headers, timeout=5)
    assert forged.status_code == 401 and forged.json()["code"] == "FAIL"
    unsigned = requests.post(url, data=body, headers={**headers, "Wechatpay-Signature": "AAAA"}, timeout=5)
    assert unsigned.status_code == 401
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Complaint)) == 0
    # WeChat's probes and a stale copy are refused; the genuine one and its duplicates land once.
    sb(sandbox, "POST", f"/_/pay/complaints/{complaint_id}/notify",
       json={"signtest": True, "stale": True, "duplicates": 2})
    by_variant = {}
    for n in deliveries(sandbox, complaint_id):
        by_variant.setdefault(n["variant"], []).append(n["status_code"])
    assert by_variant["signtest"] == [401] and by_variant["stale"] == [401]
    assert by_variant["normal"][-1] == 204 and by_variant["duplicate"] == [204, 204]
    row = synced(app, complaint_id)
    replay = requests.post(url, data=body, headers=headers, timeout=5)  # the captured one, replayed
    assert replay.status_code == 204
    synced(app, complaint_id)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Complaint)) == 1
        assert db.session.scalar(select(func.count()).select_from(ComplaintHistory)) == 2
        assert db.session.scalar(select(func.count()).select_from(StateChange).where(
            StateChange.machine == "complaints")) == 0
        assert db.session.get(Complaint, row.id).status == "pending"


def test_duplicate_notifications_at_once_record_one_complaint(app, client, live, sandbox, shop):  # noqa: F811
    """Real threads: the same genuine notification eight times at once (WeChat's retries
    racing each other) → one complaint, its history once, every copy answered 204."""
    import threading

    register_url(app)
    order_no = paid_order(client, sandbox, shop)
    captured = []
    sandbox.state.pay.notify_sender = lambda url, headers, body, timeout: captured.append((headers, body)) or 503
    try:
        complaint_id = complain(sandbox, order_no)
        deliveries(sandbox, complaint_id)
    finally:
        sandbox.state.pay.notify_sender = None
    headers, body = captured[0]
    start, answers = threading.Barrier(8), []

    def send():
        start.wait()
        answers.append(requests.post(f"{live}/wechat/pay/complaint-notify", data=body, headers=headers,
                                     timeout=10).status_code)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [204] * 8
    history_path = f"/v3/merchant-service/complaints-v2/{complaint_id}/negotiation-historys"

    def all_synced():  # each copy's sync ran (after its answer): 8 history reads
        calls = sb(sandbox, "GET", "/_/pay/calls", params={"path": history_path}).json()["calls"]
        return len(calls) == 8
    eventually(app, all_synced, seconds=15)
    synced(app, complaint_id)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Complaint)) == 1
        assert db.session.scalar(select(func.count()).select_from(ComplaintHistory)) == 2


def test_another_store_sees_nothing(app, client, live, sandbox, shop):  # noqa: F811
    register_url(app)
    complaint_id = complain(sandbox, paid_order(client, sandbox, shop))
    synced(app, complaint_id)
    with app.app_context():
        other_id = make_store().id
    stranger = manager_of(app, client, other_id)
    assert client.get("/api/staff/complaints", headers=stranger).json["items"] == []
    assert_error(client.get(f"/api/staff/complaints/{complaint_id}", headers=stranger), 404, "complaint_not_found")
    assert_error(client.post(f"/api/staff/complaints/{complaint_id}/response", headers=stranger,
                             json={"content": "hi"}), 404, "complaint_not_found")
    assert client.get("/api/staff/complaints/summary", headers=stranger).json["total"] == 0
    with app.app_context():
        clerk = bearer(staff_token(client, make_staff("clerk", [])))
    assert_error(client.get("/api/staff/complaints", headers=clerk), 403, "forbidden")
    with app.app_context():
        admin = bearer(staff_token(client, make_staff("admin")))
    assert len(client.get("/api/staff/complaints", headers=admin).json["items"]) == 1


def test_the_pull_catches_up_without_notifications(app, client, live, sandbox, shop):  # noqa: F811
    order_no = paid_order(client, sandbox, shop)  # no URL registered: WeChat notifies nobody
    first = complain(sandbox, order_no, problem_type="OTHERS")
    second = complain(sandbox, order_no)
    sb(sandbox, "POST", f"/_/pay/complaints/{second}/user-response", json={"content": "请尽快处理"})
    with app.app_context():
        done = pull()
        db.session.commit()
        assert done["listed"] == 2 and done["synced"] == 2
        again = pull()  # nothing new: nothing written
        db.session.commit()
        assert again["synced"] == 0
        rows = {c.complaint_id: c for c in db.session.scalars(select(Complaint))}
        assert set(rows) == {first, second} and rows[second].incoming_user_response
        assert db.session.scalar(select(func.count()).select_from(ComplaintHistory)) == 5
    headers = manager_of(app, client, shop[0])
    assert_error(client.post(f"/api/staff/complaints/{first}/refund-progress", headers=headers,
                             json={"action": "REJECT", "reject_reason": "不符合"}), 409, "complaint_not_refund")
    assert_error(client.post(f"/api/staff/complaints/{first}/refund-progress", headers=headers,
                             json={"action": "APPROVE"}), 400, "invalid_request")


def test_an_answer_made_elsewhere_counts_and_a_new_complaint_reopens(app, client, live, sandbox, shop):  # noqa: F811
    """Answered on WeChat's merchant platform (not through us): the pull finds it in the
    history, sets the first response from it and follows WeChat's state; the payer
    complaining again after completion reopens ours."""
    from datetime import timedelta

    order_no = paid_order(client, sandbox, shop)
    sandbox.state.advance(-3600)
    try:
        complaint_id = complain(sandbox, order_no, problem_type="OTHERS")
    finally:
        sandbox.state.advance(3600)
    with app.app_context():
        from app import wechat

        wechat.pay().respond_complaint(complaint_id, "已在商户平台回复")
        wechat.pay().complete_complaint(complaint_id)
        pull()
        db.session.commit()
        row = db.session.scalars(select(Complaint)).one()
        assert row.status == "processed" and row.first_response_by is None
        assert timedelta(minutes=59) <= row.first_response_at - row.complaint_time <= timedelta(minutes=61)
    sb(sandbox, "POST", f"/_/pay/complaints/{complaint_id}/user-response", json={"content": "问题没解决"})
    with app.app_context():
        pull()
        db.session.commit()
        row = db.session.scalars(select(Complaint)).one()
        assert row.status == "pending" and row.incoming_user_response and row.user_complaint_times == 2
        moves = db.session.scalars(select(StateChange.to_status).where(
            StateChange.machine == "complaints").order_by(StateChange.id)).all()
        assert moves == ["processed", "pending"]  # followed WeChat to processed, then reopened


def test_a_complaint_opens_one_after_sale_for_what_the_shopper_has(app, client, live, sandbox, shop):  # noqa: F811
    from models.aftersales.tables import AfterSale
    from models.stores import Store
    from tests.factories import mark_ready

    register_url(app)
    order_no = paid_order(client, sandbox, shop)
    with app.app_context():
        mark_ready(order_no)
        clerk = bearer(staff_token(client, make_staff("clerk", [db.session.get(Store, shop[0])])))
    code = client.get(f"/api/orders/{order_no}/pickup", headers=shop[2]).json["code"]
    assert client.post("/api/staff/pickups/verify", headers={**clerk, "X-Device-Id": "c1"},
                       json={"code": code}).status_code == 200
    complaint_id = complain(sandbox, order_no)
    synced(app, complaint_id)
    manager = manager_of(app, client, shop[0])
    opened = client.post(f"/api/staff/complaints/{complaint_id}/after-sale", headers=manager, json={})
    assert opened.status_code == 201, opened.json
    after_sale_no = opened.json["after_sale_no"]
    with app.app_context():
        sale = db.session.scalars(select(AfterSale).where(AfterSale.after_sale_no == after_sale_no)).one()
        assert (sale.kind, sale.status, sale.refund_fen) == ("refund_only", "requested", 12800)
    assert_error(client.post(f"/api/staff/complaints/{complaint_id}/after-sale", headers=manager, json={}),
                 409, "complaint_has_after_sale")
    with app.app_context():
        other = make_store().id
    assert_error(client.post(f"/api/staff/complaints/{complaint_id}/after-sale", headers=manager_of(app, client, other),
                             json={}), 404, "complaint_not_found")
