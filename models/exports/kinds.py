"""The registry of export kinds: for each, the ability it needs, its columns, and how its
rows are read — a date range (Asia/Shanghai days) of one table walked by keyset on an
indexed time column, a page at a time, never with OFFSET and never all at once.

Each kind reads (time, id) pages: `WHERE t >= start AND t < end AND (t, id) > last seen
ORDER BY t, id LIMIT n` on an index of `t` (InnoDB appends the primary key to it, so the
order is the index's own and each page starts where the last one ended, whatever the size
of the history). Rows of other tables a row names (its order's number, its store's or
SKU's name, a staff member's username) come by primary key, per page or from a small
cache. Stores are filtered on the page (`store_id IN (...)`): a manager's export reads the
range of every store and keeps theirs — its cost follows the range asked for.

| kind | rows | time (index) | store | ability |
| --- | --- | --- | --- | --- |
| orders | orders placed in the range | orders.created_at (ix_orders_created_at) | the order's | orders.read |
| order_items | the lines of those orders | through the orders; items by ix_order_items_order_id | the order's | orders.read |
| payments | payments received in the range | payments.paid_at (ix_payments_paid_at) | the order's | payments.read |
| refunds | refunds asked for in the range, any status | refunds.created_at (ix_refunds_created_at) | the order's | payments.read |
| reconciliation_differences | each difference of the reports of bill dates in the range | reconciliation_reports.bill_date | — (not per store) | payments.read |
| pickup_ledger | hand-overs (the verification ledger) | pickup_verifications.verified_at (ix_..._verified_at) | the ledger's | orders.read |
| stock_ledger | stock movements | stock_movements.at (ix_stock_movements_at) | the movement's | stock.read |
| card_batches | batches created in the range, cards counted by status; never a password | card_batches.created_at (a small table: a batch is a print run) | the batch's, and batches for every store | cards.read |
| report_daily | models.analytics.reports.daily: a row per day, per store, the total, the previous period | the rollups | the figures' | reports.read |

The pickup ledger needs `orders.read`: it is the record of orders handed over, read by
whoever reads those stores' orders (clerks too, for their own stores).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import func, or_, select

from app.extensions import db
from models.analytics import calendar
from models.analytics.figures import FIELDS
from models.analytics.reports import daily as daily_report
from models.cards.batches import with_counts
from models.cards.tables import CardBatch, CardStatus
from models.catalog import Product, Sku
from models.exports.cells import BOOL, DATE, FEN, INT, TIME, Col
from models.exports.errors import NotPerStore
from models.orders.tables import Order, OrderItem
from models.payments.tables import Payment, ReconciliationReport, Refund
from models.pickup.tables import PickupVerification
from models.staff.tables import Staff
from models.stock.tables import StockMovement
from models.stores import Store

PAGE = 1000


@dataclass(frozen=True)
class Filters:
    """What an export covers: Asia/Shanghai days `first`..`last` (both included), the
    stores (`store_ids`, None: every store — the asker's scope, or the one they asked for
    in `store_id`), and the headers' language."""
    first: date
    last: date
    store_ids: tuple[int, ...] | None = None
    store_id: int | None = None
    lang: str = "en"

    @property
    def start(self) -> datetime:
        return calendar.bounds(self.first)[0]

    @property
    def end(self) -> datetime:
        return calendar.bounds(self.last)[1]

    def as_json(self) -> dict:
        return {"from": self.first.isoformat(), "to": self.last.isoformat(), "store_id": self.store_id,
                "lang": self.lang, "store_ids": None if self.store_ids is None else list(self.store_ids)}

    @classmethod
    def of_json(cls, data: dict) -> Filters:
        ids = data.get("store_ids")
        return cls(date.fromisoformat(data["from"]), date.fromisoformat(data["to"]),
                   None if ids is None else tuple(ids), data.get("store_id"), data.get("lang", "en"))


@dataclass(frozen=True)
class Kind:
    name: str
    ability: str
    title: dict[str, str]                                # {"zh": ..., "en": ...}: the sheet, the file name
    columns: tuple[Col, ...]
    pages: Callable[[Filters], Iterator[list[tuple]]]    # rows, a page at a time, in column order
    count: Callable[[Filters, int | None], int]          # rows (at most `limit + 1` read when given one)
    summary: str = ""
    per_store: bool = True

    def header_row(self, lang: str) -> list[str]:
        return [h for col in self.columns for h in col.headers(lang)]

    def check(self, filters: Filters) -> None:
        if not self.per_store and filters.store_id is not None:
            raise NotPerStore(details={"kind": self.name, "store_id": filters.store_id})


# --- reading helpers ---------------------------------------------------------------------

def _keyset(query, t, ident, start, end, *, page: int | None = None) -> Iterator[list]:
    """Pages of `query` in (t, ident) order, t in [start, end): each page starts after the
    last row of the one before (the two key columns ride along as `_kt`, `_kid`)."""
    page = page or PAGE
    base = (query.add_columns(t.label("_kt"), ident.label("_kid")).where(t >= start, t < end)
            .order_by(t, ident).limit(page))
    after = None
    while True:
        stmt = base if after is None else base.where(t >= after[0], or_(t > after[0], ident > after[1]))
        rows = db.session.execute(stmt).all()
        if rows:
            yield rows
        if len(rows) < page:
            return
        after = (rows[-1]._kt, rows[-1]._kid)


def _walk(query, table, index: str):
    """Make MariaDB walk `table` on `index` (and join the rest in the order written). The
    keyset's (t, id) order is that index's own, so each page reads only its rows; left to
    itself, the optimizer may take a store's index for a manager's export (or merge two
    indexes) and sort that store's whole history again for every page."""
    return (query.with_hint(table, f"FORCE INDEX ({index})", "mysql")
            .prefix_with("STRAIGHT_JOIN", dialect="mysql"))


def _count(query, limit: int | None) -> int:
    """Rows of `query` (a SELECT of one key column): all of them, or — for the streamed
    export's cap — at most limit + 1, so asking costs no more than the cap."""
    if limit is not None:
        query = query.limit(limit + 1)
    return db.session.scalar(select(func.count()).select_from(query.subquery())) or 0


def _stores(col, f: Filters) -> list:
    return [] if f.store_ids is None else [col.in_(f.store_ids or (-1,))]


def _store_names() -> dict[int, str]:
    return dict(db.session.execute(select(Store.id, Store.name)).all())


class _Names:
    """Names by id, read a page's missing ones at a time (SKUs, staff): a catalog's worth at most."""

    def __init__(self, query: Callable[[list[int]], list[tuple[int, str]]]):
        self.query, self.known = query, {}

    def fill(self, ids) -> dict[int, str]:
        missing = sorted({i for i in ids if i is not None} - self.known.keys())
        if missing:
            self.known.update(self.query(missing))
        return self.known


def _sku_names(ids: list[int]):
    return [(i, f"{name} {spec}") for i, name, spec in db.session.execute(
        select(Sku.id, Product.name, Sku.spec).join(Product, Product.id == Sku.product_id).where(Sku.id.in_(ids)))]


def _usernames(ids: list[int]):
    return db.session.execute(select(Staff.id, Staff.username).where(Staff.id.in_(ids))).all()


def _since(f: Filters, t) -> list:
    return [t >= f.start, t < f.end]


# --- orders --------------------------------------------------------------------------------

ORDER_COLUMNS = (
    Col("order_no", "订单号", "Order no."), Col("store_id", "门店ID", "Store ID", INT), Col("store", "门店", "Store"),
    Col("user_id", "顾客ID", "Shopper ID", INT), Col("fulfillment", "履约方式", "Fulfilment"),
    Col("status", "状态", "Status"), Col("total_fen", "商品金额", "Total", FEN),
    Col("payable_fen", "应付金额", "Payable", FEN), Col("source", "来源", "Source"),
    Col("flash_sale", "秒杀", "Flash sale", BOOL), Col("remark", "备注", "Remark"),
    Col("created_at", "下单时间", "Placed at", TIME), Col("paid_at", "支付时间", "Paid at", TIME),
    Col("ready_at", "备货完成时间", "Ready at", TIME), Col("picked_up_at", "提货时间", "Picked up at", TIME),
    Col("shipped_at", "发货时间", "Shipped at", TIME), Col("carrier", "快递公司", "Carrier"),
    Col("tracking_no", "运单号", "Tracking no."), Col("delivered_at", "送达时间", "Delivered at", TIME),
    Col("completed_at", "完成时间", "Completed at", TIME), Col("cancelled_at", "取消时间", "Cancelled at", TIME),
    Col("cancel_reason", "取消原因", "Cancel reason"),
)
_ORDER_FIELDS = [Order.order_no, Order.store_id, Order.user_id, Order.fulfillment, Order.status, Order.total_fen,
                 Order.payable_fen, Order.source, Order.flash_sale, Order.remark, Order.created_at, Order.paid_at,
                 Order.ready_at, Order.picked_up_at, Order.shipped_at, Order.carrier, Order.tracking_no,
                 Order.delivered_at, Order.completed_at, Order.cancelled_at, Order.cancel_reason]


def _orders_query(f: Filters, *fields):
    return _walk(select(*fields).where(*_stores(Order.store_id, f)), Order, "ix_orders_created_at")


def order_pages(f: Filters) -> Iterator[list[tuple]]:
    names = _store_names()
    for page in _keyset(_orders_query(f, *_ORDER_FIELDS), Order.created_at, Order.id, f.start, f.end):
        yield [(r.order_no, r.store_id, names.get(r.store_id), r.user_id, r.fulfillment, r.status, r.total_fen,
                r.payable_fen, r.source, r.flash_sale, r.remark, r.created_at, r.paid_at, r.ready_at,
                r.picked_up_at, r.shipped_at, r.carrier, r.tracking_no, r.delivered_at, r.completed_at,
                r.cancelled_at, r.cancel_reason) for r in page]


def order_count(f: Filters, limit: int | None) -> int:
    return _count(_orders_query(f, Order.id).where(*_since(f, Order.created_at)), limit)


# --- order items ---------------------------------------------------------------------------

ITEM_COLUMNS = (
    Col("order_no", "订单号", "Order no."), Col("store_id", "门店ID", "Store ID", INT), Col("store", "门店", "Store"),
    Col("order_created_at", "下单时间", "Placed at", TIME), Col("order_status", "订单状态", "Order status"),
    Col("sku_id", "SKU ID", "SKU ID", INT), Col("product_id", "商品ID", "Product ID", INT),
    Col("name", "商品", "Product"), Col("spec", "规格", "Spec"), Col("price_fen", "单价", "Price", FEN),
    Col("qty", "数量", "Qty", INT), Col("picked_up_qty", "已提数量", "Picked up", INT),
    Col("line_fen", "小计", "Line total", FEN),
)


def item_pages(f: Filters) -> Iterator[list[tuple]]:
    """The orders' pages (as for `orders`, half as many at a time: an order has a few
    lines), each with its lines read by ix_order_items_order_id."""
    names = _store_names()
    orders = _orders_query(f, Order.order_no, Order.store_id, Order.status, Order.created_at)
    for page in _keyset(orders, Order.created_at, Order.id, f.start, f.end, page=max(PAGE // 2, 1)):
        lines: dict[int, list] = {}
        for item in db.session.execute(
                select(OrderItem.order_id, OrderItem.sku_id, OrderItem.product_id, OrderItem.name, OrderItem.spec,
                       OrderItem.price_fen, OrderItem.qty, OrderItem.picked_up_qty)
                .where(OrderItem.order_id.in_([o._kid for o in page])).order_by(OrderItem.order_id, OrderItem.id)):
            lines.setdefault(item.order_id, []).append(item)
        yield [(o.order_no, o.store_id, names.get(o.store_id), o.created_at, o.status, i.sku_id, i.product_id,
                i.name, i.spec, i.price_fen, i.qty, i.picked_up_qty, i.price_fen * i.qty)
               for o in page for i in lines.get(o._kid, ())]


def item_count(f: Filters, limit: int | None) -> int:
    return _count(_orders_query(f, OrderItem.id).select_from(Order).join(OrderItem, OrderItem.order_id == Order.id)
                  .where(*_since(f, Order.created_at)), limit)


# --- payments and refunds ------------------------------------------------------------------

PAYMENT_COLUMNS = (
    Col("out_trade_no", "商户订单号", "Order no. (out_trade_no)"), Col("store_id", "门店ID", "Store ID", INT),
    Col("store", "门店", "Store"), Col("status", "状态", "Status"), Col("amount_fen", "应收金额", "Amount", FEN),
    Col("paid_fen", "实收金额", "Paid", FEN), Col("transaction_id", "微信支付单号", "WeChat Pay transaction"),
    Col("bank_type", "付款银行", "Bank type"), Col("confirmed_by", "确认方式", "Confirmed by"),
    Col("created_at", "创建时间", "Created at", TIME), Col("paid_at", "支付时间", "Paid at", TIME),
)


def _payments_query(f: Filters, *fields):
    return _walk(select(*fields).select_from(Payment).join(Order, Order.id == Payment.order_id)
                 .where(*_stores(Order.store_id, f)), Payment, "ix_payments_paid_at")


def payment_pages(f: Filters) -> Iterator[list[tuple]]:
    names = _store_names()
    query = _payments_query(f, Payment.out_trade_no, Order.store_id, Payment.status, Payment.amount_fen,
                            Payment.paid_fen, Payment.transaction_id, Payment.bank_type, Payment.confirmed_by,
                            Payment.created_at, Payment.paid_at)
    for page in _keyset(query, Payment.paid_at, Payment.id, f.start, f.end):
        yield [(r.out_trade_no, r.store_id, names.get(r.store_id), r.status, r.amount_fen, r.paid_fen,
                r.transaction_id, r.bank_type, r.confirmed_by, r.created_at, r.paid_at) for r in page]


def payment_count(f: Filters, limit: int | None) -> int:
    return _count(_payments_query(f, Payment.id).where(*_since(f, Payment.paid_at)), limit)


REFUND_COLUMNS = (
    Col("out_refund_no", "退款单号", "Refund no."), Col("order_no", "订单号", "Order no."),
    Col("store_id", "门店ID", "Store ID", INT), Col("store", "门店", "Store"),
    Col("amount_fen", "退款金额", "Amount", FEN), Col("status", "状态", "Status"), Col("reason", "原因", "Reason"),
    Col("automatic", "自动退款", "Automatic", BOOL), Col("requested_by", "申请员工ID", "Requested by (staff ID)", INT),
    Col("refund_id", "微信退款单号", "WeChat Pay refund"), Col("last_error", "最近错误", "Last error"),
    Col("created_at", "申请时间", "Asked at", TIME), Col("succeeded_at", "退款成功时间", "Succeeded at", TIME),
)


def _refunds_query(f: Filters, *fields):
    return _walk(select(*fields).select_from(Refund).join(Order, Order.id == Refund.order_id)
                 .where(*_stores(Order.store_id, f)), Refund, "ix_refunds_created_at")


def refund_pages(f: Filters) -> Iterator[list[tuple]]:
    names = _store_names()
    query = _refunds_query(f, Refund.out_refund_no, Order.order_no, Order.store_id, Refund.amount_fen, Refund.status,
                           Refund.reason, Refund.automatic, Refund.requested_by, Refund.refund_id, Refund.last_error,
                           Refund.created_at, Refund.succeeded_at)
    for page in _keyset(query, Refund.created_at, Refund.id, f.start, f.end):
        yield [(r.out_refund_no, r.order_no, r.store_id, names.get(r.store_id), r.amount_fen, r.status, r.reason,
                r.automatic, r.requested_by, r.refund_id, r.last_error, r.created_at, r.succeeded_at) for r in page]


def refund_count(f: Filters, limit: int | None) -> int:
    return _count(_refunds_query(f, Refund.id).where(*_since(f, Refund.created_at)), limit)


# --- reconciliation differences --------------------------------------------------------------

DIFFERENCE_COLUMNS = (
    Col("bill_date", "账单日期", "Bill date", DATE), Col("report_id", "对账报告ID", "Report ID", INT),
    Col("report_created_at", "对账时间", "Reconciled at", TIME), Col("report_status", "报告状态", "Report status"),
    Col("kind", "差异类型", "Difference"), Col("transaction_id", "微信支付单号", "WeChat Pay transaction"),
    Col("out_trade_no", "商户订单号", "Order no. (out_trade_no)"), Col("out_refund_no", "退款单号", "Refund no."),
    Col("ours_fen", "本系统金额", "Ours", FEN), Col("bill_fen", "账单金额", "Bill", FEN),
)
_REPORTS = _walk(select(ReconciliationReport.bill_date, ReconciliationReport.created_at,
                        ReconciliationReport.status, ReconciliationReport.differences),
                 ReconciliationReport, "ix_reconciliation_reports_bill_date")


def _fen(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def difference_pages(f: Filters) -> Iterator[list[tuple]]:
    """Every report of the bill dates in the range (a day reconciled twice has two), each
    difference a row: what the report said then."""
    for page in _keyset(_REPORTS, ReconciliationReport.bill_date, ReconciliationReport.id,
                        f.first, f.last + timedelta(days=1), page=max(PAGE // 10, 1)):
        yield [(r.bill_date, r._kid, r.created_at, r.status, d.get("kind"), d.get("transaction_id"),
                d.get("out_trade_no"), d.get("out_refund_no"), _fen(d.get("ours_fen")), _fen(d.get("bill_fen")))
               for r in page for d in (r.differences or []) if isinstance(d, dict)]


def difference_count(f: Filters, limit: int | None) -> int:
    # The differences are a JSON list per report (a few reports per day): counted as read.
    counted = 0
    for page in difference_pages(f):
        counted += len(page)
        if limit is not None and counted > limit:
            break
    return counted


# --- the pickup ledger ---------------------------------------------------------------------

LEDGER_COLUMNS = (
    Col("store_id", "门店ID", "Store ID", INT), Col("store", "门店", "Store"), Col("seq", "账本序号", "Ledger seq", INT),
    Col("order_no", "订单号", "Order no."), Col("staff_id", "核销员工ID", "Staff ID", INT),
    Col("staff", "核销员工", "Staff"), Col("items", "提货明细（SKU×数量）", "Items (SKU×qty)"),
    Col("units", "件数", "Units", INT), Col("partial", "部分提货", "Partial", BOOL),
    Col("verified_at", "核销时间", "Verified at", TIME), Col("row_hash", "记录哈希", "Row hash"),
)


def _ledger_query(f: Filters, *fields):
    return _walk(select(*fields).select_from(PickupVerification).join(Order, Order.id == PickupVerification.order_id)
                 .where(*_stores(PickupVerification.store_id, f)), PickupVerification,
                 "ix_pickup_verifications_verified_at")


def _items(items) -> tuple[str, int]:
    pairs = [(int(sku), int(qty)) for sku, qty in (items or [])]
    return "; ".join(f"{sku}×{qty}" for sku, qty in pairs), sum(qty for _, qty in pairs)


def ledger_pages(f: Filters) -> Iterator[list[tuple]]:
    names, staff = _store_names(), _Names(_usernames)
    query = _ledger_query(f, PickupVerification.store_id, PickupVerification.seq, Order.order_no,
                          PickupVerification.staff_id, PickupVerification.items, PickupVerification.partial,
                          PickupVerification.verified_at, PickupVerification.row_hash)
    for page in _keyset(query, PickupVerification.verified_at, PickupVerification.id, f.start, f.end):
        who = staff.fill(r.staff_id for r in page)
        yield [(r.store_id, names.get(r.store_id), r.seq, r.order_no, r.staff_id, who.get(r.staff_id),
                *_items(r.items), r.partial, r.verified_at, r.row_hash) for r in page]


def ledger_count(f: Filters, limit: int | None) -> int:
    return _count(_walk(select(PickupVerification.id), PickupVerification, "ix_pickup_verifications_verified_at")
                  .where(*_since(f, PickupVerification.verified_at), *_stores(PickupVerification.store_id, f)),
                  limit)


# --- the stock ledger ----------------------------------------------------------------------

STOCK_COLUMNS = (
    Col("at", "时间", "At", TIME), Col("store_id", "门店ID", "Store ID", INT), Col("store", "门店", "Store"),
    Col("sku_id", "SKU ID", "SKU ID", INT), Col("sku", "商品规格", "SKU"),
    Col("delta_on_hand", "在库变动", "On hand change", INT), Col("delta_reserved", "占用变动", "Reserved change", INT),
    Col("reason", "原因", "Reason"), Col("order_id", "订单ID", "Order ID", INT),
    Col("staff_id", "员工ID", "Staff ID", INT), Col("ref", "关联", "Reference"), Col("note", "备注", "Note"),
)


def _stock_query(f: Filters, *fields):
    return _walk(select(*fields).where(*_stores(StockMovement.store_id, f)), StockMovement, "ix_stock_movements_at")


def stock_pages(f: Filters) -> Iterator[list[tuple]]:
    names, skus = _store_names(), _Names(_sku_names)
    query = _stock_query(f, StockMovement.at, StockMovement.store_id, StockMovement.sku_id,
                         StockMovement.delta_on_hand, StockMovement.delta_reserved, StockMovement.reason,
                         StockMovement.order_id, StockMovement.staff_id, StockMovement.ref, StockMovement.note)
    for page in _keyset(query, StockMovement.at, StockMovement.id, f.start, f.end):
        sku = skus.fill(r.sku_id for r in page)
        yield [(r.at, r.store_id, names.get(r.store_id), r.sku_id, sku.get(r.sku_id), r.delta_on_hand,
                r.delta_reserved, r.reason, r.order_id, r.staff_id, r.ref, r.note) for r in page]


def stock_count(f: Filters, limit: int | None) -> int:
    return _count(_stock_query(f, StockMovement.id).where(*_since(f, StockMovement.at)), limit)


# --- card batches ----------------------------------------------------------------------------

BATCH_COLUMNS = (
    Col("id", "批次ID", "Batch ID", INT), Col("name", "批次名称", "Name"), Col("sku_id", "SKU ID", "SKU ID", INT),
    Col("sku", "商品规格", "SKU"), Col("qty_per_unit", "每份数量", "Qty per unit", INT),
    Col("units_per_card", "每卡份数", "Units per card", INT), Col("card_count", "卡数", "Cards", INT),
    Col("channels", "提货方式", "Channels"), Col("store_id", "限定门店ID", "Store ID", INT),
    Col("store", "限定门店", "Store"), Col("valid_from", "生效时间", "Valid from", TIME),
    Col("valid_until", "失效时间", "Valid until", TIME), Col("created_at", "创建时间", "Created at", TIME),
    Col("exported_at", "导出时间", "Exported at", TIME), Col("voided_at", "作废时间", "Voided at", TIME),
    *(Col(f"cards_{s.value}", f"卡数：{zh}", f"Cards {s.value}", INT) for s, zh in zip(
        CardStatus, ("未制卡", "已制卡", "已激活", "已用完", "已作废"), strict=True)),
    Col("cards_locked", "卡数：锁定", "Cards locked", INT),
)


def _batches_query(f: Filters):
    # Batches for one store are that store's; batches for every store (store_id NULL) are
    # everyone's. Serials and counts only: a password is never read here.
    query = select(CardBatch.id)
    if f.store_ids is not None:
        query = query.where(or_(CardBatch.store_id.in_(f.store_ids or (-1,)), CardBatch.store_id.is_(None)))
    return query


def batch_pages(f: Filters) -> Iterator[list[tuple]]:
    names, skus = _store_names(), _Names(_sku_names)
    fields = [CardBatch.id, CardBatch.name, CardBatch.sku_id, CardBatch.qty_per_unit, CardBatch.units_per_card,
              CardBatch.card_count, CardBatch.channels, CardBatch.store_id, CardBatch.valid_from,
              CardBatch.valid_until, CardBatch.created_at, CardBatch.exported_at, CardBatch.voided_at]
    query = _batches_query(f).with_only_columns(*fields)
    for page in _keyset(query, CardBatch.created_at, CardBatch.id, f.start, f.end, page=max(PAGE // 5, 1)):
        batches = with_counts([SimpleNamespace(**r._mapping) for r in page])  # counted per page, one query
        sku = skus.fill(b.sku_id for b in batches)
        yield [(b.id, b.name, b.sku_id, sku.get(b.sku_id), b.qty_per_unit, b.units_per_card, b.card_count, b.channels,
                b.store_id, names.get(b.store_id), b.valid_from, b.valid_until, b.created_at, b.exported_at,
                b.voided_at, *(b.counts[s.value] for s in CardStatus), b.counts["locked"]) for b in batches]


def batch_count(f: Filters, limit: int | None) -> int:
    return _count(_batches_query(f).where(*_since(f, CardBatch.created_at)), limit)


# --- the daily report ------------------------------------------------------------------------

_FIGURE_HEADERS = {
    "placed": ("下单数", "Orders placed"), "placed_fen": ("下单金额", "Placed"),
    "paid": ("支付单数", "Orders paid"), "paid_fen": ("支付金额（GMV）", "Paid (GMV)"),
    "cancelled": ("取消单数", "Cancelled"), "cancelled_by_shopper": ("顾客取消", "By the shopper"),
    "cancelled_by_staff": ("员工取消", "By staff"), "cancelled_by_system": ("超时取消", "At the pay deadline"),
    "ready": ("备货完成", "Made ready"), "picked_up": ("已提货", "Picked up"), "shipped": ("已发货", "Shipped"),
    "delivered": ("已送达", "Delivered"), "completed": ("已完成", "Completed"),
    "pickup_expired": ("提货过期", "Pickups expired"), "pickup_visits": ("到店提货次数", "Counter visits"),
    "partial_visits": ("分次提货次数", "Partial visits"), "new_buyers": ("新顾客", "New buyers"),
    "returning_buyers": ("老顾客", "Returning buyers"), "refunds": ("退款笔数", "Refunds"),
    "refunded_fen": ("退款金额", "Refunded"), "net_fen": ("净收入", "Net"),
    "average_order_fen": ("客单价", "Average order"),
}
_FIGURES = (*FIELDS, "net_fen", "average_order_fen")
REPORT_COLUMNS = (
    Col("section", "类别", "Section"), Col("from", "起始日", "From", DATE), Col("to", "截止日", "To", DATE),
    Col("store_id", "门店ID", "Store ID", INT), Col("store", "门店", "Store"),
    *(Col(name, *_FIGURE_HEADERS[name], FEN if name.endswith("_fen") else INT) for name in _FIGURES),
)
_SECTIONS = {"day": ("按日", "day"), "store": ("按门店", "store"), "total": ("合计", "total"),
             "previous": ("上一周期合计", "previous period")}


def report_rows(f: Filters) -> list[tuple]:
    report = daily_report(None if f.store_ids is None else list(f.store_ids), f.first, f.last)
    names = _store_names()

    def row(section: str, first, last, store_id, figures):
        label = _SECTIONS[section][0 if f.lang == "zh" else 1]
        return (label, first, last, store_id, names.get(store_id), *(figures[name] for name in _FIGURES))

    return [*(row("day", d["day"], d["day"], None, d) for d in report["by_day"]),
            *(row("store", f.first, f.last, s["store_id"], s) for s in report["by_store"]),
            row("total", f.first, f.last, None, report["totals"]),
            row("previous", report["previous"]["from"], report["previous"]["to"], None, report["previous"]["totals"])]


def report_pages(f: Filters) -> Iterator[list[tuple]]:
    yield report_rows(f)  # at most 366 days and the stores: one page


def report_count(f: Filters, limit: int | None) -> int:
    return len(report_rows(f))


# --- the registry ----------------------------------------------------------------------------

KINDS: dict[str, Kind] = {kind.name: kind for kind in (
    Kind("orders", "orders.read", {"zh": "订单", "en": "Orders"}, ORDER_COLUMNS, order_pages, order_count,
         "Orders placed in the range"),
    Kind("order_items", "orders.read", {"zh": "订单明细", "en": "Order items"}, ITEM_COLUMNS, item_pages, item_count,
         "The lines of the orders placed in the range"),
    Kind("payments", "payments.read", {"zh": "收款", "en": "Payments"}, PAYMENT_COLUMNS, payment_pages,
         payment_count, "Payments received (paid_at) in the range"),
    Kind("refunds", "payments.read", {"zh": "退款", "en": "Refunds"}, REFUND_COLUMNS, refund_pages, refund_count,
         "Refunds asked for in the range, in any status"),
    Kind("reconciliation_differences", "payments.read", {"zh": "对账差异", "en": "Reconciliation differences"},
         DIFFERENCE_COLUMNS, difference_pages, difference_count,
         "The differences of the reconciliation reports of the bill dates in the range", per_store=False),
    Kind("pickup_ledger", "orders.read", {"zh": "核销台账", "en": "Pickup ledger"}, LEDGER_COLUMNS, ledger_pages,
         ledger_count, "Hand-overs recorded in the pickup verification ledger in the range"),
    Kind("stock_ledger", "stock.read", {"zh": "库存流水", "en": "Stock ledger"}, STOCK_COLUMNS, stock_pages,
         stock_count, "Stock movements in the range"),
    Kind("card_batches", "cards.read", {"zh": "提货卡批次", "en": "Card batches"}, BATCH_COLUMNS, batch_pages,
         batch_count, "Card batches created in the range, their cards counted by status (never a password)"),
    Kind("report_daily", "reports.read", {"zh": "经营日报", "en": "Daily report"}, REPORT_COLUMNS, report_pages,
         report_count, "The daily report: each day, each store, the total and the previous period's"),
)}
