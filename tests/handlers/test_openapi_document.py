"""What the OpenAPI document promises, checked against the service (issue 17, item 13).
The property-based run (test_openapi_fuzz.py) samples; these pin the rules exactly."""
from __future__ import annotations

import pytest

from tests.factories import admin_headers, bearer, make_staff, shopper_token


@pytest.fixture
def spec(client):
    return client.get("/openapi.json").json


def operations(spec):
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            yield method.upper(), path, op


def test_booleans_take_only_true_and_false(client, ctx, spec):
    headers = admin_headers(client)
    clerk = make_staff("clerk")
    for wrong in (1, 0, "true", "yes", "1", None):
        resp = client.patch(f"/api/admin/staff/{clerk.id}", json={"active": wrong}, headers=headers)
        assert resp.status_code == 400, (wrong, resp.status_code)
        assert "active" in resp.json["error"]["details"]["fields"]
    assert client.patch(f"/api/admin/staff/{clerk.id}", json={"active": False}, headers=headers).json["active"] is False
    # In a query string a boolean is the word true or false.
    assert client.get("/api/admin/cards", query_string={"locked": "1"}, headers=headers).status_code == 400
    assert client.get("/api/admin/cards", query_string={"locked": "true"}, headers=headers).status_code == 200
    for _, _, op in operations(spec):
        for param in op.get("parameters", []):
            if param["schema"].get("type") == "boolean":
                assert param["in"] == "query"


def test_the_cursor_is_documented_as_it_is_accepted(client, ctx, spec):
    cursors = [(path, p["schema"]) for method, path, op in operations(spec)
               for p in op.get("parameters", []) if p["name"] == "cursor"]
    assert len(cursors) >= 8
    for path, schema in cursors:
        assert (schema.get("maxLength"), schema.get("pattern")) == (18, "^[0-9]*$"), path
    headers = admin_headers(client)
    assert client.get("/api/admin/audit", query_string={"cursor": "9" * 18}, headers=headers).status_code == 200
    assert client.get("/api/admin/audit", query_string={"cursor": "9" * 19}, headers=headers).status_code == 400


def test_idempotency_key_is_a_declared_header_and_checked(client, sandbox, spec):
    declared = {(method, path): p for method, path, op in operations(spec)
                for p in op.get("parameters", []) if p["in"] == "header" and p["name"] == "Idempotency-Key"}
    assert set(declared) == {("POST", "/api/orders"), ("POST", "/api/cards/redeem"),
                             ("POST", "/api/staff/orders/{order_no}/refunds"), ("POST", "/api/staff/pickups/verify"),
                             ("POST", "/api/admin/points/grants"), ("POST", "/api/coupons/{template_id}/exchange"),
                             ("POST", "/api/partner/v1/stores/{store_id}/stock/adjustments"),
                             ("POST", "/api/partner/v1/stores/{store_id}/stock/counts")}
    assert declared[("POST", "/api/staff/orders/{order_no}/refunds")]["required"] is True
    assert declared[("POST", "/api/admin/points/grants")]["required"] is True
    assert declared[("POST", "/api/coupons/{template_id}/exchange")]["required"] is True
    assert declared[("POST", "/api/orders")].get("required", False) is False
    token = bearer(shopper_token(client, sandbox))
    resp = client.post("/api/orders", json={"store_id": 1, "fulfillment": "pickup", "items": [{"sku_id": 1, "qty": 1}]},
                       headers={**token, "Idempotency-Key": "no spaces allowed"})
    assert resp.status_code == 400
    assert "Idempotency-Key" in resp.json["error"]["details"]["fields"]


def test_every_route_lists_what_its_layers_answer(app, spec):
    views = {(m, r.rule): app.view_functions[r.endpoint] for r in app.url_map.iter_rules() for m in r.methods}
    staff_ops = 0
    for method, path, op in operations(spec):
        statuses = set(op["responses"])
        if path not in ("/healthz", "/api/messages/templates"):
            assert "503" in statuses, (method, path)
        if "requestBody" in op:
            assert {"400", "413", "415"} <= statuses, (method, path)
        if op.get("security"):
            assert "401" in statuses, (method, path)
        if any("StaffToken" in s for s in op.get("security", [])):
            staff_ops += 1
            flask_rule = path.replace("{", "<").replace("}", ">")
            view = next((v for (m, rule), v in views.items()
                         if m == method and rule.replace("int:", "") == flask_rule), None)
            if getattr(view, "ability", None):
                assert "403" in statuses and view.ability in op["responses"]["403"]["description"], path
    assert staff_ops > 40


def test_wechat_pay_notifications_are_documented_in_wechats_shape(client, spec):
    op = spec["paths"]["/wechat/pay/notify"]["post"]
    assert set(op["responses"]) >= {"204", "401"} and "200" not in op["responses"]
    refused = client.post("/wechat/pay/notify", data=b"{}", headers={"Content-Type": "application/json"})
    assert refused.status_code == 401 and refused.json["code"] == "FAIL"
    schema = op["responses"]["401"]["content"]["application/json"]["schema"]
    assert set(schema["required"]) == set(refused.json)
