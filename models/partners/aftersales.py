"""What a partner reads of after-sales (scope aftersales:read): those of its stores, by id
(a cursor that goes on where the last page stopped), and one by number — another store's
looks like none."""
from __future__ import annotations

from sqlalchemy import select

from app.errors import NotFound
from app.extensions import db
from models.aftersales import queries
from models.aftersales.tables import AfterSale


def page(principal, *, cursor: int | None, limit: int) -> tuple[list[dict], int | None]:
    """After-sales of the client's stores after `cursor` (oldest first): (views, next cursor)."""
    query = select(AfterSale).where(AfterSale.store_id.in_(sorted(principal.store_ids) or [-1]))
    if cursor:
        query = query.where(AfterSale.id > cursor)
    rows = list(db.session.scalars(query.order_by(AfterSale.id).limit(limit + 1)))
    more, rows = len(rows) > limit, rows[:limit]
    return [queries.view(sale) for sale in rows], (rows[-1].id if more else None)


def one(principal, after_sale_no: str) -> dict:
    sale = db.session.scalars(select(AfterSale).where(AfterSale.after_sale_no == after_sale_no[:32])).first()
    if sale is None or not principal.sees(sale.store_id):
        raise NotFound("No such after-sale.", details={"after_sale_no": after_sale_no})
    return queries.view(sale)
