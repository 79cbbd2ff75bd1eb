"""The OpenAPI document describes what the service does (issue 17, item 13).

A bounded property-based run over /openapi.json (schemathesis, on top of Hypothesis):
every operation gets valid requests and requests that break the document's rules,
with a shopper's or a staff member's token as the operation declares. Every answer
must be no server error, a status the document lists for the operation, the document's
content type and body shape — and a request the document says is invalid must be
refused. The budget (FUZZ_EXAMPLES cases per mode per operation) keeps it near two
minutes; it runs on MariaDB only (the slow tests do). The cases are the same on every run
(derandomized: CI does not go red on a case no one changed code for); FUZZ_RANDOM=1
draws new ones, e.g. `FUZZ_RANDOM=1 FUZZ_EXAMPLES=200 scripts/test -k openapi_fuzz`."""
from __future__ import annotations

import os
import time
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import checks
from schemathesis.generation import GenerationMode

from tests.conftest import backend_is_mysql
from models.partners.clients import SCOPES
from tests.factories import bearer, make_product, make_staff, make_store, shopper_token, staff_token, stock
from tests.models.partners.helpers import partner_headers, reset_switch

pytestmark = pytest.mark.skipif(not backend_is_mysql(), reason="slow property-based run: MariaDB only")

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))
DERANDOMIZE = os.environ.get("FUZZ_RANDOM") != "1"
CHECKS = [checks.not_a_server_error, checks.status_code_conformance,
          checks.content_type_conformance, checks.response_headers_conformance,
          checks.response_schema_conformance, checks.negative_data_rejection]
# Operations that end the run's own sessions (every later call would only prove 401).
SESSION_ENDERS = {("POST", "/api/staff/logout"), ("POST", "/api/auth/logout"), ("DELETE", "/api/console/session"),
                  ("POST", "/api/admin/partners/clients/{client_id}/revoke")}  # the partner token's client


def _summary(operation, mode, response, exc) -> str:
    """One line per broken rule, and the request to reproduce it."""
    text = str(exc)
    rules = [line[2:] for line in text.splitlines() if line.startswith("- ")]
    curl = next((line.strip() for line in text.splitlines() if line.strip().startswith("curl ")), "")
    return (f"{operation.method.upper()} {operation.path} [{mode.value}] {response.status_code}: "
            f"{'; '.join(rules) or text[:300]}\n    {curl[:400]}")


def _known_objects(client, sandbox, tokens) -> dict[str, object]:
    """Real rows for the path parameters, so that cases reach past the 404 of an unknown id
    (every other positive case uses them)."""
    store = make_store()
    product = make_product()
    sku = product.skus[0]
    stock(store, sku, on_hand=50)
    clerk = make_staff("clerk", [store])
    order = client.post("/api/orders", headers=bearer(tokens["ShopperToken"]), json={
        "store_id": store.id, "fulfillment": "pickup", "items": [{"sku_id": sku.id, "qty": 1}]})
    batch = client.post("/api/admin/card-batches", headers=bearer(tokens["StaffToken"]), json={
        "name": "fuzz", "sku_id": sku.id, "card_count": 2, "valid_until": "2099-01-01T00:00:00Z"})
    assert order.status_code == 201 and batch.status_code == 201, (order.json, batch.json)
    cards = client.get("/api/admin/cards", query_string={"batch_id": batch.json["id"]},
                       headers=bearer(tokens["StaffToken"]))
    # A partner client of that store, with every scope, and an endpoint with a delivery.
    partner = client.post("/api/admin/partners/clients", headers=bearer(tokens["StaffToken"]), json={
        "name": "fuzz", "store_ids": [store.id], "scopes": list(SCOPES)})
    tokens["PartnerToken"] = partner_headers(client, partner.json)["Authorization"].split(" ", 1)[1]
    endpoint = client.post(f"/api/admin/partners/clients/{partner.json['id']}/webhooks",
                           headers=bearer(tokens["StaffToken"]),
                           json={"url": "https://hooks.example.com/tihuo", "event_types": ["order.created"]})
    assert partner.status_code == 201 and endpoint.status_code == 201, (partner.json, endpoint.json)
    return {"store_id": store.id, "sku_id": sku.id, "product_id": product.id, "staff_id": clerk.id,
            "order_no": order.json["order_no"], "batch_id": batch.json["id"],
            "serial": cards.json["items"][0]["serial"], "client_id": partner.json["id"],
            "endpoint_id": endpoint.json["id"], "kind": "sku", "internal_id": sku.id}


@pytest.fixture(autouse=True)
def _partner_switch():
    yield
    reset_switch()  # the partner client made here switched events on in this process


def test_every_answer_is_one_the_document_describes(app, client, ctx, sandbox, monkeypatch):
    tokens = {"ShopperToken": shopper_token(client, sandbox),
              "StaffToken": staff_token(client, make_staff("admin"))}
    known = _known_objects(client, sandbox, tokens)
    monkeypatch.setitem(app.config, "PARTNER_RATE_BURST", 10**6)  # the budget has its own test
    monkeypatch.setitem(app.config, "PARTNER_RATE_PER_S", 10**6)
    turn = iter(range(10**9))
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    failures: list[str] = []
    seen: Counter = Counter()
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SESSION_ENDERS:
            continue
        security = operation.definition.raw.get("security") or []
        headers = {}
        for requirement in security:
            for name in requirement:
                if name in tokens:
                    headers = bearer(tokens[name])
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)

            @given(case=strategy)
            @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.generate],
                      derandomize=DERANDOMIZE,
                      suppress_health_check=list(HealthCheck))
            def run(case):
                case.headers = {**(case.headers or {}), **headers}
                if mode is GenerationMode.POSITIVE and case.path_parameters and next(turn) % 2:
                    case.path_parameters = {name: known.get(name, value)
                                            for name, value in case.path_parameters.items()}
                response = case.call()
                seen[response.status_code] += 1
                try:
                    case.validate_response(response, checks=CHECKS)
                except (AssertionError, BaseExceptionGroup) as exc:  # collect; all reported at the end
                    failures.append(_summary(operation, mode, response, exc))

            try:
                run()
            except Unsatisfiable:  # nothing to break (no parameters, no body): no negative case
                assert mode is GenerationMode.NEGATIVE, operation.path
    elapsed = time.monotonic() - started
    print(f"\nschemathesis: {sum(seen.values())} requests in {elapsed:.0f} s, statuses {dict(seen)}")
    distinct = {}
    for failure in failures:  # one example of each (operation, status, rule)
        distinct.setdefault(failure.split("\n")[0], failure)
    assert not failures, (f"{len(failures)} answers break the document, {len(distinct)} distinct:\n"
                          + "\n".join(distinct[key] for key in sorted(distinct)))
