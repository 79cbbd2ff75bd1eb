"""Demo data for the embedded default: two Shanghai stores, a small catalog with stock,
an admin and a clerk, and a small batch of active pickup cards. Idempotent: running it
again changes nothing already there.

The demo passwords are fixed so the README's curl lines work as written; `seed` refuses
to run in production.
"""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from models import catalog, stores
from models.staff.accounts import create_staff
from models.staff.tables import Staff
from models.stock import admin as stock_admin

DEMO_STAFF = [
    {"username": "admin", "password": "tihuo-admin-demo", "role": "admin", "display_name": "店长总部"},
    {"username": "clerk", "password": "tihuo-clerk-demo", "role": "clerk", "display_name": "静安店员"},
]

_EVERY_DAY = {d: [["09:00", "21:00"]] for d in stores.DAYS}
DEMO_STORES = [
    {"name": "静安寺店", "address": "上海市静安区南京西路1699号", "phone": "021-62880001",
     "lat": 31.2235, "lng": 121.4453, "pickup_radius_m": 500, "opening_hours": _EVERY_DAY},
    {"name": "陆家嘴店", "address": "上海市浦东新区陆家嘴环路1000号", "phone": "021-58880002",
     "lat": 31.2397, "lng": 121.4998, "pickup_radius_m": None,
     "opening_hours": {**_EVERY_DAY, "fri": [["09:00", "23:30"]], "sat": [["10:00", "02:00"]]}},
]

# (product, category, [(spec, price_fen, barcode, [stock at store 1, store 2])])
DEMO_PRODUCTS = [
    ("五常大米", "粮油", [("5kg", 8900, "6901234500011", [40, 25]), ("10kg", 16800, "6901234500028", [20, 10])]),
    ("阳澄湖大闸蟹礼盒", "生鲜", [("公4两母3两 4对", 39800, "6901234500035", [12, 0])]),
    ("广式月饼礼盒", "节令", [("双黄莲蓉 6枚", 12800, "6901234500042", [60, 60]),
                         ("五仁 6枚", 9800, "6901234500059", [30, 5])]),
    ("精酿啤酒", "酒水", [("330ml×6", 5900, "6901234500066", [100, 80])]),
]


# Mooncake pickup cards: two boxes per card, redeemable for a year, pickup or delivery.
DEMO_CARD_BATCH = {"name": "中秋月饼提货卡（演示）", "product": "广式月饼礼盒", "spec": "双黄莲蓉 6枚",
                   "units_per_card": 2, "card_count": 3, "days": 365}


def seed() -> dict:
    """What was created, by kind. When the demo card batch is made now, `demo_card` holds
    one card's serial and password — the only time they are shown."""
    created = {"stores": 0, "products": 0, "staff": 0, "card_batches": 0}
    store_rows = []
    for fields in DEMO_STORES:
        store = db.session.scalars(select(stores.Store).where(stores.Store.name == fields["name"])).first()
        if store is None:
            store = stores.create_store(None, fields)
            created["stores"] += 1
        store_rows.append(store)
    for name, category, skus in DEMO_PRODUCTS:
        if db.session.scalars(select(catalog.Product).where(catalog.Product.name == name)).first():
            continue
        product = catalog.create_product(None, {"name": name, "category": category}, [
            {"spec": spec, "price_fen": price, "barcode": code} for spec, price, code, _ in skus])
        created["products"] += 1
        for sku, (_, _, _, counts) in zip(product.skus, skus):
            for store, count in zip(store_rows, counts):
                stock_admin.set_stock(None, store, sku, on_hand=count, baseline=max(count, 20),
                                    note="demo data")
    for fields in DEMO_STAFF:
        if db.session.scalars(select(Staff).where(Staff.username == fields["username"])).first():
            continue
        store_ids = [] if fields["role"] == "admin" else [store_rows[0].id]
        create_staff(None, store_ids=store_ids, **fields)
        created["staff"] += 1
    card = _seed_cards()
    if card is not None:
        created["card_batches"] += 1
        created["demo_card"] = card
    return created


def _seed_cards() -> dict | None:
    import csv
    import io
    from datetime import timedelta

    from models.base import utcnow
    from models.cards import batches, exports
    from models.cards.tables import CardBatch

    spec = DEMO_CARD_BATCH
    if db.session.scalars(select(CardBatch).where(CardBatch.name == spec["name"])).first():
        return None
    sku = db.session.scalars(select(catalog.Sku).join(catalog.Product).where(
        catalog.Product.name == spec["product"], catalog.Sku.spec == spec["spec"])).first()
    if sku is None:
        return None
    now = utcnow()
    batch = batches.create_batch(None, {
        "name": spec["name"], "sku_id": sku.id, "qty_per_unit": 1, "units_per_card": spec["units_per_card"],
        "card_count": spec["card_count"], "valid_from": now, "valid_until": now + timedelta(days=spec["days"]),
        "channels": "both", "store_id": None})
    # The export, here and now: the job runs in this process (its own transactions), its
    # CSV is read once and receipt confirmed, so no result waits in the database.
    job, _ = exports.start(None, batch.id)
    db.session.commit()
    exports.run(job.id)
    _, text = exports.download(None, job.id)
    exports.confirm(None, job.id)
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    batches.activate(None, batch.id)
    return {"serial": rows[0]["serial"], "password": rows[0]["password"],
            "what": f"{spec['units_per_card']} × {spec['product']} {spec['spec']}"}
