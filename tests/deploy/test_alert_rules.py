"""deploy/prometheus/tihuo-alerts.yml: Prometheus's rule-file shape, and every metric an
alert reads is one a real scrape of the app exposes (a renamed metric would leave its
alert silently never firing)."""
from __future__ import annotations

import re
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "tihuo-alerts.yml"
DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
# PromQL words that are not metric names (functions, aggregations, modifiers).
PROMQL = {"sum", "max", "min", "avg", "count", "rate", "increase", "irate", "time", "by", "without",
          "and", "or", "unless", "on", "ignoring", "group_left", "group_right", "bool", "offset",
          "histogram_quantile", "abs", "absent", "delta", "deriv", "clamp_min", "clamp_max"}
# Prometheus's own series, not the app's.
PROMETHEUS_OWN = {"up"}


def _rules() -> list[dict]:
    document = yaml.safe_load(RULES.read_text())
    assert set(document) == {"groups"}
    rules = []
    for group in document["groups"]:
        assert set(group) <= {"name", "rules", "interval"} and group["name"] and group["rules"]
        rules.extend(group["rules"])
    return rules


def metric_names(expr: str) -> set[str]:
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)        # label values
    bare = re.sub(r"\{[^}]*\}", "", bare)                # label matchers
    bare = re.sub(r"\[[^\]]*\]", "", bare)               # range selectors
    bare = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", bare)  # grouping labels
    return {word for word in re.findall(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b", bare)
            if word not in PROMQL and not re.fullmatch(r"[0-9.e]+", word)}


def test_rule_file_shape():
    rules = _rules()
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names)) and all(re.fullmatch(r"Tihuo[A-Za-z]+", n) for n in names)
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}, rule["alert"]
        assert isinstance(rule["expr"], str) and rule["expr"].strip(), rule["alert"]
        assert DURATION.match(str(rule.get("for", "0m"))), rule["alert"]
        assert rule["labels"]["severity"] in ("critical", "warning", "info"), rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
    # The failure modes issue 23 names, each watched.
    exprs = " ".join(rule["expr"] for rule in rules)
    for metric in ("tihuo_outbox_messages", "tihuo_outbox_oldest_waiting_seconds",
                   "tihuo_wechatpay_notify_rejections_total", "tihuo_reconciliation_differences",
                   "tihuo_pickups_expiring_soon"):
        assert metric in exprs, metric


def test_the_extraction_finds_metrics():
    assert metric_names('sum by (kind) (increase(a_total{x=~"p|q"}[15m])) / b > 0.02') == {"a_total", "b"}


def test_every_metric_an_alert_reads_is_scraped(client):
    client.get("/healthz")  # one request, so the request counter has a sample
    scraped = {sample.name for family in text_string_to_metric_families(client.get("/metrics").get_data(as_text=True))
               for sample in family.samples}
    used = set().union(*(metric_names(rule["expr"]) for rule in _rules())) - PROMETHEUS_OWN
    assert used and used <= scraped, used - scraped


def _rejections(client, kind: str) -> float:
    for family in text_string_to_metric_families(client.get("/metrics").get_data(as_text=True)):
        for sample in family.samples:
            if sample.name == "tihuo_wechatpay_notify_rejections_total" and sample.labels == {"kind": kind}:
                return sample.value
    raise AssertionError("no such sample")


def test_a_refused_notify_is_counted(client):
    before = _rejections(client, "payment")
    refused = client.post("/wechat/pay/notify", data=b'{"id": "forged"}', headers={
        "Content-Type": "application/json", "Wechatpay-Serial": "PUB_KEY_ID_0000", "Wechatpay-Signature": "AAAA",
        "Wechatpay-Timestamp": "1700000000", "Wechatpay-Nonce": "n"})
    assert refused.status_code == 401 and refused.json["code"] == "FAIL"
    assert _rejections(client, "payment") == before + 1
    assert _rejections(client, "refund") >= 0
