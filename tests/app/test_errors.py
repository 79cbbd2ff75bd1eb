"""Every failure answers the one JSON error shape with a stable code, never a 500."""
from __future__ import annotations

import pytest

from tests.factories import bearer, make_staff, staff_token


def assert_error(resp, status, code):
    assert resp.status_code == status, resp.get_data(as_text=True)
    body = resp.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    return body["error"]


def test_unknown_path_is_json_404(client):
    assert_error(client.get("/api/nope"), 404, "not_found")


def test_wrong_method_is_json_405(client):
    assert_error(client.delete("/api/auth/login"), 405, "method_not_allowed")


def test_missing_field(client):
    err = assert_error(client.post("/api/auth/login", json={}), 400, "invalid_request")
    assert "code" in err["details"]["fields"]


def test_wrong_type(client):
    err = assert_error(client.post("/api/auth/login", json={"code": 12}), 400, "invalid_request")
    assert "code" in err["details"]["fields"]


def test_unknown_field_refused(client):
    err = assert_error(client.post("/api/auth/login", json={"code": "x", "evil": 1}), 400,
                       "invalid_request")
    assert "evil" in err["details"]["fields"]


@pytest.mark.parametrize("body", [b"{not json", b"[1,2", b"\xff\xfe", b'"just a string"'])
def test_bad_json(client, body):
    assert_error(client.post("/api/auth/login", data=body, content_type="application/json"),
                 400, "invalid_request")


def test_form_body_is_415(client):
    assert_error(client.post("/api/auth/login", data={"code": "x"}), 415, "unsupported_media_type")


def test_huge_body_is_413(client):
    big = b'{"code": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    assert_error(client.post("/api/auth/login", data=big, content_type="application/json"),
                 413, "payload_too_large")


def test_bad_query_parameter(client):
    err = assert_error(client.get("/api/stores?lat=north"), 400, "invalid_request")
    assert "lat" in err["details"]["fields"]


def test_cursor_must_be_ours(client, ctx):
    admin = make_staff("admin")
    resp = client.get("/api/admin/products?cursor=abc", headers=bearer(staff_token(client, admin)))
    assert_error(resp, 400, "invalid_request")


def test_internal_errors_hide_details(settings):
    from app import create_app

    app = create_app(settings)

    @app.get("/_boom")
    def boom():
        raise RuntimeError("SELECT secret FROM somewhere")

    resp = app.test_client().get("/_boom")
    err = assert_error(resp, 500, "internal_error")
    assert "SELECT" not in resp.get_data(as_text=True)
    assert err["details"] == {}


def test_a_redis_cluster_in_failover_is_503_and_our_cross_slot_mistake_500(settings):
    """What redis-py's cluster client raises while a primary fails over is 503
    `unavailable` (with a Retry-After); keys of one command in different slots are a bug."""
    import redis.exceptions as rx

    from app import create_app

    app = create_app(settings)
    raised = {
        "down": rx.ClusterDownError("CLUSTERDOWN The cluster is down"),
        "master-down": rx.MasterDownError("MASTERDOWN Link with MASTER is down"),
        "ttl": rx.ClusterError("TTL exhausted."),
        "try-again": rx.TryAgainError("TRYAGAIN"),
        "unreachable": rx.RedisClusterException("Redis Cluster cannot be connected. Please provide at "
                                                "least one reachable node: refused"),
        "uncovered": rx.SlotNotCoveredError("Slot 42 is not covered by the cluster."),
        "cross-slot": rx.RedisClusterException("EVALSHA - all keys must map to the same key slot"),
    }

    @app.get("/_redis/<kind>")
    def fail(kind):
        raise raised[kind]

    client = app.test_client()
    for kind in raised:
        resp = client.get(f"/_redis/{kind}")
        if kind == "cross-slot":
            assert_error(resp, 500, "internal_error")
        else:
            assert_error(resp, 503, "unavailable")
            assert resp.headers["Retry-After"] == "5"
