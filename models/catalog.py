"""Catalog: products and their SKUs (spec, price in fen, barcode, on/off shelf)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from app.errors import Conflict, InvalidRequest, NotFound
from app.extensions import db
from models import audit
from models.base import MYSQL_TABLE, UTCDateTime, keyset_page, utcnow

MAX_PRICE_FEN = 100_000_000  # 1,000,000 yuan: a typo guard, not a business limit


class Product(db.Model):
    __tablename__ = "products"
    __table_args__ = (MYSQL_TABLE,)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str | None] = mapped_column(String(64))
    on_shelf: Mapped[bool] = mapped_column(default=True)
    # Least security level of a pickup code for an order holding this product (1–3 = V1–V3).
    pickup_level: Mapped[int] = mapped_column(default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    skus: Mapped[list["Sku"]] = relationship(back_populates="product", order_by="Sku.id")


class Sku(db.Model):
    __tablename__ = "skus"
    __table_args__ = (
        UniqueConstraint("product_id", "spec"),
        CheckConstraint(f"price_fen > 0 AND price_fen <= {MAX_PRICE_FEN}", name="price_range"),
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    spec: Mapped[str] = mapped_column(String(64))
    price_fen: Mapped[int]
    barcode: Mapped[str | None] = mapped_column(String(32), unique=True)
    on_shelf: Mapped[bool] = mapped_column(default=True)
    # Purchase limits (None = no limit): per order, and per shopper across live orders.
    limit_per_order: Mapped[int | None]
    limit_per_user: Mapped[int | None]
    # A bundle (组合提货) has no stock of its own: it is made of its components.
    is_bundle: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    product: Mapped[Product] = relationship(back_populates="skus")
    components: Mapped[list["BundleComponent"]] = relationship(
        foreign_keys="BundleComponent.bundle_sku_id", order_by="BundleComponent.component_sku_id",
        cascade="all, delete-orphan")


class BundleComponent(db.Model):
    """One component of a bundle SKU: ordering the bundle reserves `qty` of it per bundle."""

    __tablename__ = "bundle_components"
    __table_args__ = (CheckConstraint("qty > 0", name="qty_positive"), MYSQL_TABLE)

    bundle_sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id", ondelete="CASCADE"), primary_key=True)
    component_sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), primary_key=True)
    qty: Mapped[int]


def create_product(actor, fields: dict, skus: list[dict]) -> Product:
    product = Product(**fields)
    db.session.add(product)
    _flush_unique("A product field is already taken.")
    audit.record("product.create", product, actor=actor, changes=fields)
    for sku_fields in skus:
        add_sku(actor, product, sku_fields)
    return product


def update_product(actor, product: Product, fields: dict) -> Product:
    changed = audit.diff(product, fields)
    if changed:
        audit.record("product.update", product, actor=actor, changes=changed)
    return product


def add_sku(actor, product: Product, fields: dict) -> Sku:
    """A SKU, or a bundle (组合提货) when `components` ([{sku_id, qty}]) are given."""
    fields = dict(fields)
    components = fields.pop("components", None) or []
    sku = Sku(product=product, is_bundle=bool(components), **fields)
    db.session.add(sku)
    _flush_unique("This product already has that spec, or the barcode is in use.")
    if components:
        _attach_components(sku, components)
    audit.record("sku.create", sku, actor=actor,
                 changes={"product_id": product.id, **fields, "components": components})
    return sku


def _attach_components(bundle: Sku, components: list[dict]) -> None:
    ids = [c["sku_id"] for c in components]
    if len(set(ids)) != len(ids):
        raise InvalidRequest("A component is listed twice.", details={"field": "components"})
    found = {s.id: s for s in db.session.scalars(select(Sku).where(Sku.id.in_(ids)))}
    missing = sorted(set(ids) - set(found))
    if missing:
        raise NotFound("No such SKU.", details={"sku_ids": missing})
    nested = sorted(i for i in ids if found[i].is_bundle or i == bundle.id)
    if nested:
        raise InvalidRequest("A bundle is made of plain SKUs, not of bundles.",
                             details={"sku_ids": nested})
    bundle.components = [BundleComponent(component_sku_id=c["sku_id"], qty=c["qty"]) for c in components]


def update_sku(actor, sku: Sku, fields: dict) -> Sku:
    changed = audit.diff(sku, fields)
    if changed:
        _flush_unique("This product already has that spec, or the barcode is in use.")
        audit.record("sku.update", sku, actor=actor, changes=changed)
    return sku


def _flush_unique(message: str) -> None:
    # A savepoint keeps the request's transaction usable after a duplicate is refused.
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise Conflict(message) from None


def list_products(*, cursor: int | None, limit: int) -> list[Product]:
    return keyset_page(select(Product).options(selectinload(Product.skus)), Product.id,
                       cursor=cursor, limit=limit)
