"""External references: a partner's own ids for our SKUs, stores and orders, per client
(two ERPs may number one SKU differently). Set by the partner, shown beside our ids in its
answers, and accepted where it names a SKU or store (`resolve`)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict, NotFound
from app.extensions import db
from models.catalog import Sku
from models.orders.tables import Order
from models.partners.tables import PartnerExternalRef

KINDS = ("sku", "store", "order")


class ExternalRefTaken(Conflict):
    code, message = "external_ref_taken", "That external id already names another of ours."


def refs_of(client_pk: int, kind: str, internal_ids) -> dict[int, str]:
    ids = list(internal_ids)
    if not ids:
        return {}
    return dict(db.session.execute(select(PartnerExternalRef.internal_id, PartnerExternalRef.external_id).where(
        PartnerExternalRef.client_id == client_pk, PartnerExternalRef.kind == kind,
        PartnerExternalRef.internal_id.in_(ids))).all())


def _internal(principal, kind: str, internal_id: int) -> int:
    """The id, if it names something the client may see (404 for anything else)."""
    if kind == "store":
        ok = principal.sees(internal_id)
    elif kind == "order":
        ok = principal.sees(db.session.scalar(select(Order.store_id).where(Order.id == internal_id)))
    else:
        ok = 0 < internal_id < 2**31 and db.session.get(Sku, internal_id) is not None
    if not ok:
        raise NotFound("No such resource.", details={"kind": kind, "id": internal_id})
    return internal_id


def put(principal, kind: str, internal_id: int, external_id: str) -> PartnerExternalRef:
    """Name one of ours with the partner's id (replacing the name it had)."""
    _internal(principal, kind, internal_id)
    row = db.session.scalars(select(PartnerExternalRef).where(
        PartnerExternalRef.client_id == principal.id, PartnerExternalRef.kind == kind,
        PartnerExternalRef.internal_id == internal_id)).first()
    try:
        with db.session.begin_nested():
            if row is None:
                row = PartnerExternalRef(client_id=principal.id, kind=kind, internal_id=internal_id,
                                         external_id=external_id)
                db.session.add(row)
            else:
                row.external_id = external_id
    except IntegrityError:
        raise ExternalRefTaken(details={"kind": kind, "external_id": external_id}) from None
    return row


def resolve(principal, kind: str, external_id: str) -> int:
    """Our id for the partner's (404 when it named none)."""
    found = db.session.scalar(select(PartnerExternalRef.internal_id).where(
        PartnerExternalRef.client_id == principal.id, PartnerExternalRef.kind == kind,
        PartnerExternalRef.external_id == external_id))
    if found is None:
        raise NotFound("No such external reference.", details={"kind": kind, "external_id": external_id})
    return _internal(principal, kind, found)
