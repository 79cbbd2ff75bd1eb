"""Partner clients: created, changed, their secret rotated and revoked by an admin
(`partners.write`), every change audited. A secret is shown once, when it is made; only its
SHA-256 is kept (256 random bits need no slow hash). Two secrets are valid at a time: a
rotation keeps the one before, until the next rotation."""
from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select

from app.errors import InvalidRequest, NotFound
from app.extensions import db
from models import audit
from models.base import utcnow
from models.partners import events, tokens
from models.partners.status import CLIENTS
from models.partners.tables import PartnerClient
from models.state_machine import Actor
from models.stores import Store

SCOPES = ("catalog:read", "stock:read", "stock:write", "orders:read", "orders:write",
          "aftersales:read", "reports:read", "webhooks:manage")
MAX_STORES = 500
_MAX_ID = 2**31 - 1


def _secret() -> tuple[str, str]:
    secret = "tps_" + secrets.token_urlsafe(32)
    return secret, hash_secret(secret)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(client: PartnerClient, presented: str | None) -> bool:
    """Either of the client's two secrets, compared in constant time."""
    if not presented or len(presented) > 128 or client.status != "active":
        return False
    digest = hash_secret(presented)
    return any(h is not None and hmac.compare_digest(h, digest)
               for h in (client.secret_hash, client.previous_secret_hash))


def _check(scopes: list[str], store_ids: list[int]) -> tuple[list[str], list[int]]:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise InvalidRequest("Unknown or missing scopes.", details={"field": "scopes", "unknown": unknown,
                                                                    "scopes": list(SCOPES)})
    ids = sorted(set(store_ids))
    if len(ids) > MAX_STORES:
        raise InvalidRequest("Too many stores.", details={"field": "store_ids", "max": MAX_STORES})
    if any(not 0 < i <= _MAX_ID for i in ids):
        raise InvalidRequest("Unknown stores.", details={"field": "store_ids"})
    found = set(db.session.scalars(select(Store.id).where(Store.id.in_(ids)))) if ids else set()
    missing = [i for i in ids if i not in found]
    if missing:
        raise InvalidRequest("Unknown stores.", details={"field": "store_ids", "unknown": missing})
    return [s for s in SCOPES if s in scopes], ids


def create(staff, *, name: str, scopes: list[str], store_ids: list[int]) -> tuple[PartnerClient, str]:
    """A new client and its secret (the only time the secret is seen)."""
    scopes, store_ids = _check(scopes, store_ids)
    secret, digest = _secret()
    client = PartnerClient(client_id="tpc_" + secrets.token_hex(12), name=name.strip(), scopes=scopes,
                           store_ids=store_ids, secret_hash=digest, status=CLIENTS.initial_status("active"),
                           created_by=staff.id)
    db.session.add(client)
    db.session.flush()
    audit.record("partner_client.create", client, actor=staff,
                 changes={"name": client.name, "scopes": scopes, "store_ids": store_ids})
    events.refresh_flag_after_commit()
    return client, secret


def get(client_pk: int) -> PartnerClient:
    client = db.session.get(PartnerClient, client_pk) if 0 < client_pk <= _MAX_ID else None
    if client is None:
        raise NotFound("No such partner client.", details={"id": client_pk})
    return client


def by_client_id(client_id: str) -> PartnerClient | None:
    if not client_id or len(client_id) > 40:
        return None
    return db.session.scalars(select(PartnerClient).where(PartnerClient.client_id == client_id)).first()


def listing() -> list[PartnerClient]:
    return list(db.session.scalars(select(PartnerClient).order_by(PartnerClient.id.desc()).limit(500)))


def update(staff, client_pk: int, *, name: str | None, scopes: list[str] | None,
           store_ids: list[int] | None) -> PartnerClient:
    """Change what a client may do; its live tokens carry the old grant, so they end."""
    client = get(client_pk)
    new_scopes, new_stores = _check(scopes if scopes is not None else client.scopes,
                                    store_ids if store_ids is not None else client.store_ids)
    changes = audit.diff(client, {"name": (name or client.name).strip(), "scopes": new_scopes,
                                  "store_ids": new_stores})
    if changes:
        audit.record("partner_client.update", client, actor=staff, changes=changes)
        tokens.revoke_all_after_commit(client.id)
    return client


def rotate(staff, client_pk: int) -> tuple[PartnerClient, str]:
    """A new secret; the current one stays valid beside it until the next rotation."""
    client = get(client_pk)
    if client.status != "active":
        raise InvalidRequest("A revoked client cannot get a new secret.", details={"status": client.status})
    secret, digest = _secret()
    client.previous_secret_hash, client.secret_hash, client.rotated_at = client.secret_hash, digest, utcnow()
    audit.record("partner_client.rotate", client, actor=staff, changes={})
    return client, secret


def revoke(staff, client_pk: int) -> PartnerClient:
    """No more tokens; the live ones end; its webhooks stop (deliveries check the client)."""
    client = get(client_pk)
    if CLIENTS.move(client, "revoke", Actor.of(staff)).applied:
        audit.record("partner_client.revoke", client, actor=staff, changes={"status": ["active", "revoked"]})
        tokens.revoke_all_after_commit(client.id)
        events.refresh_flag_after_commit()
    return client
