"""Merchant console: flash-sale mode per (store, SKU)."""
from __future__ import annotations

from apiflask import APIBlueprint, fields

from handlers.access import can, current_staff, staff_auth
from handlers.schemas import Bool, Schema, StrictSchema
from models.stock import flash_sale

bp = APIBlueprint("admin_flash_sale", __name__, url_prefix="/api/admin", tag="Admin: inventory")


class FlashSaleIn(StrictSchema):
    enabled = Bool(required=True)


class FlashSaleOut(Schema):
    store_id = fields.Integer()
    sku_id = fields.Integer()
    flash_sale = Bool()
    available = fields.Integer()


@bp.put("/stores/<int:store_id>/inventory/<int:sku_id>/flash-sale")
@bp.auth_required(staff_auth)
@can("stock.flash_sale")
@bp.input(FlashSaleIn, arg_name="body")
@bp.output(FlashSaleOut)
@bp.doc(summary="Switch flash-sale mode: a Redis gate in front of the database for a crowd")
def set_flash_sale(store_id, sku_id, body):
    return flash_sale.set_mode(current_staff(), store_id, sku_id, body["enabled"])
