"""What a shopper browses: stores near them, products at a store."""
from __future__ import annotations

from apiflask import APIBlueprint, fields, validators

from handlers.schemas import Bool, Cursor, Schema, StrictSchema, cursor_int, page, page_of
from models import stores
from models.stock import queries as stock_queries

bp = APIBlueprint("catalog", __name__, url_prefix="/api", tag="Shopper catalog")


class StoresQuery(StrictSchema):
    lat = fields.Float(load_default=None, validate=validators.Range(-90, 90))
    lng = fields.Float(load_default=None, validate=validators.Range(-180, 180))


class StoreOut(Schema):
    id = fields.Integer()
    name = fields.String()
    address = fields.String()
    phone = fields.String(allow_none=True)
    lat = fields.Float()
    lng = fields.Float()
    distance_m = fields.Integer(allow_none=True)
    open_now = Bool()
    opening_hours = fields.Dict()
    pickup_radius_m = fields.Integer(allow_none=True)


# A store's own fields; the distance depends on who asks and is added per request.
_STORE_FIELDS = StoreOut(exclude=("distance_m",))


ShopperStoreList = page_of(StoreOut, "ShopperStoreList")


class ProductsQuery(StrictSchema):
    store_id = fields.Integer(required=True, validate=validators.Range(min=1))
    cursor = Cursor()
    limit = fields.Integer(load_default=20, validate=validators.Range(1, 100))


class ShopperSku(Schema):
    id = fields.Integer()
    spec = fields.String()
    price_fen = fields.Integer()
    available = fields.Integer()
    barcode = fields.String(allow_none=True)


class ShopperProduct(Schema):
    id = fields.Integer()
    name = fields.String()
    description = fields.String()
    category = fields.String(allow_none=True)
    skus = fields.Nested(ShopperSku, many=True)


ShopperProductList = page_of(ShopperProduct, "ShopperProductList")


@bp.get("/stores")
@bp.input(StoresQuery, location="query", arg_name="query")
@bp.output(ShopperStoreList)
@bp.doc(summary="Active stores, nearest first when lat/lng are given")
def list_stores(query):
    found = stores.nearby_stores(query["lat"], query["lng"])
    return {"items": [_store(s, d) for s, d in found], "next_cursor": None}


@bp.get("/products")
@bp.input(ProductsQuery, location="query", arg_name="query")
@bp.output(ShopperProductList)
@bp.doc(summary="Products and SKUs sold at a store, with price and availability there",
        responses={404: "not_found: no such store"})
def list_products(query):
    store = stores.active_store(query["store_id"])
    limit = query["limit"]
    rows = stock_queries.store_catalog(store.id, cursor=cursor_int(query["cursor"]), limit=limit + 1)
    result = page(rows, limit, key=lambda row: row[0].id)
    result["items"] = [_product(p, skus) for p, skus in result["items"]]
    return result


def _store(store: stores.Store, distance_m: int | None) -> dict:
    return {**_STORE_FIELDS.dump(store), "distance_m": distance_m}


def _product(product, skus) -> dict:
    return {"id": product.id, "name": product.name, "description": product.description,
            "category": product.category,
            "skus": [{"id": s.id, "spec": s.spec, "price_fen": s.price_fen, "available": avail,
                      "barcode": s.barcode} for s, avail in skus]}
