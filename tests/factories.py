"""Test data through the domain operations (the same paths production data takes)."""
from __future__ import annotations

import itertools

from app.extensions import db
from models import catalog, stores
from models.staff.accounts import create_staff
from models.staff.tables import Staff
from models.stock import admin as stock_admin

PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)


def make_store(**over) -> stores.Store:
    fields = {"name": f"Store {next(_seq)}", "address": "上海市黄浦区1号", "lat": 31.23, "lng": 121.47,
              "opening_hours": {d: [["00:00", "23:59"]] for d in stores.DAYS}}
    fields.update(over)
    store = stores.create_store(None, fields)
    db.session.commit()
    return store


def make_product(name="大米", skus=(("5kg", 8900),), **over):
    product = catalog.create_product(None, {"name": name, **over},
                                     [{"spec": s, "price_fen": p} for s, p in skus])
    db.session.commit()
    return product


def stock(store, sku, on_hand, baseline=None):
    inv = stock_admin.set_stock(None, store, sku, on_hand=on_hand, baseline=baseline)
    db.session.commit()
    return inv


def make_staff(role="clerk", stores_=(), username=None, password=PASSWORD, display_name="") -> Staff:
    member = create_staff(None, username=username or f"{role}{next(_seq)}", password=password,
                          role=role, store_ids=[s.id for s in stores_], display_name=display_name)
    db.session.commit()
    return member


# --- shoppers and staff through the HTTP API --------------------------------------------

def wx_login_code(sandbox, user="alice") -> str:
    """What wx.login would hand the mini-program for this WeChat user."""
    import requests

    return requests.post(f"{sandbox.base_url}/_/login-codes", json={"user": user}, timeout=5).json()["code"]


def shopper_token(client, sandbox, user="alice") -> str:
    resp = client.post("/api/auth/login", json={"code": wx_login_code(sandbox, user)})
    assert resp.status_code == 200, resp.json
    return resp.json["token"]


def staff_token(client, member, password=PASSWORD) -> str:
    resp = client.post("/api/staff/login", json={"username": member.username, "password": password})
    assert resp.status_code == 200, resp.json
    return resp.json["token"]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def make_bundle(name="组合装", price_fen=19900) -> catalog.Sku:
    """A bundle SKU: sold as a unit, no stock of its own (made of one fresh plain SKU)."""
    part = make_product(f"{name}-配件", skus=[("1件", 100)]).skus[0]
    product = catalog.create_product(None, {"name": name}, [
        {"spec": "套装", "price_fen": price_fen, "components": [{"sku_id": part.id, "qty": 1}]}])
    db.session.commit()
    return product.skus[0]


def admin_headers(client) -> dict:
    return bearer(staff_token(client, make_staff("admin")))


def make_shopper(openid: str | None = None):
    """A shopper row and a session token for it, without the WeChat round trip."""
    from app.sessions import issue_token
    from models.users import User

    user = User(openid=openid or f"o-test-{next(_seq)}")
    db.session.add(user)
    db.session.commit()
    token, _ = issue_token("user", user.id, 3600)
    return user, {"Authorization": f"Bearer {token}"}


def mark_paid(order_no: str):
    """Until payments exist: move an order to paid the way a verified notify will."""
    from sqlalchemy import select

    from models.orders.status import SYSTEM, transition
    from models.orders.tables import Order

    order = db.session.scalars(select(Order).where(Order.order_no == order_no)).one()
    transition(order, "pay", SYSTEM, reason="test payment")
    db.session.commit()
    return order


def make_card_batch(sku, *, count=3, units=1, qty_per_unit=1, channels="both", store=None,
                    valid_from=None, valid_until=None, activate=True, name="中秋提货卡") -> tuple[int, dict]:
    """Pickup cards through the domain operations: a batch created, exported (the job run
    here, the passwords read back from its CSV, receipt confirmed) and, unless told not
    to, activated. Returns (batch_id, {serial: password as printed})."""
    import csv
    import io
    from datetime import timedelta

    from models.base import utcnow
    from models.cards import batches, exports

    now = utcnow()
    batch = batches.create_batch(None, {
        "name": name, "sku_id": sku.id, "qty_per_unit": qty_per_unit, "units_per_card": units,
        "card_count": count, "valid_from": valid_from or now - timedelta(days=1),
        "valid_until": valid_until or now + timedelta(days=30), "channels": channels,
        "store_id": store.id if store is not None else None})
    batch_id = batch.id
    job, _ = exports.start(None, batch_id)
    db.session.commit()
    exports.run(job.id)
    _, text = exports.download(None, job.id)
    exports.confirm(None, job.id)
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    if activate:
        batches.activate(None, batch_id)
    db.session.commit()
    return batch_id, {row["serial"]: row["password"] for row in rows}


def mark_ready(order_no: str):
    """A paid pickup order made ready by its store (issues the pickup code)."""
    from sqlalchemy import select

    from models.orders import lifecycle
    from models.orders.status import SYSTEM
    from models.orders.tables import Order

    order = db.session.scalars(select(Order).where(Order.order_no == order_no)).one()
    lifecycle.mark_ready(order, SYSTEM)
    db.session.commit()
    return order
