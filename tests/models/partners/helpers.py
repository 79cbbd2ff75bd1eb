"""Partner test data through the admin API and the token endpoint (the paths partners take)."""
from __future__ import annotations

import base64

from models.partners import events

ALL_SCOPES = ["catalog:read", "stock:read", "stock:write", "orders:read", "orders:write",
              "aftersales:read", "reports:read", "webhooks:manage"]


def make_client(client, admin, store_ids, scopes=ALL_SCOPES, name="ERP") -> dict:
    resp = client.post("/api/admin/partners/clients", headers=admin,
                       json={"name": name, "scopes": scopes, "store_ids": store_ids})
    assert resp.status_code == 201, resp.json
    return resp.json


def basic(client_id: str, secret: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def token_response(client, made: dict, secret: str | None = None, scope: str | None = None):
    form = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    return client.post("/oauth/token", data=form, headers=basic(made["client_id"], secret or made["client_secret"]))


def partner_headers(client, made: dict, **kw) -> dict:
    resp = token_response(client, made, **kw)
    assert resp.status_code == 200, resp.json
    return {"Authorization": f"Bearer {resp.json['access_token']}"}


def reset_switch() -> None:
    """The events' per-process switch, read again (Redis is flushed between tests)."""
    events.forget()
