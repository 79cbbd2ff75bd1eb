"""Staff finding orders (models/orders/search.py through GET /api/staff/orders): by number,
by the buyer's whole phone or its last 4 digits, by store, status, fulfilment and
Asia/Shanghai days — only ever among the stores the member reads."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select, update

from app.extensions import db
from models.orders import search
from models.orders.tables import Order
from models.users import User, backfill_phone_tails, bind_phone
from tests.app.test_errors import assert_error
from tests.factories import (bearer, make_product, make_shopper, make_staff, make_store, mark_paid,
                             staff_token, stock)
from tests.models.orders.test_placement import ADDRESS, order_body

UTC = timezone.utc


@pytest.fixture
def two_stores(ctx):
    ours, theirs = make_store(), make_store()
    sku = make_product("月饼", skus=[("6枚", 12800)]).skus[0]
    for store in (ours, theirs):
        stock(store, sku, 50)
    return ours, theirs, sku


def shopper_with_phone(phone: str):
    user, headers = make_shopper()
    bind_phone(user, {"purePhoneNumber": phone, "countryCode": "86"})
    db.session.commit()
    return user, headers


def place(client, headers, store, sku, qty=1, **kw):
    resp = client.post("/api/orders", headers=headers, json=order_body(store, (sku, qty), **kw))
    assert resp.status_code == 201, resp.json
    return resp.json["order_no"]


def found(client, headers, **query):
    resp = client.get("/api/staff/orders", headers=headers, query_string=query)
    assert resp.status_code == 200, resp.json
    return [o["order_no"] for o in resp.json["items"]]


def placed_at(order_no: str, at: datetime):
    db.session.execute(update(Order).where(Order.order_no == order_no).values(created_at=at))
    db.session.commit()


def test_parse_search():
    assert search.parse_search(" 5678 ") == search.Search("tail", "5678")
    assert search.parse_search("138 1234 5678") == search.Search("phone", "13812345678")
    assert search.parse_search("+86 138-1234-5678") == search.Search("phone", "13812345678")
    assert search.parse_search("+85261234567") == search.Search("phone", "+85261234567")
    assert search.parse_search("th2612070930123") == search.Search("order_no", "TH2612070930123")
    for bad in ("12345", "1234567890", "23812345678", "  ", "+"):
        with pytest.raises(search.SearchInvalid):
            search.parse_search(bad)


def test_day_bounds_are_shanghai_days_inclusive():
    start, end = search.day_bounds(date(2026, 3, 2), date(2026, 3, 2))
    assert start == datetime(2026, 3, 1, 16, tzinfo=UTC) and end == datetime(2026, 3, 2, 16, tzinfo=UTC)
    assert search.day_bounds(None, None) == (None, None)
    assert search.day_bounds(date(2025, 1, 1), date(2026, 1, 1))[0] is not None  # 366 days: allowed
    with pytest.raises(search.DateRangeInvalid):
        search.day_bounds(date(2025, 1, 1), date(2026, 1, 2))  # 367
    with pytest.raises(search.DateRangeInvalid):
        search.day_bounds(date(2026, 3, 2), date(2026, 3, 1))


def test_found_by_number_whole_phone_and_last_four(client, two_stores):
    ours, theirs, sku = two_stores
    _, alice = shopper_with_phone("13812345678")
    _, bob = shopper_with_phone("13999995678")  # the same last 4 digits
    _, carol = shopper_with_phone("13700001111")
    a1, b1, c1 = place(client, alice, ours, sku), place(client, bob, ours, sku), place(client, carol, ours, sku)
    a2 = place(client, alice, ours, sku)
    clerk = bearer(staff_token(client, make_staff("clerk", [ours])))

    assert found(client, clerk, q=a1) == [a1]
    assert found(client, clerk, q=a1.lower()) == [a1]
    assert found(client, clerk, q="13812345678") == [a2, a1]
    assert found(client, clerk, q="+86 138 1234 5678") == [a2, a1]
    assert found(client, clerk, q="5678") == [a2, b1, a1]
    assert found(client, clerk, q="1111") == [c1]
    assert found(client, clerk, q="0000") == []
    assert found(client, clerk, q="13812340000") == []
    assert found(client, clerk, q="TH000") == []
    assert_error(client.get("/api/staff/orders?q=12345", headers=clerk), 400, "invalid_search")

    # Rows carry the buyer's masked phone, never the number.
    rows = client.get("/api/staff/orders", headers=clerk, query_string={"q": "5678"}).json["items"]
    assert [r["buyer_phone_masked"] for r in rows] == ["138****5678", "139****5678", "138****5678"]
    assert "13812345678" not in str(rows)


def test_a_clerk_never_finds_another_stores_order(client, two_stores):
    ours, theirs, sku = two_stores
    _, alice = shopper_with_phone("13812345678")
    mine = place(client, alice, ours, sku)
    elsewhere = place(client, alice, theirs, sku)
    clerk = bearer(staff_token(client, make_staff("clerk", [ours])))
    for q in (elsewhere, "13812345678", "5678"):
        assert elsewhere not in found(client, clerk, q=q)
    assert found(client, clerk, q="5678") == [mine]
    assert_error(client.get("/api/staff/orders", headers=clerk,
                            query_string={"q": elsewhere, "store_id": theirs.id}), 403, "forbidden")
    admin = bearer(staff_token(client, make_staff("admin")))
    assert found(client, admin, q="5678") == [elsewhere, mine]
    assert found(client, admin, q="5678", store_id=theirs.id) == [elsewhere]


def test_filters_store_status_fulfilment(client, two_stores):
    ours, theirs, sku = two_stores
    _, alice = make_shopper()
    pickup_paid = place(client, alice, ours, sku)
    mark_paid(pickup_paid)
    pickup_unpaid = place(client, alice, ours, sku)
    delivery = place(client, alice, ours, sku, fulfillment="delivery", address=ADDRESS)
    mark_paid(delivery)
    other = place(client, alice, theirs, sku)
    mark_paid(other)
    admin = bearer(staff_token(client, make_staff("admin")))
    assert found(client, admin) == [other, delivery, pickup_unpaid, pickup_paid]
    assert found(client, admin, store_id=ours.id) == [delivery, pickup_unpaid, pickup_paid]
    assert found(client, admin, store_id=ours.id, status="paid") == [delivery, pickup_paid]
    assert found(client, admin, status="paid") == [other, delivery, pickup_paid]
    assert found(client, admin, fulfillment="delivery") == [delivery]
    assert found(client, admin, store_id=ours.id, status="paid", fulfillment="pickup") == [pickup_paid]
    assert found(client, admin, store_id=theirs.id, fulfillment="delivery") == []
    assert_error(client.get("/api/staff/orders?fulfillment=drone", headers=admin), 400, "invalid_request")


def test_several_stores_page_newest_first_without_gaps(client, two_stores):
    """A member of two stores, no store asked: each store's newest, merged, page by page."""
    ours, theirs, sku = two_stores
    _, alice = make_shopper()
    placed = [place(client, alice, store, sku) for store in (ours, theirs, theirs, ours, theirs, ours, ours)]
    third = make_store()
    stock(third, sku, 5)
    place(client, alice, third, sku)  # not theirs
    manager = bearer(staff_token(client, make_staff("manager", [ours, theirs])))
    seen, cursor = [], None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/staff/orders", headers=manager, query_string=query).json
        assert len(page["items"]) <= 2
        seen += [o["order_no"] for o in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == placed[::-1]
    mark_paid(placed[1])
    mark_paid(placed[5])
    assert found(client, manager, status="paid") == [placed[5], placed[1]]


def test_days_are_shanghai_days_across_midnight(client, two_stores):
    ours, _, sku = two_stores
    _, alice = make_shopper()
    # In id order: a month before, the last second of 1 March in Shanghai, the first of
    # 2 March, one placed at 23:59 of 1 March whose row got a later id (rows are inserted
    # moments after their time is taken), and a month after.
    orders = [place(client, alice, ours, sku) for _ in range(5)]
    early, last_of_1st, first_of_2nd, late_row, after = orders
    placed_at(early, datetime(2026, 2, 1, 4, tzinfo=UTC))
    placed_at(last_of_1st, datetime(2026, 3, 1, 15, 59, 59, tzinfo=UTC))   # 23:59:59 +08:00
    placed_at(first_of_2nd, datetime(2026, 3, 1, 16, 0, 0, tzinfo=UTC))    # 00:00:00 +08:00
    placed_at(late_row, datetime(2026, 3, 1, 15, 59, 0, tzinfo=UTC))       # 23:59:00 +08:00
    placed_at(after, datetime(2026, 4, 1, 4, tzinfo=UTC))
    clerk = bearer(staff_token(client, make_staff("clerk", [ours])))

    assert found(client, clerk, created_from="2026-03-01", created_to="2026-03-01") == [late_row, last_of_1st]
    assert found(client, clerk, created_from="2026-03-02", created_to="2026-03-02") == [first_of_2nd]
    assert found(client, clerk, created_from="2026-03-01", created_to="2026-03-02") == [
        late_row, first_of_2nd, last_of_1st]
    assert found(client, clerk, created_from="2026-03-02") == [after, first_of_2nd]
    assert found(client, clerk, created_to="2026-03-01") == [late_row, last_of_1st, early]
    assert found(client, clerk, created_from="2026-01-01", created_to="2026-02-28") == [early]
    assert found(client, clerk, created_from="2026-03-03", created_to="2026-03-31") == []
    # With a cursor inside the range: the rest of it, nothing outside.
    page = client.get("/api/staff/orders", headers=clerk, query_string={
        "created_from": "2026-03-01", "created_to": "2026-03-02", "limit": 1}).json
    assert [o["order_no"] for o in page["items"]] == [late_row]
    assert found(client, clerk, created_from="2026-03-01", created_to="2026-03-02",
                 cursor=page["next_cursor"]) == [first_of_2nd, last_of_1st]


def test_id_bounds_bracket_the_range(ctx, client, two_stores):
    ours, _, sku = two_stores
    _, alice = make_shopper()
    orders = [place(client, alice, ours, sku) for _ in range(3)]
    for order_no, day in zip(orders, (1, 10, 20)):
        placed_at(order_no, datetime(2026, 3, day, 4, tzinfo=UTC))
    ids = [db.session.scalar(select(Order.id).where(Order.order_no == no)) for no in orders]
    start, end = search.day_bounds(date(2026, 3, 10), date(2026, 3, 10))
    assert search.id_bounds(start, end) == (ids[0] + 1, ids[2] - 1)
    assert search.id_bounds(*search.day_bounds(date(2026, 2, 1), date(2026, 2, 1))) == (None, ids[0] - 1)
    assert search.id_bounds(*search.day_bounds(date(2026, 3, 20), None)) == (ids[1] + 1, None)


def test_bad_ranges_are_refused_plainly(client, two_stores):
    admin = bearer(staff_token(client, make_staff("admin")))
    resp = client.get("/api/staff/orders?created_from=2026-03-02&created_to=2026-03-01", headers=admin)
    assert_error(resp, 400, "invalid_date_range")
    resp = client.get("/api/staff/orders?created_from=2025-01-01&created_to=2026-01-02", headers=admin)
    assert_error(resp, 400, "invalid_date_range")
    assert resp.json["error"]["details"] == {"max_days": 366}
    zh = client.get("/api/staff/orders?created_from=2025-01-01&created_to=2026-01-02",
                    headers={**admin, "Accept-Language": "zh-CN"})
    assert zh.json["error"]["message"] == "一次最多查询 366 天。"
    assert client.get("/api/staff/orders?created_from=2025-01-01&created_to=2026-01-01",
                      headers=admin).status_code == 200
    for bad in ("created_from=2026-13-01", "created_to=yesterday", "created_from=1999-12-31",
                "created_to=9999-12-31", "q=", "q=" + "9" * 65):
        assert_error(client.get(f"/api/staff/orders?{bad}", headers=admin), 400, "invalid_request")


def test_a_phone_bound_before_tails_existed_is_found_after_the_backfill(app, client, two_stores):
    ours, _, sku = two_stores
    user, alice = shopper_with_phone("13812345678")
    order_no = place(client, alice, ours, sku)
    db.session.execute(update(User).values(phone_tail_hash=None))  # as rows were before 0012
    db.session.commit()
    clerk = bearer(staff_token(client, make_staff("clerk", [ours])))
    assert found(client, clerk, q="5678") == []
    assert found(client, clerk, q="13812345678") == [order_no]  # the whole number always worked

    result = app.test_cli_runner().invoke(args=["users", "backfill-phone-tail", "--batch", "1"])
    assert result.exit_code == 0 and "phone tails backfilled: 1" in result.output
    assert found(client, clerk, q="5678") == [order_no]
    db.session.expire_all()
    assert backfill_phone_tails() == 0  # nothing left: a second run changes nothing
