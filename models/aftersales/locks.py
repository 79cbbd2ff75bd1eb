"""Finding and locking after-sales in the one order every path takes.

Lock order (docs/architecture.md, "Lock order"): the order (with its items), then its
after-sales, then its payment, then stock rows. A refund being settled holds its refund
row first, then the order, then the after-sale — the same order below the refund. So a
request, a decision, a cancel, a receipt and a refund's settlement of one order queue on
the order's row and never wait on each other in a circle."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.extensions import db
from models.aftersales.errors import AfterSaleNotFound
from models.aftersales.tables import AfterSale
from models.orders.tables import Order


def lock_order(order_id: int) -> Order:
    """The order and its items, locked and read as committed now."""
    return db.session.scalars(select(Order).where(Order.id == order_id).options(joinedload(Order.items))
                              .with_for_update().execution_options(populate_existing=True)).unique().one()


def lock_sale(sale_id: int) -> AfterSale:
    return db.session.scalars(select(AfterSale).where(AfterSale.id == sale_id).with_for_update()
                              .execution_options(populate_existing=True)).one()


def find(after_sale_no: str) -> AfterSale:
    sale = db.session.scalars(select(AfterSale).where(AfterSale.after_sale_no == after_sale_no)).first()
    if sale is None:
        raise AfterSaleNotFound(details={"after_sale_no": after_sale_no})
    return sale


def locked(sale: AfterSale) -> tuple[Order, AfterSale]:
    """(order, after-sale) of a sale read without a lock: the order locked first, then the
    sale, re-read — whatever moved it meanwhile is seen now."""
    order = lock_order(sale.order_id)
    return order, lock_sale(sale.id)
