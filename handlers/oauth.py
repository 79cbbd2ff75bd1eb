"""POST /oauth/token: OAuth2 client credentials (RFC 6749 §4.4) for partners, answered by
Authlib's authorization server. Its answers are RFC 6749's own (§5.1, and §5.2's
`{"error": "invalid_client"}`), which OAuth client libraries expect — not this API's error
shape. The token is opaque and kept hashed (models/partners/tokens.py)."""
from __future__ import annotations

from apiflask import APIBlueprint
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import grants
from flask import current_app

from handlers.partner_schemas import OAuthErrorOut, TokenForm, TokenOut
from models.partners.clients import SCOPES
from models.partners.oauth import AUTH_METHODS, query_client, save_token

bp = APIBlueprint("oauth", __name__, tag="Partner API")


class ClientCredentials(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)


def init_app(app) -> None:
    app.config.setdefault("OAUTH2_TOKEN_EXPIRES_IN", {"client_credentials": app.config["PARTNER_TOKEN_TTL_S"]})
    app.config.setdefault("OAUTH2_SCOPES_SUPPORTED", list(SCOPES))
    server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
    server.register_grant(ClientCredentials)
    app.extensions["oauth_server"] = server


def _oauth_error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": OAuthErrorOut}}}


@bp.post("/oauth/token")
@bp.input(TokenForm, location="form", arg_name="form", validation=False)
@bp.output(TokenOut)
@bp.doc(summary="An access token for a partner client (client credentials; one hour)",
        description="Authenticate with HTTP Basic (client_id:client_secret) or client_id and "
                    "client_secret in the form. Errors are RFC 6749 §5.2's shape.",
        responses={400: _oauth_error("invalid_request, unsupported_grant_type, invalid_scope"),
                   401: _oauth_error("invalid_client: unknown client, wrong secret, or revoked")})
def token(form):
    return current_app.extensions["oauth_server"].create_token_response()
