"""Each line's paid share (placement) and what partial quantities refund: exact to the fen,
never more than the share however the units are claimed."""
from __future__ import annotations

import itertools
import random

from sqlalchemy import select, update

from app.extensions import db
from models.aftersales.amounts import claim_fen
from models.orders.shares import line_shares, split_fen
from models.orders.tables import OrderItem
from tests.factories import make_product, make_shopper, make_store, stock


def test_split_is_exact_and_proportional():
    rng = random.Random(7)
    for _ in range(500):
        weights = [rng.randint(0, 10_000) for _ in range(rng.randint(1, 6))]
        total = rng.randint(0, sum(weights) or 100)
        parts = split_fen(total, weights)
        assert sum(parts) == total and all(p >= 0 for p in parts)
        whole = sum(weights)
        if whole:  # each part within one fen of its exact proportion
            assert all(abs(p - total * w / whole) < 1 for p, w in zip(parts, weights))
    assert split_fen(100, [1, 1, 1]) == [34, 33, 33]  # the largest remainder; ties to the earlier line
    assert split_fen(0, [5, 5]) == [0, 0]


def test_claims_of_a_line_add_up_to_its_share_in_any_order():
    share, qty = 1001, 7  # not divisible: the remainder must land exactly once
    for sizes in ([1] * 7, [3, 4], [2, 2, 3], [6, 1], [7]):
        for order in set(itertools.permutations(sizes)):
            claimed = allocated = 0
            for q in order:
                allocated += claim_fen(share, qty, claimed_qty=claimed, allocated_fen=allocated, qty=q)
                claimed += q
            assert allocated == share
    # Claims that stop short of the line never pass their proportion.
    assert claim_fen(1001, 7, claimed_qty=0, allocated_fen=0, qty=3) == 429


def test_placement_fixes_each_lines_share_and_old_rows_get_the_same_split(client, ctx):
    store = make_store()
    a, b = make_product("油", skus=[("1L", 3333)]).skus[0], make_product("米", skus=[("5kg", 6667)]).skus[0]
    stock(store, a, 10)
    stock(store, b, 10)
    _, headers = make_shopper()
    resp = client.post("/api/orders", headers=headers, json={
        "store_id": store.id, "fulfillment": "pickup",
        "items": [{"sku_id": a.id, "qty": 3}, {"sku_id": b.id, "qty": 1}]})
    assert resp.status_code == 201, resp.json
    items = db.session.scalars(select(OrderItem).order_by(OrderItem.id)).all()
    assert [i.paid_share_fen for i in items] == [9999, 6667]
    stored = line_shares(16666, items)
    # A row placed before 0019 has NULL: the split made on the fly is the one placement stores.
    db.session.execute(update(OrderItem).values(paid_share_fen=None))
    db.session.commit()
    db.session.expire_all()
    items = db.session.scalars(select(OrderItem).order_by(OrderItem.id)).all()
    assert line_shares(16666, items) == stored
