"""Partner access tokens: opaque, one hour, kept in Redis by their SHA-256 only (as staff
sessions are, app/sessions.py), with the grant they carry (client, scopes, stores), so a
partner request needs no query to know who may do what. A per-client index ends them all
when the client is changed or revoked."""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass

from flask import current_app

from app.extensions import rds
from app.tasks import after_commit

_KEY, _INDEX = "partner_token:{}", "partner_tokens:{}"


@dataclass(frozen=True)
class PartnerPrincipal:
    """Who a partner request is: the audit log and order events name it `partner:<id>`."""
    id: int
    client_id: str
    scopes: frozenset
    store_ids: frozenset

    audit_kind = "partner"

    def sees(self, store_id: int | None) -> bool:
        return store_id is not None and store_id in self.store_ids


def _key(token: str) -> str:
    return _KEY.format(hashlib.sha256(token.encode()).hexdigest())


def save(token: str, client) -> int:
    """Store an issued token (Authlib made it) for its TTL; returns the TTL."""
    ttl = current_app.config["PARTNER_TOKEN_TTL_S"]
    now = time.time()
    value = json.dumps({"c": client.id, "cid": client.client_id, "s": list(client.scopes),
                        "st": list(client.store_ids), "exp": now + ttl})
    key, index = _key(token), _INDEX.format(client.id)
    # One round trip, not a MULTI: the token and its principal's index are in different
    # slots on a Redis Cluster. Either may land without the other only when the call
    # fails, and then the token is never handed out: an index entry without its key is
    # pruned, a key without an index entry expires unused.
    pipe = rds().pipeline(transaction=False)
    pipe.set(key, value, ex=ttl)
    pipe.zadd(index, {key: now + ttl})
    pipe.zremrangebyscore(index, "-inf", now)
    pipe.expire(index, ttl)
    pipe.execute()
    return ttl


def resolve(token: str) -> PartnerPrincipal | None:
    if not token or len(token) > 128:
        return None
    raw = rds().get(_key(token))
    if not raw:
        return None
    v = json.loads(raw)
    if v["exp"] <= time.time():  # Redis' expiry rounds; the grant's own end is exact
        return None
    return PartnerPrincipal(v["c"], v["cid"], frozenset(v["s"]), frozenset(v["st"]))


def revoke_all(client_pk: int) -> None:
    index = _INDEX.format(client_pk)
    keys = list(rds().zrange(index, 0, -1))
    if keys:
        rds().delete(*keys)
    rds().delete(index)


def revoke_all_after_commit(client_pk: int) -> None:
    # Before the commit too: a token issued in between still carries the old grant only
    # until the commit, when the second pass ends it.
    revoke_all(client_pk)
    after_commit(lambda: revoke_all(client_pk))
