"""A stock row's ledger (GET /api/admin/stores/<store>/inventory/<sku>/ledger): the
movements of one (store, SKU), newest first, a page at a time, each with the balance it
left; readable where the store's lists are; walked through its index."""
from __future__ import annotations

import pytest

from app.extensions import db
from models.stock import admin as stock_admin, holds as stock, queries
from tests.app.test_errors import assert_error
from tests.conftest import backend_is_mysql
from tests.explain import analyze, explain_selects
from tests.factories import (admin_headers, bearer, make_bundle, make_product, make_staff,
                             make_store, staff_token, stock as set_stock)


def _url(store_id, sku_id):
    return f"/api/admin/stores/{store_id}/inventory/{sku_id}/ledger"


def _history(client):
    """store a's rice: counted 10, restocked 5, 2 damaged, 3 sent to b, 4 reserved and
    handed over. Returns (a, b, rice, manager of a)."""
    a, b = make_store(), make_store()
    rice = make_product().skus[0]
    manager = make_staff("manager", [a], username="wangli")
    set_stock(a, rice, 10)
    h = bearer(staff_token(client, manager))
    base = f"/api/admin/stores/{a.id}/inventory/{rice.id}"
    assert client.post(f"{base}/restock", headers=h, json={"qty": 5, "note": "到货"}).status_code == 200
    assert client.post(f"{base}/adjust", headers=h, json={"delta": -2, "reason": "damaged"}).status_code == 200
    assert client.post("/api/admin/transfers", headers=admin_headers(client), json={
        "from_store_id": a.id, "to_store_id": b.id, "sku_id": rice.id, "qty": 3}).status_code == 201
    stock.reserve(a.id, [(rice.id, 4)], order_id=None)
    stock.deduct(a.id, [(rice.id, 4)], order_id=None, reason="picked_up")
    db.session.commit()
    return a, b, rice, manager


def test_the_ledger_pages_newest_first_with_the_balance_after_each_row(client, ctx):
    a, b, rice, manager = _history(client)
    h = bearer(staff_token(client, manager))
    seen, cursor, pages = [], None, 0
    while True:
        resp = client.get(_url(a.id, rice.id), headers=h,
                          query_string={"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert resp.status_code == 200, resp.json
        pages += 1
        seen += resp.json["items"]
        cursor = resp.json["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert [(e["kind"], e["delta_on_hand"], e["delta_reserved"], e["balance_after"]) for e in seen] == [
        ("picked_up", -4, -4, 6), ("reserve", 0, 4, 10), ("transfer_out", -3, 0, 10),
        ("adjust:damaged", -2, 0, 13), ("restock", 5, 0, 15), ("count", 10, 0, 10)]
    assert [e["id"] for e in seen] == sorted((e["id"] for e in seen), reverse=True)
    by_kind = {e["kind"]: e for e in seen}
    assert (by_kind["restock"]["staff_id"], by_kind["restock"]["staff_name"], by_kind["restock"]["note"]) == (
        manager.id, "wangli", "到货")
    assert by_kind["count"]["staff_id"] is None and by_kind["count"]["staff_name"] is None
    assert by_kind["transfer_out"]["ref"].startswith("transfer:") and by_kind["transfer_out"]["at"]
    # The balance of the newest row is the counter; b's own ledger is b's only.
    inv = client.get(f"/api/admin/stores/{a.id}/inventory", headers=h).json["items"][0]
    assert inv["on_hand"] == seen[0]["balance_after"] == 6
    other = client.get(_url(b.id, rice.id), headers=admin_headers(client)).json
    assert [(e["kind"], e["delta_on_hand"], e["balance_after"]) for e in other["items"]] == [
        ("transfer_in", 3, 3)]
    assert other["next_cursor"] is None
    # A page starting mid-way (any cursor, not only one handed out) still balances.
    mid = client.get(_url(a.id, rice.id), headers=h, query_string={"cursor": seen[2]["id"]}).json["items"]
    assert [e["balance_after"] for e in mid] == [13, 15, 10]


def test_who_reads_a_ledger(client, ctx):
    a, b, rice, _ = _history(client)
    for member in (make_staff("clerk", [a]), make_staff("analyst"), make_staff("manager", [a, b])):
        resp = client.get(_url(a.id, rice.id), headers=bearer(staff_token(client, member)))
        assert resp.status_code == 200 and len(resp.json["items"]) == 6
    for member in (make_staff("manager", [b]), make_staff("clerk", [b])):
        assert_error(client.get(_url(a.id, rice.id), headers=bearer(staff_token(client, member))),
                     403, "forbidden")
    h = admin_headers(client)
    assert_error(client.get(_url(999999, rice.id), headers=h), 404, "not_found")
    assert_error(client.get(_url(a.id, 999999), headers=h), 404, "not_found")
    assert_error(client.get(_url(10**20, rice.id), headers=h), 404, "not_found")
    assert_error(client.get(_url(a.id, make_bundle().id), headers=h), 400, "bundle_has_no_stock")
    for bad in ({"cursor": "x"}, {"cursor": "9" * 19}, {"limit": 0}, {"limit": 101}):
        assert_error(client.get(_url(a.id, rice.id), headers=h, query_string=bad), 400, "invalid_request")
    never = make_product("面粉").skus[0]             # never stocked here: an empty ledger
    assert client.get(_url(a.id, never.id), headers=h).json == {"items": [], "next_cursor": None}


@pytest.mark.skipif(not backend_is_mysql(), reason="EXPLAIN of MariaDB's plan")
def test_a_ledger_page_walks_its_index(client, ctx):
    stores = [make_store() for _ in range(3)]
    skus = make_product(skus=[(f"{n}kg", 100) for n in range(1, 5)]).skus
    for _ in range(40):                  # 480 movements across 12 rows
        for store in stores:
            for sku in skus:
                stock_admin.restock(None, store.id, sku.id, 1)
    db.session.commit()
    analyze("stock_movements")
    store, sku = stores[1], skus[2]
    first = queries.ledger(store.id, sku.id, cursor=None, limit=21)
    for cursor in (None, first[-1].id):
        [plan] = explain_selects(lambda at=cursor: queries.ledger(store.id, sku.id, cursor=at, limit=21))
        movements = [row for row in plan if row["table"] in ("stock_movements", "m", "stock_movements_1")]
        assert movements, plan
        # The page and the sum of the rows above the cursor: both by the (store, SKU) index,
        # in id order (no filesort), reading about one row's movements, not the table's.
        for row in movements:
            assert row["key"] == "ix_stock_movements_store_sku", plan
            assert "filesort" not in (row["Extra"] or ""), plan
            assert int(row["rows"]) <= 60, plan
    db.session.rollback()
