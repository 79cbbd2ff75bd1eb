"""Pickup codes: issued when an order is ready, shown to its owner only, never stored,
at the level its store and products ask for; V3 near the store only; reissue; the
mini-program code for the clerk."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import requests
from sqlalchemy import select, text

from app.extensions import db
from models.audit import AuditLog
from models.outbox.tables import OutboxMessage
from models.pickup import payloads
from models.pickup.tables import PickupCode
from tests.factories import admin_headers, make_shopper, mark_paid
from tests.models.pickup.support import (counter, make_counter, order_row, place, ready_order, shown,  # noqa: F401
                                  verify)
from tests.app.test_errors import assert_error

STORE_NEAR = {"lat": 31.2301, "lng": 121.4701}  # ~50 m from the factory store (31.23, 121.47)
STORE_FAR = {"lat": 31.2500, "lng": 121.4700}   # ~2.2 km away


def test_ready_issues_a_code_shown_to_its_owner_only(client, counter):
    order_no = place(client, counter)
    assert_error(client.get(f"/api/orders/{order_no}/pickup", headers=counter.shopper), 409, "pickup_not_ready")
    mark_paid(order_no)
    assert_error(client.get(f"/api/orders/{order_no}/pickup", headers=counter.shopper), 409, "pickup_not_ready")
    ready = client.post(f"/api/staff/orders/{order_no}/ready", headers=counter.clerk)
    assert ready.status_code == 200 and ready.json["pickup_deadline"]
    resp = client.get(f"/api/orders/{order_no}/pickup", headers=counter.shopper)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    body = resp.json
    assert re.fullmatch(r"[0-9]{12}", body["code"]) and body["qr_payload"] == body["code"]
    assert body["level"] == 1 and body["refresh_in_s"] is None
    assert body["expires_at"] == ready.json["pickup_deadline"]
    assert body["store"]["id"] == counter.store.id and body["store"]["name"] == counter.store.name
    assert body["remaining"] == [{"sku_id": counter.skus[0].id, "name": "月饼", "spec": "双黄 6枚", "qty": 2}]
    assert shown(client, counter, order_no)["code"] == body["code"]  # stable while live
    _, stranger = make_shopper()
    assert_error(client.get(f"/api/orders/{order_no}/pickup", headers=stranger), 404, "not_found")
    assert_error(client.get(f"/api/orders/{order_no}/pickup"), 401, "unauthorized")
    order = order_row(order_no)
    assert order.pickup_deadline - order.ready_at == timedelta(hours=48)
    ready_msgs = db.session.scalars(select(OutboxMessage.payload)
                                    .where(OutboxMessage.kind == "subscribe_message")).all()
    assert {"event": "ready_for_pickup", "order_id": order.id} in ready_msgs


def test_the_code_is_not_stored_anywhere(client, counter):
    order_no = ready_order(client, counter)
    code = shown(client, counter, order_no)["code"]
    assert verify(client, counter.clerk, code=code).status_code == 200
    row = db.session.scalars(select(PickupCode)).one()
    assert row.code_hash == payloads.code_hash(code) and code not in row.seed
    # Nothing in the database holds the digits: not the code row, not the audit log.
    for table in ("pickup_codes", "audit_logs", "outbox", "order_events", "pickup_verifications"):
        dump = json.dumps([list(map(str, r)) for r in db.session.execute(text(f"SELECT * FROM {table}"))])
        assert code not in dump, table
    audits = db.session.scalars(select(AuditLog).where(AuditLog.action == "pickup.verify")).all()
    assert [a.changes["result"] for a in audits] == ["ok"]


def test_store_expiry_hours_and_levels(client, ctx):
    c = make_counter(client, store_level=1, product_level=2, expiry_hours=6)
    order_no = ready_order(client, c)
    order = order_row(order_no)
    assert order.pickup_deadline - order.ready_at == timedelta(hours=6)
    body = shown(client, c, order_no)
    assert body["level"] == 2 and body["refresh_in_s"] is None
    assert body["qr_payload"].startswith(f"TH2:{order_no}:1:") and body["code"] not in body["qr_payload"]
    v3 = make_counter(client, store_level=3, product_level=1)
    body = shown(client, v3, ready_order(client, v3))
    assert body["level"] == 3 and 1 <= body["refresh_in_s"] <= 30
    assert re.fullmatch(r"TH3:TH[0-9]+:1:[0-9]+:[0-9A-F]{32}", body["qr_payload"])


def test_v3_shown_only_within_the_store_radius(client, ctx):
    c = make_counter(client, store_level=3, radius=500)
    order_no = ready_order(client, c)
    url = f"/api/orders/{order_no}/pickup"
    assert_error(client.get(url, headers=c.shopper), 400, "location_required")
    far = assert_error(client.get(url, headers=c.shopper, query_string=STORE_FAR), 403, "outside_pickup_radius")
    assert far["details"]["radius_m"] == 500 and far["details"]["distance_m"] > 2000
    near = shown(client, c, order_no, **STORE_NEAR)
    assert near["distance_m"] < 100 and near["qr_payload"].startswith("TH3:")
    assert_error(client.get(url, headers=c.shopper, query_string={"lat": 31.23}), 400, "invalid_request")
    assert_error(client.get(url, headers=c.shopper, query_string={"lat": 91, "lng": 0}), 400, "invalid_request")
    # A V1 code at the same kind of store needs no location.
    v1 = make_counter(client, store_level=1, radius=500)
    assert shown(client, v1, ready_order(client, v1))["level"] == 1


def test_admin_sets_levels_expiry_and_auto_ready(client, ctx):
    admin = admin_headers(client)
    store = client.post("/api/admin/stores", headers=admin, json={
        "name": "徐家汇店", "address": "上海市徐汇区1号", "lat": 31.19, "lng": 121.43,
        "pickup_level": 3, "pickup_expiry_hours": 24, "auto_ready": True}).json
    assert (store["pickup_level"], store["pickup_expiry_hours"], store["auto_ready"]) == (3, 24, True)
    patched = client.patch(f"/api/admin/stores/{store['id']}", headers=admin, json={"pickup_level": 2}).json
    assert patched["pickup_level"] == 2 and patched["auto_ready"] is True
    product = client.post("/api/admin/products", headers=admin, json={"name": "大闸蟹", "pickup_level": 3}).json
    assert product["pickup_level"] == 3
    assert client.patch(f"/api/admin/products/{product['id']}", headers=admin,
                        json={"pickup_level": 1}).json["pickup_level"] == 1
    default = client.post("/api/admin/products", headers=admin, json={"name": "啤酒"}).json
    assert default["pickup_level"] == 1
    for bad in ({"pickup_level": 4}, {"pickup_level": "2"}, {"pickup_expiry_hours": 0}, {"auto_ready": "maybe"}):
        assert_error(client.patch(f"/api/admin/stores/{store['id']}", headers=admin, json=bad), 400, "invalid_request")
    assert_error(client.patch(f"/api/admin/products/{product['id']}", headers=admin, json={"pickup_level": 0}),
                 400, "invalid_request")


def test_reissue_retires_the_old_code(client, counter):
    order_no = ready_order(client, counter)
    old = shown(client, counter, order_no)["code"]
    url = f"/api/staff/pickups/orders/{order_no}/reissue"
    assert_error(client.post(url, headers=counter.clerk, json={}), 403, "forbidden")
    resp = client.post(url, headers=counter.manager, json={"note": "顾客换了手机"})
    assert resp.status_code == 200, resp.json
    assert resp.json["version"] == 2 and "code" not in resp.json  # the manager never sees it
    new = shown(client, counter, order_no)["code"]
    assert new != old
    assert_error(verify(client, counter.clerk, code=old), 400, "pickup_code_invalid")
    assert verify(client, counter.clerk, code=new).status_code == 200
    audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "pickup.reissue")).one()
    assert audit.changes["note"] == "顾客换了手机" and audit.actor_type == "staff"


def test_reissue_keeps_v2_payloads_honest(client, ctx):
    c = make_counter(client, store_level=2)
    order_no = ready_order(client, c)
    old = shown(client, c, order_no)["qr_payload"]
    client.post(f"/api/staff/pickups/orders/{order_no}/reissue", headers=c.manager, json={})
    new = shown(client, c, order_no)["qr_payload"]
    assert new.startswith(f"TH2:{order_no}:2:")
    assert_error(verify(client, c.clerk, qr_payload=old), 400, "pickup_code_invalid")
    assert verify(client, c.clerk, qr_payload=new).status_code == 200


def test_mini_program_code_opens_the_verify_page(client, counter, sandbox):
    order_no = ready_order(client, counter)
    code = shown(client, counter, order_no)["code"]
    url = f"/api/orders/{order_no}/pickup/wxacode"
    first = client.post(url, headers=counter.shopper)
    assert first.status_code == 200 and first.mimetype == "image/png"
    assert first.data.startswith(b"\x89PNG\r\n\x1a\n")
    client.post(url, headers=counter.shopper)  # a second one replaces the first
    issued = requests.get(f"{sandbox.base_url}/_/wxacodes", timeout=5).json()["wxacodes"]
    scenes = [w["scene"] for w in issued]
    assert len(scenes) == 2 and all(len(s) <= 32 for s in scenes)
    assert {w["page"] for w in issued} == {"pages/staff/verify"}
    for scene in scenes:  # names neither the code nor the order
        assert code not in scene and order_no not in scene and code[-6:] not in scene
    assert_error(verify(client, counter.clerk, qr_payload=scenes[0]), 400, "pickup_code_invalid")
    done = verify(client, counter.clerk, qr_payload=scenes[1])
    assert done.status_code == 200 and done.json["status"] == "picked_up"
    assert_error(client.post(url, headers=counter.shopper), 409, "already_picked_up")
    _, stranger = make_shopper()
    assert_error(client.post(url, headers=stranger), 404, "not_found")


def test_no_mini_program_code_for_a_dynamic_qr_order(client, ctx):
    c = make_counter(client, store_level=3)
    order_no = ready_order(client, c)
    assert_error(client.post(f"/api/orders/{order_no}/pickup/wxacode", headers=c.shopper),
                 409, "pickup_dynamic_qr_only")


def test_mini_program_code_when_wechat_fails(client, counter, sandbox):
    order_no = ready_order(client, counter)
    requests.post(f"{sandbox.base_url}/_/fail-next", json={"path": "/wxa/getwxacodeunlimit", "errcode": -1},
                  timeout=5)
    assert_error(client.post(f"/api/orders/{order_no}/pickup/wxacode", headers=counter.shopper),
                 503, "wechat_unavailable")
    assert db.session.scalars(select(PickupCode.wxa_hash)).one() is None
