"""Prometheus metrics. Under gunicorn set PROMETHEUS_MULTIPROC_DIR so that /metrics
sums every worker (prometheus_client's multiprocess mode).

Two kinds: counters kept by the processes that count (summed across workers in
multiprocess mode), and figures read from the database when /metrics is answered
(models/monitoring.py, passed to `render`): those are the same whichever worker answers,
so they need no multiprocess mode. deploy/prometheus/tihuo-alerts.yml alerts on both."""
from __future__ import annotations

import os
import time

from flask import Flask, Response, g, request
import logging
from collections.abc import Callable, Iterable

from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram,
                               generate_latest, multiprocess)
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)

REQUESTS = Counter("tihuo_http_requests_total", "HTTP requests", ["method", "endpoint", "status"])
LATENCY = Histogram("tihuo_http_request_seconds", "HTTP request latency", ["method", "endpoint"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
WECHAT_CALLS = Counter("tihuo_wechat_calls_total", "Calls to WeChat", ["api", "outcome"])
OUTBOX_DELIVERIES = Counter("tihuo_outbox_deliveries_total", "Outbox rows finished or retried",
                            ["kind", "status"])
# A WeChat Pay notification refused (bad signature, a platform key we do not have, a body
# that does not decrypt: WeChat sends it again later). A few are an attack or noise; a
# steady stream is a key or certificate problem and payments are not being confirmed.
NOTIFY_REJECTIONS = Counter("tihuo_wechatpay_notify_rejections_total",
                            "WeChat Pay notifications refused (answered 4xx)", ["kind"])
for _kind in ("payment", "refund", "complaint"):  # shown at 0 from the start: rate() needs a start
    NOTIFY_REJECTIONS.labels(_kind)


def render(read_gauges: Callable[[], Iterable] | None = None) -> Response:
    """The exposition: the counters, then the figures `read_gauges` returns (objects with
    name, help, value, labels). If those cannot be read (the database is down),
    tihuo_monitoring_up is 0 and the rest is still answered."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        data = generate_latest(registry)
    else:
        data = generate_latest()
    if read_gauges is not None:
        data += generate_latest(_ReadNow(read_gauges))
    return Response(data, mimetype=CONTENT_TYPE_LATEST)


class _ReadNow:
    """A one-scrape registry of figures read at this moment."""

    def __init__(self, read_gauges):
        self._read = read_gauges

    def collect(self):
        try:
            figures, up = list(self._read()), 1
        except Exception:  # noqa: BLE001 - a scrape still answers the counters
            log.warning("metrics: the database figures could not be read", exc_info=True)
            figures, up = [], 0
        families: dict[str, GaugeMetricFamily] = {}
        for figure in figures:
            labels = figure.labels or {}
            family = families.get(figure.name)
            if family is None:
                family = families[figure.name] = GaugeMetricFamily(figure.name, figure.help,
                                                                   labels=sorted(labels))
            family.add_metric([labels[k] for k in sorted(labels)], figure.value)
        yield from families.values()
        yield GaugeMetricFamily("tihuo_monitoring_up", "1 when /metrics could read its database figures",
                                value=up)


def init_app(app: Flask) -> None:
    @app.after_request
    def _observe(response):
        # The URL rule, not the raw path, keeps label cardinality bounded.
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
        if "started" in g:  # set by app.logs, which is initialised first
            LATENCY.labels(request.method, endpoint).observe(time.perf_counter() - g.started)
        return response
