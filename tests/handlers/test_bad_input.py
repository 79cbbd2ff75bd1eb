"""Input that used to reach a parser or the database and come back 500: each is a 400
`invalid_request` now, before anything is read or written (issue 17, item 12)."""
from __future__ import annotations

import re

import pytest

from app.extensions import db
from models.staff.tables import Staff
from tests.factories import admin_headers, bearer, shopper_token

LOGINS = ["/api/auth/login", "/api/staff/login"]  # routes that need no login


def post_raw(client, path, body: str):
    return client.post(path, data=body.encode(), headers={"Content-Type": "application/json"})


def assert_invalid(resp):
    assert resp.status_code == 400, (resp.status_code, resp.get_data(as_text=True)[:300])
    assert resp.json["error"]["code"] == "invalid_request"


@pytest.mark.parametrize("path", LOGINS)
def test_json_nested_two_thousand_levels_is_refused(client, path):
    assert_invalid(post_raw(client, path, "[" * 2000 + "]" * 2000))
    assert_invalid(post_raw(client, path, '{"a":' * 2000 + "1" + "}" * 2000))


@pytest.mark.parametrize("path", LOGINS)
def test_json_nested_past_the_bound_is_refused_below_what_python_takes(client, path):
    # 40 levels parse fine in Python; nothing in this API nests like that.
    assert_invalid(post_raw(client, path, '{"code": ' + "[" * 40 + "]" * 40 + "}"))


@pytest.mark.parametrize("path", LOGINS)
def test_an_integer_of_five_thousand_digits_is_refused(client, path):
    assert_invalid(post_raw(client, path, '{"code": ' + "9" * 5000 + "}"))
    assert_invalid(post_raw(client, path, '{"code": -' + "9" * 5000 + "}"))


def test_a_lone_surrogate_is_refused_and_nothing_is_written(client, ctx):
    before = db.session.query(Staff).count()
    for body in ['{"username": "\\ud800", "password": "x"}', '{"username": "a", "password": "\\udfff"}',
                 '{"\\ud800": 1}', '{"code": ["ok", {"deep": "x\\ud83dy"}]}']:
        assert_invalid(post_raw(client, "/api/staff/login", body))
    assert_invalid(post_raw(client, "/api/auth/login", '{"code": "\\ud800"}'))
    # A proper pair is one character, and fine: the route's own answer (no such user).
    resp = post_raw(client, "/api/staff/login", '{"username": "\\ud83d\\ude00", "password": "correct-horse"}')
    assert resp.status_code == 401
    assert db.session.query(Staff).count() == before


def test_bodies_within_the_bounds_still_reach_the_route(client):
    # 20 digits and nesting inside the bound: the route decides (a wrong type here).
    resp = post_raw(client, "/api/auth/login", '{"code": 12345678901234567890}')
    assert resp.status_code == 400
    assert "fields" in resp.json["error"]["details"]


def _cursor_routes(client) -> list[tuple[str, str]]:
    spec = client.get("/openapi.json").json
    found = []
    for path, ops in spec["paths"].items():
        op = ops.get("get")
        if op and any(p["name"] == "cursor" and p["in"] == "query" for p in op.get("parameters", [])):
            schemes = {name for s in op.get("security", []) for name in s}
            who = "shopper" if "ShopperToken" in schemes else "partner" if "PartnerToken" in schemes else "staff"
            found.append((re.sub(r"\{[^}]+\}", "1", path), who))  # any id: the cursor is refused first
    return found


@pytest.mark.parametrize("cursor", ["²", "١٢", "é", "0x10", " 1", "1" * 19])
def test_a_cursor_that_is_not_ascii_digits_is_refused_on_every_list(client, ctx, sandbox, cursor):
    from tests.models.partners.helpers import ALL_SCOPES, make_client, partner_headers

    admin = admin_headers(client)
    from tests.factories import make_store

    store = make_store().id
    partner = partner_headers(client, make_client(client, admin, [store], scopes=ALL_SCOPES))
    headers = {"shopper": bearer(shopper_token(client, sandbox)), "staff": admin, "partner": partner}
    routes = _cursor_routes(client)
    assert len(routes) >= 8 and "/api/admin/stock-level-events" in dict(routes)
    for path, who in routes:
        resp = client.get(path, query_string={"cursor": cursor}, headers=headers[who])
        assert resp.status_code == 400, (path, cursor, resp.status_code)
        assert resp.json["error"]["code"] == "invalid_request"


def test_a_good_cursor_still_pages(client, ctx):
    resp = client.get("/api/admin/stock-level-events", query_string={"cursor": "9" * 18},
                      headers=admin_headers(client))
    assert resp.status_code == 200
