"""The partner client as Authlib's OAuth2 server sees it (RFC 6749 §4.4, client
credentials only): secrets checked against the two stored hashes, the scopes it may ask
for, `client_secret_basic` or `client_secret_post`. The token endpoint itself is
handlers/oauth.py; what a token grants, models/partners/tokens.py."""
from __future__ import annotations

from authlib.oauth2.rfc6749 import ClientMixin

from app.extensions import rds
from models.partners import clients, events, tokens
from models.partners.tables import PartnerClient

GRANT = "client_credentials"
AUTH_METHODS = ("client_secret_basic", "client_secret_post")


class OAuthClient(ClientMixin):
    def __init__(self, row: PartnerClient):
        self.row = row
        self.id, self.client_id = row.id, row.client_id
        self.scopes, self.store_ids = tuple(row.scopes), tuple(row.store_ids)

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return None

    def check_redirect_uri(self, redirect_uri):
        return False

    def check_response_type(self, response_type):
        return False

    def get_allowed_scope(self, scope):
        # No scope asked: everything the client was granted. Asked: the granted part of it.
        if not scope:
            return " ".join(self.scopes)
        return " ".join(s for s in scope.split() if s in self.scopes)

    def check_client_secret(self, client_secret):
        return clients.secret_matches(self.row, client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        return endpoint == "token" and method in AUTH_METHODS

    def check_grant_type(self, grant_type):
        return grant_type == GRANT and self.row.status == "active"


def query_client(client_id: str) -> OAuthClient | None:
    row = clients.by_client_id(client_id)
    return OAuthClient(row) if row is not None and row.status == "active" else None


def save_token(token: dict, request) -> None:
    """Keep the issued token (hashed) with the scopes it was granted: what it asked for,
    narrowed to what the client has."""
    client = request.client
    granted = (token.get("scope") or "").split() or list(client.scopes)
    narrowed = type("Grant", (), {"id": client.id, "client_id": client.client_id,
                                  "scopes": [s for s in granted if s in client.scopes],
                                  "store_ids": client.store_ids})
    tokens.save(token["access_token"], narrowed)
    rds().set(events.FLAG, "1")  # a partner is active: its changes are events (see events.py)
