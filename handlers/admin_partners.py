"""Merchant console: partner clients (create, change, rotate the secret, revoke), their
webhook endpoints, deliveries with attempts, and redelivery."""
from __future__ import annotations

from apiflask import APIBlueprint

from handlers.access import can, current_staff, staff_auth
from handlers.partner_schemas import (AttemptsOut, ClientIn, ClientOut, ClientPatch, ClientsOut, ClientWithSecret,
                                      DeliveryPage, DeliveryQuery, EndpointIn, EndpointOut, EndpointPatch,
                                      EndpointsOut, EndpointWithSecret, RedeliverIn, RedeliverOut)
from handlers.schemas import cursor_int, page
from models.partners import clients, webhooks

bp = APIBlueprint("admin_partners", __name__, url_prefix="/api/admin/partners", tag="Admin: partners")


def _shown(row, **secret):
    for name, value in secret.items():
        setattr(row, name, value)
    return row


@bp.get("/clients")
@bp.auth_required(staff_auth)
@can("partners.read")
@bp.output(ClientsOut)
@bp.doc(summary="Partner clients (ERP, WMS), newest first")
def list_clients():
    return {"items": clients.listing()}


@bp.post("/clients")
@bp.auth_required(staff_auth)
@can("partners.write")
@bp.input(ClientIn, arg_name="body")
@bp.output(ClientWithSecret, status_code=201)
@bp.doc(summary="A new client; its secret is shown this once (audited)")
def create_client(body):
    client, secret = clients.create(current_staff(), **body)
    return _shown(client, client_secret=secret)


@bp.patch("/clients/<int:client_id>")
@bp.auth_required(staff_auth)
@can("partners.write")
@bp.input(ClientPatch, arg_name="body")
@bp.output(ClientOut)
@bp.doc(summary="Change a client's name, scopes or stores; its tokens end (audited)")
def update_client(client_id, body):
    return clients.update(current_staff(), client_id, name=body.get("name"), scopes=body.get("scopes"),
                          store_ids=body.get("store_ids"))


@bp.post("/clients/<int:client_id>/rotate")
@bp.auth_required(staff_auth)
@can("partners.write")
@bp.output(ClientWithSecret)
@bp.doc(summary="A new secret, shown this once; the previous one stays valid until the next rotation")
def rotate_client(client_id):
    client, secret = clients.rotate(current_staff(), client_id)
    return _shown(client, client_secret=secret)


@bp.post("/clients/<int:client_id>/revoke")
@bp.auth_required(staff_auth)
@can("partners.write")
@bp.output(ClientOut)
@bp.doc(summary="Revoke a client: its tokens end, its webhooks stop (audited)")
def revoke_client(client_id):
    return clients.revoke(current_staff(), client_id)


@bp.get("/clients/<int:client_id>/webhooks")
@bp.auth_required(staff_auth)
@can("partners.read")
@bp.output(EndpointsOut)
@bp.doc(summary="A client's webhook endpoints")
def list_endpoints(client_id):
    return {"items": webhooks.endpoints(clients.get(client_id).id)}


@bp.post("/clients/<int:client_id>/webhooks")
@bp.auth_required(staff_auth)
@can("partners.write")
@bp.input(EndpointIn, arg_name="body")
@bp.output(EndpointWithSecret, status_code=201)
@bp.doc(summary="Register an endpoint for a client; its signing secret is shown this once")
def create_endpoint(client_id, body):
    endpoint, secret = webhooks.create(current_staff(), clients.get(client_id).id, body["url"], body["event_types"])
    return _shown(endpoint, secret=secret)


@bp.patch("/webhooks/<int:endpoint_id>")
@bp.auth_required(staff_auth)
@can("partners.write")
@bp.input(EndpointPatch, arg_name="body")
@bp.output(EndpointOut)
@bp.doc(summary="Change an endpoint; disable or enable it (audited)")
def update_endpoint(endpoint_id, body):
    return webhooks.update(current_staff(), None, endpoint_id, **body)


@bp.post("/webhooks/<int:endpoint_id>/rotate")
@bp.auth_required(staff_auth)
@can("partners.write")
@bp.output(EndpointWithSecret)
@bp.doc(summary="A new signing secret for an endpoint, shown this once")
def rotate_endpoint(endpoint_id):
    endpoint, secret = webhooks.rotate_secret(current_staff(), None, endpoint_id)
    return _shown(endpoint, secret=secret)


@bp.get("/webhooks/<int:endpoint_id>/deliveries")
@bp.auth_required(staff_auth)
@can("partners.read")
@bp.input(DeliveryQuery, location="query", arg_name="query")
@bp.output(DeliveryPage)
@bp.doc(summary="An endpoint's deliveries, newest first (?status=failed)")
def list_deliveries(endpoint_id, query):
    rows = webhooks.deliveries(None, endpoint_id, status=query["status"], cursor=cursor_int(query["cursor"]),
                               limit=query["limit"] + 1)
    return page(rows, query["limit"])


@bp.get("/webhooks/deliveries/<int:delivery_id>/attempts")
@bp.auth_required(staff_auth)
@can("partners.read")
@bp.output(AttemptsOut)
@bp.doc(summary="A delivery with every attempt")
def delivery_attempts(delivery_id):
    delivery, attempts = webhooks.attempts(None, delivery_id)
    return {"delivery": delivery, "attempts": attempts}


@bp.post("/webhooks/<int:endpoint_id>/redeliver")
@bp.auth_required(staff_auth)
@can("partners.write")
@bp.input(RedeliverIn, arg_name="body")
@bp.output(RedeliverOut)
@bp.doc(summary="Send one event or a range of them to the endpoint again (audited)")
def redeliver(endpoint_id, body):
    return {"queued": webhooks.redeliver(current_staff(), None, endpoint_id, **body)}
