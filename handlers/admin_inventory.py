"""Merchant console: per-store stock — counts, restocks, adjustments, transfers between
stores, a row's ledger, and the alerts the levels raise (replenishment requests to accept
or reject, transfer proposals)."""
from __future__ import annotations

from apiflask import APIBlueprint, fields, validators

from handlers.access import can, current_staff, staff_auth
from handlers.schemas import Bool, PageQuery, Schema, StrictSchema, cursor_int, page, page_of
from models.stock import admin as stock_admin, queries as stock_queries
from models.stock.admin import ADJUST_REASONS, MAX_ID, MAX_QTY, REASON_MAX

bp = APIBlueprint("admin_inventory", __name__, url_prefix="/api/admin", tag="Admin: inventory")

_Id = lambda **kw: fields.Integer(strict=True, validate=validators.Range(1, MAX_ID), **kw)  # noqa: E731
_Note = lambda: fields.String(load_default=None, validate=validators.Length(max=255))  # noqa: E731


class InventoryOut(Schema):
    store_id = fields.Integer()
    sku_id = fields.Integer()
    spec = fields.String(attribute="sku.spec")
    product_id = fields.Integer(attribute="sku.product_id")
    on_hand = fields.Integer()
    reserved = fields.Integer()
    available = fields.Integer()
    baseline = fields.Integer()
    online = Bool()
    level = fields.String()
    updated_at = fields.DateTime()


InventoryList = page_of(InventoryOut, "InventoryList")


class StockIn(StrictSchema):
    on_hand = fields.Integer(strict=True, validate=validators.Range(0, 10_000_000))
    baseline = fields.Integer(strict=True, validate=validators.Range(0, 10_000_000))
    note = _Note()


class RestockIn(StrictSchema):
    qty = fields.Integer(required=True, strict=True, validate=validators.Range(1, MAX_QTY))
    note = _Note()


class AdjustIn(StrictSchema):
    delta = fields.Integer(required=True, strict=True, validate=[
        validators.Range(-MAX_QTY, MAX_QTY), validators.NoneOf([0], error="delta must not be 0.")])
    reason = fields.String(required=True, validate=validators.OneOf(ADJUST_REASONS))
    note = _Note()


class TransferIn(StrictSchema):
    from_store_id = _Id(required=True)
    to_store_id = _Id(required=True)
    sku_id = _Id(required=True)
    qty = fields.Integer(required=True, strict=True, validate=validators.Range(1, MAX_QTY))
    note = _Note()


class TransferOut(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    from_store_id = fields.Integer()
    to_store_id = fields.Integer()
    sku_id = fields.Integer()
    qty = fields.Integer()
    staff_id = fields.Integer(allow_none=True)
    note = fields.String(allow_none=True)


class ProposalOut(Schema):
    id = fields.Integer()
    from_store_id = fields.Integer()
    to_store_id = fields.Integer()
    sku_id = fields.Integer()
    qty = fields.Integer()
    distance_m = fields.Integer()
    status = fields.String()
    created_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    decided_by = fields.Integer(allow_none=True)
    transfer_id = fields.Integer(allow_none=True)


class ReplenishmentOut(Schema):
    id = fields.Integer()
    store_id = fields.Integer()
    sku_id = fields.Integer()
    qty_suggested = fields.Integer()
    status = fields.String(metadata={"enum": ["open", "accepted", "fulfilled", "cancelled"]})
    created_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decided_by = fields.Integer(allow_none=True)
    qty_committed = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)


class AcceptReplenishmentIn(StrictSchema):
    # How much will be restocked, when not the suggestion.
    qty = fields.Integer(load_default=None, strict=True, validate=validators.Range(1, MAX_QTY))


class RejectReplenishmentIn(StrictSchema):
    reason = fields.String(required=True, validate=validators.Length(1, REASON_MAX))


class LedgerEntryOut(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    kind = fields.String(metadata={"description": "restock, count, adjust:<reason>, transfer_in, "
                                                  "transfer_out, reserve, release, deduct..."})
    delta_on_hand = fields.Integer()
    delta_reserved = fields.Integer()
    ref = fields.String(allow_none=True)
    order_id = fields.Integer(allow_none=True)
    staff_id = fields.Integer(allow_none=True)
    staff_name = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    balance_after = fields.Integer(allow_none=True, metadata={
        "description": "on hand right after this movement"})


class LevelEventOut(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    store_id = fields.Integer()
    sku_id = fields.Integer()
    from_level = fields.String()
    to_level = fields.String()
    available = fields.Integer()
    baseline = fields.Integer()


ProposalList = page_of(ProposalOut, "ProposalList")


ReplenishmentList = page_of(ReplenishmentOut, "ReplenishmentList")


LedgerPage = page_of(LedgerEntryOut, "StockLedgerPage")


LevelEventList = page_of(LevelEventOut, "LevelEventList")


class ProposalQuery(PageQuery):
    status = fields.String(load_default=None,
                           validate=validators.OneOf(("proposed", "accepted", "rejected")))


class StoreScopedQuery(PageQuery):
    store_id = fields.Integer(load_default=None, validate=validators.Range(1, MAX_ID))


class ReplenishmentQuery(StoreScopedQuery):
    status = fields.String(load_default=None,
                           validate=validators.OneOf(("open", "accepted", "fulfilled", "cancelled")))


# --- stock of a store -------------------------------------------------------------------

@bp.get("/stores/<int:store_id>/inventory")
@bp.auth_required(staff_auth)
@can("stock.read")
@bp.output(InventoryList)
@bp.doc(summary="Stock of every SKU at a store")
def list_inventory(store_id):
    return {"items": stock_admin.inventory(current_staff(), store_id), "next_cursor": None}


@bp.put("/stores/<int:store_id>/inventory/<int:sku_id>")
@bp.auth_required(staff_auth)
@can("stock.write")
@bp.input(StockIn, arg_name="body")
@bp.output(InventoryOut)
@bp.doc(summary="Set counted stock and/or baseline of a SKU at a store",
        responses={409: "stock_below_reserved"})
def set_stock(store_id, sku_id, body):
    return stock_admin.count(current_staff(), store_id, sku_id, on_hand=body.get("on_hand"),
                             baseline=body.get("baseline"), note=body["note"])


@bp.post("/stores/<int:store_id>/inventory/<int:sku_id>/restock")
@bp.auth_required(staff_auth)
@can("stock.write")
@bp.input(RestockIn, arg_name="body")
@bp.output(InventoryOut)
@bp.doc(summary="Goods received: add qty to on-hand stock")
def restock(store_id, sku_id, body):
    return stock_admin.restock(current_staff(), store_id, sku_id, body["qty"], body["note"])


@bp.post("/stores/<int:store_id>/inventory/<int:sku_id>/adjust")
@bp.auth_required(staff_auth)
@can("stock.write")
@bp.input(AdjustIn, arg_name="body")
@bp.output(InventoryOut)
@bp.doc(summary="Correct on-hand stock (damaged, lost, found, count correction, other)",
        responses={409: "stock_below_reserved"})
def adjust(store_id, sku_id, body):
    return stock_admin.adjust(current_staff(), store_id, sku_id, body["delta"], body["reason"],
                              body["note"])


@bp.get("/stores/<int:store_id>/inventory/<int:sku_id>/ledger")
@bp.auth_required(staff_auth)
@can("stock.read")
@bp.input(PageQuery, location="query", arg_name="query")
@bp.output(LedgerPage)
@bp.doc(summary="The stock ledger of a SKU at a store, newest first, with the balance after each row",
        responses={400: "bundle_has_no_stock: a bundle has no ledger of its own",
                   404: "not_found: no such store or SKU"})
def stock_ledger(store_id, sku_id, query):
    rows = stock_admin.ledger(current_staff(), store_id, sku_id, cursor=cursor_int(query["cursor"]),
                              limit=query["limit"] + 1)
    return page(rows, query["limit"])


# --- transfers between stores -----------------------------------------------------------

@bp.post("/transfers")
@bp.auth_required(staff_auth)
@can("stock.transfer")
@bp.input(TransferIn, arg_name="body")
@bp.output(TransferOut, status_code=201)
@bp.doc(summary="Move stock of a SKU from one store to another",
        responses={404: "not_found: no such store or SKU", 409: "out_of_stock or stock_below_reserved"})
def create_transfer(body):
    return stock_admin.transfer(current_staff(), body["from_store_id"], body["to_store_id"],
                                body["sku_id"], body["qty"], body["note"])


@bp.get("/transfer-proposals")
@bp.auth_required(staff_auth)
@can("stock.transfer")
@bp.input(ProposalQuery, location="query", arg_name="query")
@bp.output(ProposalList)
@bp.doc(summary="Transfers proposed for critically low stock (managers: their stores)")
def list_proposals(query):
    rows = stock_queries.list_proposals(current_staff(), status=query["status"],
                                      cursor=cursor_int(query["cursor"]), limit=query["limit"] + 1)
    return page(rows, query["limit"])


@bp.post("/transfer-proposals/<int:proposal_id>/accept")
@bp.auth_required(staff_auth)
@can("stock.transfer")
@bp.output(ProposalOut)
@bp.doc(summary="Accept a proposal: the transfer is carried out now",
        responses={409: "invalid_transition: decided already"})
def accept_proposal(proposal_id):
    return stock_admin.accept_proposal(current_staff(), proposal_id)


@bp.post("/transfer-proposals/<int:proposal_id>/reject")
@bp.auth_required(staff_auth)
@can("stock.transfer")
@bp.output(ProposalOut)
@bp.doc(summary="Reject a proposal: nothing moves",
        responses={409: "invalid_transition: decided already"})
def reject_proposal(proposal_id):
    return stock_admin.reject_proposal(current_staff(), proposal_id)


# --- alerts -------------------------------------------------------------------------------

@bp.get("/replenishment-requests")
@bp.auth_required(staff_auth)
@can("stock.read")
@bp.input(ReplenishmentQuery, location="query", arg_name="query")
@bp.output(ReplenishmentList)
@bp.doc(summary="Replenishment requests opened by low stock, newest first")
def list_replenishment(query):
    rows = stock_queries.list_replenishment(
        current_staff(), status=query["status"], store_id=query["store_id"],
        cursor=cursor_int(query["cursor"]), limit=query["limit"] + 1)
    return page(rows, query["limit"])


@bp.get("/stock-level-events")
@bp.auth_required(staff_auth)
@can("stock.read")
@bp.input(StoreScopedQuery, location="query", arg_name="query")
@bp.output(LevelEventList)
@bp.doc(summary="Alert level changes, newest first")
def list_level_events(query):
    rows = stock_queries.list_level_events(current_staff(), store_id=query["store_id"],
                                         cursor=cursor_int(query["cursor"]), limit=query["limit"] + 1)
    return page(rows, query["limit"])


@bp.post("/replenishment-requests/<int:request_id>/accept")
@bp.auth_required(staff_auth)
@can("stock.write")
@bp.input(AcceptReplenishmentIn, arg_name="body")
@bp.output(ReplenishmentOut)
@bp.doc(summary="Accept a replenishment request: the store will restock (it closes when the level recovers)",
        responses={404: "not_found: no such replenishment request",
                   409: "invalid_transition: decided already, or fulfilled"})
def accept_replenishment(request_id, body):
    return stock_admin.accept_replenishment(current_staff(), request_id, body["qty"])


@bp.post("/replenishment-requests/<int:request_id>/reject")
@bp.auth_required(staff_auth)
@can("stock.write")
@bp.input(RejectReplenishmentIn, arg_name="body")
@bp.output(ReplenishmentOut)
@bp.doc(summary="Reject a replenishment request as not needed (cancelled, with the reason)",
        responses={404: "not_found: no such replenishment request",
                   409: "invalid_transition: decided already, or fulfilled"})
def reject_replenishment(request_id, body):
    return stock_admin.reject_replenishment(current_staff(), request_id, body["reason"])
