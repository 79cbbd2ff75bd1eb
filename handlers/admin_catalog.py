"""Merchant console: stores, products, SKUs."""
from __future__ import annotations

from apiflask import APIBlueprint, fields, validators

from handlers.access import can, current_staff, staff_auth
from handlers.catalog import StoreOut
from handlers.schemas import Bool, PageQuery, Schema, StrictSchema, cursor_int, page, page_of
from models import catalog, stores
from models.base import get_or_404
from models.catalog import MAX_PRICE_FEN

bp = APIBlueprint("admin_catalog", __name__, url_prefix="/api/admin", tag="Admin: catalog")


class StoreIn(StrictSchema):
    name = fields.String(required=True, validate=validators.Length(1, 64))
    address = fields.String(required=True, validate=validators.Length(1, 255))
    phone = fields.String(load_default=None, validate=validators.Length(max=32))
    lat = fields.Float(required=True, validate=validators.Range(-90, 90))
    lng = fields.Float(required=True, validate=validators.Range(-180, 180))
    pickup_radius_m = fields.Integer(load_default=None, validate=validators.Range(10, 100_000))
    opening_hours = fields.Dict(load_default=dict, metadata={
        "example": {"mon": [["09:00", "21:00"]], "sat": [["10:00", "22:00"]]}})
    timezone = fields.String(load_default="Asia/Shanghai", validate=validators.Length(1, 64))
    active = Bool(load_default=True)
    # Pickup: least code level (1–3 = V1–V3; a product may ask for more), hours a ready
    # order waits (null: PICKUP_EXPIRY_HOURS), ready at once when paid (no packing step).
    pickup_level = fields.Integer(load_default=1, strict=True, validate=validators.OneOf([1, 2, 3]))
    pickup_expiry_hours = fields.Integer(load_default=None, allow_none=True, strict=True,
                                         validate=validators.Range(1, 30 * 24))
    auto_ready = Bool(load_default=False)


class AdminStore(StoreOut):
    """What shoppers see of a store, plus what only the merchant needs."""

    class Meta:
        exclude = ("distance_m",)

    timezone = fields.String()
    active = Bool()
    pickup_level = fields.Integer()
    pickup_expiry_hours = fields.Integer(allow_none=True)
    auto_ready = Bool()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ComponentIn(StrictSchema):
    sku_id = fields.Integer(required=True, strict=True, validate=validators.Range(min=1))
    qty = fields.Integer(required=True, strict=True, validate=validators.Range(1, 999))


class SkuIn(StrictSchema):
    spec = fields.String(required=True, validate=validators.Length(1, 64))
    price_fen = fields.Integer(required=True, strict=True, validate=validators.Range(1, MAX_PRICE_FEN))
    barcode = fields.String(load_default=None, validate=validators.Regexp(r"^[0-9A-Za-z-]{4,32}$"))
    on_shelf = Bool(load_default=True)
    limit_per_order = fields.Integer(load_default=None, strict=True, validate=validators.Range(1, 9999))
    limit_per_user = fields.Integer(load_default=None, strict=True, validate=validators.Range(1, 9999))


class NewSkuIn(SkuIn):
    # A bundle (组合提货): main item + accessories, each with its quantity per bundle.
    components = fields.Nested(ComponentIn, many=True, load_default=None,
                               validate=validators.Length(1, 20))


class ProductIn(StrictSchema):
    name = fields.String(required=True, validate=validators.Length(1, 128))
    description = fields.String(load_default="", validate=validators.Length(max=5000))
    category = fields.String(load_default=None, validate=validators.Length(max=64))
    on_shelf = Bool(load_default=True)
    # Least pickup-code level for orders holding this product (1–3 = V1–V3).
    pickup_level = fields.Integer(load_default=1, strict=True, validate=validators.OneOf([1, 2, 3]))
    skus = fields.List(fields.Nested(NewSkuIn), load_default=list, validate=validators.Length(max=100))


class ProductPatch(StrictSchema):
    name = fields.String(validate=validators.Length(1, 128))
    description = fields.String(validate=validators.Length(max=5000))
    category = fields.String(allow_none=True, validate=validators.Length(max=64))
    on_shelf = Bool()
    pickup_level = fields.Integer(strict=True, validate=validators.OneOf([1, 2, 3]))


class ComponentOut(Schema):
    sku_id = fields.Integer(attribute="component_sku_id")
    qty = fields.Integer()


class AdminSku(Schema):
    id = fields.Integer()
    product_id = fields.Integer()
    spec = fields.String()
    price_fen = fields.Integer()
    barcode = fields.String(allow_none=True)
    on_shelf = Bool()
    limit_per_order = fields.Integer(allow_none=True)
    limit_per_user = fields.Integer(allow_none=True)
    is_bundle = Bool()
    components = fields.Nested(ComponentOut, many=True)


class AdminProduct(Schema):
    id = fields.Integer()
    name = fields.String()
    description = fields.String()
    category = fields.String(allow_none=True)
    on_shelf = Bool()
    pickup_level = fields.Integer()
    skus = fields.Nested(AdminSku, many=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


AdminStoreList = page_of(AdminStore, "AdminStoreList")


AdminProductList = page_of(AdminProduct, "AdminProductList")


# --- stores -----------------------------------------------------------------------------

@bp.get("/stores")
@bp.auth_required(staff_auth)
@can("catalog.read")
@bp.output(AdminStoreList)
@bp.doc(summary="All stores (inactive ones too)")
def list_stores():
    return {"items": stores.all_stores(), "next_cursor": None}


@bp.post("/stores")
@bp.auth_required(staff_auth)
@can("stores.write")
@bp.input(StoreIn, arg_name="body")
@bp.output(AdminStore, status_code=201)
@bp.doc(summary="Open a store")
def create_store(body):
    return stores.create_store(current_staff(), body)


@bp.get("/stores/<int:store_id>")
@bp.auth_required(staff_auth)
@can("catalog.read")
@bp.output(AdminStore)
def get_store(store_id):
    return get_or_404(stores.Store, store_id, "No such store.")


@bp.patch("/stores/<int:store_id>")
@bp.auth_required(staff_auth)
@can("stores.write")
@bp.input(StoreIn(partial=True), arg_name="body")
@bp.output(AdminStore)
@bp.doc(summary="Change a store (hours, location, radius, active)")
def update_store(store_id, body):
    return stores.update_store(current_staff(), get_or_404(stores.Store, store_id, "No such store."), body)


# --- products and SKUs ------------------------------------------------------------------

@bp.get("/products")
@bp.auth_required(staff_auth)
@can("catalog.read")
@bp.input(PageQuery, location="query", arg_name="query")
@bp.output(AdminProductList)
def list_products(query):
    rows = catalog.list_products(cursor=cursor_int(query["cursor"]), limit=query["limit"] + 1)
    return page(rows, query["limit"])


@bp.post("/products")
@bp.auth_required(staff_auth)
@can("catalog.write")
@bp.input(ProductIn, arg_name="body")
@bp.output(AdminProduct, status_code=201)
@bp.doc(summary="Create a product, optionally with its SKUs",
        responses={404: "not_found: a component SKU", 409: "conflict: a field already taken (barcode, spec)"})
def create_product(body):
    skus = body.pop("skus")
    return catalog.create_product(current_staff(), body, skus)


@bp.get("/products/<int:product_id>")
@bp.auth_required(staff_auth)
@can("catalog.read")
@bp.output(AdminProduct)
def get_product(product_id):
    return get_or_404(catalog.Product, product_id, "No such product.")


@bp.patch("/products/<int:product_id>")
@bp.auth_required(staff_auth)
@can("catalog.write")
@bp.input(ProductPatch, arg_name="body")
@bp.output(AdminProduct)
@bp.doc(responses={409: "conflict: a field already taken"})
def update_product(product_id, body):
    product = get_or_404(catalog.Product, product_id, "No such product.")
    return catalog.update_product(current_staff(), product, body)


@bp.post("/products/<int:product_id>/skus")
@bp.auth_required(staff_auth)
@can("catalog.write")
@bp.input(NewSkuIn, arg_name="body")
@bp.output(AdminSku, status_code=201)
@bp.doc(responses={409: "conflict: the spec or barcode is taken"})
def add_sku(product_id, body):
    product = get_or_404(catalog.Product, product_id, "No such product.")
    return catalog.add_sku(current_staff(), product, body)


@bp.patch("/skus/<int:sku_id>")
@bp.auth_required(staff_auth)
@can("catalog.write")
@bp.input(SkuIn(partial=True), arg_name="body")
@bp.output(AdminSku)
@bp.doc(summary="Change a SKU (price, spec, barcode, on/off shelf)",
        responses={409: "conflict: the spec or barcode is taken"})
def update_sku(sku_id, body):
    return catalog.update_sku(current_staff(), get_or_404(catalog.Sku, sku_id, "No such SKU."), body)
