"""Asking for after-sales: several per line until its units are used, never more (also when
asked at once), never more money than the line's share; approve racing cancel."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from app.extensions import db

from tests.app.test_errors import assert_error
from tests.conftest import backend_is_mysql
from tests.models.aftersales.support import ask, paid, picked_up, refund_of, sale, shop  # noqa: F401


def test_two_after_sales_on_one_line_never_refund_more_than_its_share(app, client, sandbox, shop):
    order_no = picked_up(app, client, sandbox, shop, qty=3)
    first = ask(client, shop, order_no, qty=1)
    second = ask(client, shop, order_no, qty=2)
    assert first["refund_fen"] + second["refund_fen"] == 3 * 12800
    assert_error(client.post("/api/aftersales", headers=shop.shopper, json={
        "order_no": order_no, "kind": "refund_only", "reason": "x", "items": [{"sku_id": shop.sku_id, "qty": 1}]}),
        409, "aftersale_quantity_exceeded")
    # A cancelled one gives its units back.
    assert client.post(f"/api/aftersales/{first['after_sale_no']}/cancel", headers=shop.shopper).status_code == 200
    again = ask(client, shop, order_no, qty=1)
    assert again["refund_fen"] + second["refund_fen"] == 3 * 12800


def test_units_not_handed_over_are_not_eligible(app, client, sandbox, shop):
    order_no = paid(client, sandbox, shop, qty=2)  # paid, not picked up
    assert_error(client.post("/api/aftersales", headers=shop.shopper, json={
        "order_no": order_no, "kind": "refund_only", "reason": "x", "items": [{"sku_id": shop.sku_id, "qty": 1}]}),
        409, "aftersale_quantity_exceeded")


def test_another_shoppers_order_is_unknown(app, client, sandbox, shop):
    from tests.factories import make_shopper

    order_no = picked_up(app, client, sandbox, shop, qty=1)
    with app.app_context():
        _, stranger = make_shopper()
    assert_error(client.post("/api/aftersales", headers=stranger, json={
        "order_no": order_no, "kind": "refund_only", "reason": "x", "items": [{"sku_id": shop.sku_id, "qty": 1}]}),
        404, "not_found")


@pytest.mark.skipif(not backend_is_mysql(), reason="row locks across connections (MariaDB run)")
def test_concurrent_requests_never_over_claim_a_line(app, client, sandbox, shop):
    order_no = picked_up(app, client, sandbox, shop, qty=3)
    answers, start = [], threading.Barrier(6)

    def one():
        c = app.test_client()
        start.wait()
        resp = c.post("/api/aftersales", headers=shop.shopper, json={
            "order_no": order_no, "kind": "refund_only", "reason": "x",
            "items": [{"sku_id": shop.sku_id, "qty": 1}]})
        answers.append((resp.status_code, resp.json))

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(code for code, _ in answers)
    assert codes == [201, 201, 201, 409, 409, 409], answers
    assert sum(body["refund_fen"] for code, body in answers if code == 201) == 3 * 12800


@pytest.mark.skipif(not backend_is_mysql(), reason="row locks across connections (MariaDB run)")
def test_approve_racing_cancel_exactly_one_wins(app, client, sandbox, shop):
    for _ in range(5):
        order_no = picked_up(app, client, sandbox, shop, qty=1)
        no = ask(client, shop, order_no, qty=1)["after_sale_no"]
        answers, start = {}, threading.Barrier(2)

        def act(name, path, headers, body):
            c = app.test_client()
            start.wait()
            answers[name] = c.post(path, headers=headers, json=body).status_code

        threads = [threading.Thread(target=act, args=("approve", f"/api/staff/aftersales/{no}/approve",
                                                      shop.manager, {})),
                   threading.Thread(target=act, args=("cancel", f"/api/aftersales/{no}/cancel", shop.shopper, None))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(answers.values()) == [200, 409], answers
        status = sale(app, no).status
        assert status == ("refunding" if answers["approve"] == 200 else "cancelled")
        assert (refund_of(app, no) is not None) == (answers["approve"] == 200)


def test_an_after_sales_life_is_told_to_partners_in_order(app, client, sandbox, shop):
    """With a partner client, each step is an event `after_sale.<status>` in the same
    transaction, numbered in the after-sale's own sequence."""
    from models.partners.tables import PartnerEvent
    from tests.models.partners.helpers import make_client, reset_switch

    make_client(client, shop.admin, [shop.store_id])
    reset_switch()
    order_no = picked_up(app, client, sandbox, shop, qty=1)
    no = ask(client, shop, order_no, kind="refund_only", qty=1)["after_sale_no"]
    assert client.post(f"/api/staff/aftersales/{no}/approve", headers=shop.manager, json={}).status_code == 200
    with app.app_context():
        told = db.session.execute(select(PartnerEvent.type, PartnerEvent.seq, PartnerEvent.data).where(
            PartnerEvent.resource == "after_sale").order_by(PartnerEvent.id)).all()
    assert [(t, s) for t, s, _ in told][:3] == [("after_sale.requested", 1), ("after_sale.approved", 2),
                                                ("after_sale.refunding", 3)]
    assert all(d["after_sale_no"] == no for _, _, d in told)
