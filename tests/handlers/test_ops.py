"""Health, readiness, metrics, OpenAPI, request ids, JSON logs."""
from __future__ import annotations

import json
import logging

import flask
import pytest

from tests.app.test_errors import assert_error


def test_healthz(client):
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz_checks_database_and_redis(client):
    resp = client.get("/readyz")
    assert resp.status_code == 200
    assert resp.json["checks"] == {"database": "ok", "redis": "ok"}


def test_readyz_reports_a_dead_database(settings):
    from app import create_app

    app = create_app(settings.model_copy(update={
        "DATABASE_URL": "mysql+pymysql://nobody@127.0.0.1:1/none"}))
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503
    assert resp.json["checks"]["database"].startswith("error")
    assert resp.json["checks"]["redis"] == "ok"


def test_metrics_count_requests(client):
    client.get("/healthz")
    body = client.get("/metrics").get_data(as_text=True)
    assert 'tihuo_http_requests_total{endpoint="/healthz",method="GET",status="200"}' in body


def test_openapi_document_is_generated(client):
    spec = client.get("/openapi.json").json
    assert spec["info"]["title"] == "Tihuo API"
    for path in ("/api/auth/login", "/api/auth/phone", "/api/stores", "/api/products",
                 "/api/staff/login", "/api/admin/stores", "/api/admin/products/{product_id}/skus"):
        assert path in spec["paths"], path
    login_body = json.dumps(spec["paths"]["/api/auth/login"]["post"]["requestBody"])
    schema_name = login_body.split("#/components/schemas/")[1].split('"')[0]
    assert "code" in spec["components"]["schemas"][schema_name]["properties"]
    assert not any(p.startswith("/sandbox") for p in spec["paths"])
    assert client.get("/docs").status_code == 200


def test_request_id_is_echoed_or_made(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id;drop"}).headers["X-Request-ID"]
    assert len(made) == 32 and made != "bad id;drop"


def test_access_log_is_json_with_request_id(client, caplog):
    from app.logs import access_log

    with caplog.at_level(logging.INFO, logger=access_log.name):
        client.get("/healthz?secret=hunter2", headers={"X-Request-ID": "rid-1"})
    record = next(r for r in caplog.records if r.name == access_log.name)
    assert record.path == "/healthz" and record.status == 200 and record.request_id == "rid-1"
    assert "hunter2" not in caplog.text


def test_no_stack_trace_on_405(client):
    err = assert_error(client.put("/healthz"), 405, "method_not_allowed")
    assert "Traceback" not in json.dumps(err)


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_redis_down_is_503_not_500(settings):
    from app import create_app

    app = create_app(settings.model_copy(update={"REDIS_URL": f"redis://127.0.0.1:{_closed_port()}/0"}))
    resp = app.test_client().get("/api/staff/me", headers={"Authorization": "Bearer whatever"})
    err = assert_error(resp, 503, "unavailable")
    assert resp.headers["Retry-After"] == "5" and err["details"] == {}


def test_a_redis_cluster_down_at_start_is_503_not_a_crash(settings):
    """The cluster client asks a seed node for the slot map when first used, not when the
    app is made: a web process starts while the cluster is down, answers 503, and
    /readyz says which dependency is missing."""
    from app import create_app

    seeds = f"127.0.0.1:{_closed_port()},127.0.0.1:{_closed_port()}"
    app = create_app(settings.model_copy(update={"REDIS_URL": f"redis+cluster://{seeds}"}))
    resp = app.test_client().get("/api/staff/me", headers={"Authorization": "Bearer whatever"})
    assert_error(resp, 503, "unavailable")
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503 and ready.json["checks"]["redis"] == "error: RedisClusterException"


def test_database_down_is_503_not_500(settings):
    from app import create_app

    app = create_app(settings.model_copy(update={
        "DATABASE_URL": f"mysql+pymysql://root@127.0.0.1:{_closed_port()}/none"}))
    assert_error(app.test_client().get("/api/stores"), 503, "unavailable")


def test_no_cookie_session_is_kept_or_sent(app, client):
    # Tokens, not cookies: a request gets Flask's null session, which refuses writes,
    # and no response sets a cookie.
    with app.test_request_context("/healthz"):
        with pytest.raises(RuntimeError):
            flask.session["user"] = 1
    assert "Set-Cookie" not in client.get("/healthz").headers
