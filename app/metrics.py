"""Prometheus metrics. Under gunicorn set PROMETHEUS_MULTIPROC_DIR so that /metrics
sums every worker (prometheus_client's multiprocess mode)."""
from __future__ import annotations

import os
import time

from flask import Flask, Response, g, request
from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram,
                               generate_latest, multiprocess)

REQUESTS = Counter("tihuo_http_requests_total", "HTTP requests", ["method", "endpoint", "status"])
LATENCY = Histogram("tihuo_http_request_seconds", "HTTP request latency", ["method", "endpoint"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
WECHAT_CALLS = Counter("tihuo_wechat_calls_total", "Calls to WeChat", ["api", "outcome"])
OUTBOX_DELIVERIES = Counter("tihuo_outbox_deliveries_total", "Outbox rows finished or retried",
                            ["kind", "status"])


def render() -> Response:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        data = generate_latest(registry)
    else:
        data = generate_latest()
    return Response(data, mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    @app.after_request
    def _observe(response):
        # The URL rule, not the raw path, keeps label cardinality bounded.
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
        if "started" in g:  # set by app.logs, which is initialised first
            LATENCY.labels(request.method, endpoint).observe(time.perf_counter() - g.started)
        return response
