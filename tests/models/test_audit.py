"""The audit log (models/audit.py) through GET /api/admin/audit: who did what, to what,
when and from where — filtered by staff member, action (exact or a prefix), target and
Asia/Shanghai days, a page at a time by id; each filter walks its index."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from app.extensions import db
from models import audit
from models.audit import AuditLog
from tests.app.test_errors import assert_error
from tests.conftest import backend_is_mysql
from tests.explain import analyze, explain_selects
from tests.factories import PASSWORD, bearer, make_product, make_staff, make_store, staff_token

URL = "/api/admin/audit"


def _at(*parts) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def _entry(action, target, actor=None, at=None, **changes) -> AuditLog:
    entry = audit.record(action, target, actor=actor, changes=changes)
    if at is not None:
        entry.at = at
    db.session.commit()
    return entry


def _actions(client, headers, **query) -> list[str]:
    resp = client.get(URL, headers=headers, query_string=query)
    assert resp.status_code == 200, resp.json
    return [e["action"] for e in resp.json["items"]]


@pytest.fixture
def log(client, ctx):
    """A few days of changes by two staff members (and the system)."""
    store = make_store()
    sku = make_product().skus[0]
    admin, manager = make_staff("admin"), make_staff("manager", [store])
    db.session.execute(db.delete(AuditLog))  # the set-up's own rows: the log starts here
    db.session.commit()
    late_on_the_1st = _at(2026, 3, 1, 15, 59, 59)    # 23:59:59 in Shanghai, 1 March
    early_on_the_2nd = _at(2026, 3, 1, 16, 0, 0)     # 00:00:00 in Shanghai, 2 March
    rows = {
        "restock": _entry("inventory.restock", store, manager, late_on_the_1st, qty=5),
        "adjust": _entry("inventory.adjust", store, manager, early_on_the_2nd, delta=-1),
        "staff": _entry("staff.update", manager, admin, _at(2026, 3, 3, 2, 0, 0), role=["clerk", "manager"]),
        "sku": _entry("sku.update", sku, admin, _at(2026, 3, 4, 2, 0, 0), price_fen=[100, 200]),
        "system": _entry("inventory.set", store, None, _at(2026, 3, 4, 3, 0, 0)),
    }
    return {"store": store, "sku": sku, "admin": admin, "manager": manager, "rows": rows,
            "h": bearer(staff_token(client, admin))}


def test_filters_one_by_one(client, log):
    h, admin, manager, store = log["h"], log["admin"], log["manager"], log["store"]
    assert _actions(client, h) == ["inventory.set", "sku.update", "staff.update", "inventory.adjust",
                                   "inventory.restock"]
    assert _actions(client, h, actor_id=manager.id) == ["inventory.adjust", "inventory.restock"]
    assert _actions(client, h, actor_id=admin.id) == ["sku.update", "staff.update"]
    assert _actions(client, h, actor_id=999999) == []
    assert _actions(client, h, action="staff.update") == ["staff.update"]
    assert _actions(client, h, action="inventory") == []                 # exact unless it ends in *
    assert _actions(client, h, action="inventory.*") == ["inventory.set", "inventory.adjust",
                                                         "inventory.restock"]
    assert _actions(client, h, action="inventory*") == ["inventory.set", "inventory.adjust",
                                                        "inventory.restock"]
    assert _actions(client, h, action="inventory_*") == []                # _ is a letter, not LIKE's wildcard
    assert _actions(client, h, target_type="stores") == ["inventory.set", "inventory.adjust",
                                                         "inventory.restock"]
    assert _actions(client, h, target_type="staff", target_id=str(manager.id)) == ["staff.update"]
    assert _actions(client, h, target_type="staff", target_id=str(admin.id)) == []
    assert _actions(client, h, target_type="stores", target_id=str(store.id), actor_id=manager.id,
                    action="inventory.*") == ["inventory.adjust", "inventory.restock"]


def test_days_are_shanghai_days(client, log):
    h = log["h"]
    assert _actions(client, h, **{"from": "2026-03-01", "to": "2026-03-01"}) == ["inventory.restock"]
    assert _actions(client, h, **{"from": "2026-03-02", "to": "2026-03-02"}) == ["inventory.adjust"]
    assert _actions(client, h, **{"from": "2026-03-02"}) == ["inventory.set", "sku.update", "staff.update",
                                                            "inventory.adjust"]
    assert _actions(client, h, to="2026-03-03") == ["staff.update", "inventory.adjust", "inventory.restock"]
    assert _actions(client, h, **{"from": "2026-03-05"}) == []
    assert _actions(client, h, **{"from": "2026-03-01", "to": "2026-03-04"}, actor_id=log["admin"].id) == [
        "sku.update", "staff.update"]


def test_pages_keep_the_filter(client, log):
    h = log["h"]
    first = client.get(URL, headers=h, query_string={"action": "inventory.*", "limit": 2}).json
    assert [e["action"] for e in first["items"]] == ["inventory.set", "inventory.adjust"]
    second = client.get(URL, headers=h, query_string={
        "action": "inventory.*", "limit": 2, "cursor": first["next_cursor"]}).json
    assert [e["action"] for e in second["items"]] == ["inventory.restock"] and second["next_cursor"] is None


def test_bad_filters_are_refused(client, log):
    h = log["h"]
    for bad in ({"from": "2026-03-04", "to": "2026-03-01"}, {"from": "yesterday"}, {"to": "2026-02-30"},
                {"from": "0001-01-01"}, {"to": "9999-12-31"}, {"actor_id": "x"}, {"actor_id": 0},
                {"actor_id": 10**20}, {"action": "inventory.%"}, {"action": "*"}, {"action": "a" * 65},
                {"action": "a**"}, {"target_type": "Stores;"}, {"target_id": "1"},
                {"target_type": "stores", "target_id": "x" * 65}, {"cursor": "-1"}):
        assert_error(client.get(URL, headers=h, query_string=bad), 400, "invalid_request")
    for role in ("manager", "clerk"):
        assert_error(client.get(URL, headers=bearer(staff_token(client, make_staff(role, [log["store"]])))),
                     403, "forbidden")
    assert client.get(URL, headers=bearer(staff_token(client, make_staff("analyst")))).status_code == 200


def test_from_where_the_address_and_browser(client, app, settings, ctx):
    store = make_store()
    sku = make_product().skus[0]
    h = bearer(staff_token(client, make_staff("admin")))
    restock = f"/api/admin/stores/{store.id}/inventory/{sku.id}/restock"
    browser = {**h, "User-Agent": "Mozilla/5.0 (Console test)", "X-Forwarded-For": "198.51.100.7"}
    # No proxy configured: X-Forwarded-For is anybody's word, so the peer's address counts.
    assert client.post(restock, headers=browser, json={"qty": 1},
                       environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 200
    [entry] = client.get(URL, headers=h, query_string={"action": "inventory.restock"}).json["items"]
    assert (entry["ip"], entry["user_agent"]) == ("203.0.113.9", "Mozilla/5.0 (Console test)")
    assert entry["request_id"]

    # Behind one trusted proxy (TRUSTED_PROXY_HOPS=1): the address the proxy saw.
    from app import create_app
    from tests.conftest import ClosingClient

    proxied = create_app(settings.model_copy(update={"TRUSTED_PROXY_HOPS": 1}))
    proxied.test_client_class = ClosingClient
    try:
        behind = proxied.test_client()
        username = make_staff("manager", [store]).username
        db.session.rollback()  # this session's read ends: SQLite has one writer at a time
        login = behind.post("/api/staff/login", json={"username": username, "password": PASSWORD})
        token = bearer(login.json["token"])  # logged in there: embedded, each app has its own Redis
        assert behind.post(restock, headers={**browser, **token}, json={"qty": 1},
                           environ_base={"REMOTE_ADDR": "10.0.0.2"}).status_code == 200
    finally:
        with proxied.app_context():
            db.session.remove()
            db.engine.dispose()
    newest = client.get(URL, headers=h, query_string={"action": "inventory.restock"}).json["items"][0]
    assert newest["ip"] == "198.51.100.7" and newest["id"] > entry["id"]


@pytest.mark.skipif(not backend_is_mysql(), reason="EXPLAIN of MariaDB's plan")
def test_each_filter_walks_its_index(ctx):
    stores = [make_store() for _ in range(4)]
    members = [make_staff("manager", [s]) for s in stores]
    actions = ["inventory.restock", "inventory.adjust", "staff.update", "sku.update", "card.void",
               "pickup.verify", "order.correct_shipment", "store.update"]
    for i in range(800):  # a few weeks of a busy log
        audit.record(actions[i % len(actions)], stores[i % 4], actor=members[(i // 3) % 4] if i % 5 else None,
                     changes={"i": i}).at = _at(2026, 2, 1 + i // 40, i % 24, 0, 0)
    db.session.commit()
    analyze("audit_logs")

    def plan(**filters):
        [statement] = explain_selects(lambda: audit.search(audit.AuditFilter(**filters), cursor=None, limit=51))
        [row] = statement
        return row

    from datetime import date

    assert plan()["key"] == "PRIMARY"
    for filters, index in (({"actor_id": members[1].id}, "ix_audit_logs_actor"),
                           ({"action": "staff.update"}, "ix_audit_logs_action"),
                           ({"action": "inventory.*"}, "ix_audit_logs_action"),
                           ({"target_type": "stores", "target_id": str(stores[2].id)}, "ix_audit_logs_target"),
                           ({"since": date(2026, 2, 10), "until": date(2026, 2, 10)}, "ix_audit_logs_at")):
        row = plan(**filters)
        assert row["key"] == index, (filters, row)
        assert row["type"] in ("ref", "range"), (filters, row)
        assert int(row["rows"]) < 400, (filters, row)  # never the whole table
    db.session.rollback()
