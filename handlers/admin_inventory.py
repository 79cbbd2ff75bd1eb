"""Merchant console: per-store stock (on_hand, baseline)."""
from __future__ import annotations

from apiflask import APIBlueprint, Schema, fields, validators

from app.auth import current_staff, roles, staff_auth
from handlers.schemas import StrictSchema
from models import inventory
from models.base import get_or_404
from models.catalog import Sku
from models.stores import Store

bp = APIBlueprint("admin_inventory", __name__, url_prefix="/api/admin", tag="Admin: inventory")


class InventoryOut(Schema):
    store_id = fields.Integer()
    sku_id = fields.Integer()
    spec = fields.String(attribute="sku.spec")
    product_id = fields.Integer(attribute="sku.product_id")
    on_hand = fields.Integer()
    reserved = fields.Integer()
    available = fields.Integer()
    baseline = fields.Integer()
    online = fields.Boolean()
    updated_at = fields.DateTime()


class InventoryList(Schema):
    items = fields.Nested(InventoryOut, many=True)
    next_cursor = fields.String(allow_none=True)


class StockIn(StrictSchema):
    on_hand = fields.Integer(strict=True, validate=validators.Range(0, 10_000_000))
    baseline = fields.Integer(strict=True, validate=validators.Range(0, 10_000_000))
    note = fields.String(load_default=None, validate=validators.Length(max=255))


@bp.get("/stores/<int:store_id>/inventory")
@bp.auth_required(staff_auth)
@roles("admin", "analyst", "manager", "clerk")
@bp.output(InventoryList)
@bp.doc(summary="Stock of every SKU at a store")
def list_inventory(store_id):
    store = get_or_404(Store, store_id, "store")
    staff = current_staff()
    if staff.role.value != "analyst":
        staff.require_store(store.id)
    return {"items": inventory.store_inventory(store.id), "next_cursor": None}


@bp.put("/stores/<int:store_id>/inventory/<int:sku_id>")
@bp.auth_required(staff_auth)
@roles("admin", "manager")
@bp.input(StockIn, arg_name="body")
@bp.output(InventoryOut)
@bp.doc(summary="Set counted stock and/or baseline of a SKU at a store")
def set_stock(store_id, sku_id, body):
    store = get_or_404(Store, store_id, "store")
    current_staff().require_store(store.id)
    sku = get_or_404(Sku, sku_id, "SKU")
    return inventory.set_stock(current_staff(), store, sku, on_hand=body.get("on_hand"),
                               baseline=body.get("baseline"), note=body["note"])
