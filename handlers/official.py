"""The official account: WeChat's pushes to our server URL, and the admin's staff
binding QR codes."""
from __future__ import annotations

from apiflask import APIBlueprint, fields
from flask import Response, request

from handlers.access import can, current_staff, staff_auth
from handlers.schemas import Bool, Schema
from models.base import get_or_404
from models.official import binding, inbound
from models.staff.tables import Staff

bp = APIBlueprint("official", __name__, tag="Official account")


@bp.get("/wechat/official")
@bp.doc(summary="Server URL check: echostr back when the signature verifies",
        responses={200: {"description": "echostr", "content": {"text/plain": {"schema": {"type": "string"}}}},
                   403: "signature_invalid"})
def verify():
    return Response(inbound.echo(request.args), 200, mimetype="text/plain")


@bp.post("/wechat/official")
@bp.doc(summary="Messages and events from WeChat (XML, plain or safe mode)",
        responses={200: {"description": "`success`, or a reply (XML; encrypted in safe mode)",
                         "content": {"text/plain": {"schema": {"type": "string"}},
                                     "application/xml": {"schema": {"type": "string"}}}},
                   403: "signature_invalid"})
def receive():
    body, mimetype = inbound.receive(request.args, request.get_data(cache=False))
    return Response(body, 200, mimetype=mimetype)


class BindingQrOut(Schema):
    staff_id = fields.Integer()
    ticket = fields.String()
    url = fields.String(metadata={"description": "what the QR code encodes"})
    qr_image_url = fields.String()
    expire_seconds = fields.Integer()
    expires_at = fields.DateTime()


class BindingOut(Schema):
    staff_id = fields.Integer()
    bound = Bool()
    bound_at = fields.DateTime(allow_none=True)


@bp.post("/api/admin/staff/<int:staff_id>/official-binding")
@bp.auth_required(staff_auth)
@can("staff.write")
@bp.output(BindingQrOut, status_code=201)
@bp.doc(summary="A one-time QR code that binds the staff member's WeChat to the official account",
        responses={409: "conflict (deactivated)", 501: "not_configured (no official account)",
                   503: "wechat_unavailable"})
def create_binding(staff_id):
    return binding.create_binding_qr(current_staff(), get_or_404(Staff, staff_id, "No such staff."))


@bp.get("/api/admin/staff/<int:staff_id>/official-binding")
@bp.auth_required(staff_auth)
@can("staff.read")
@bp.output(BindingOut)
@bp.doc(summary="Whether the staff member receives official-account alerts")
def get_binding(staff_id):
    return binding.binding_of(get_or_404(Staff, staff_id, "No such staff."))


@bp.delete("/api/admin/staff/<int:staff_id>/official-binding")
@bp.auth_required(staff_auth)
@can("staff.write")
@bp.output({}, status_code=204)
@bp.doc(summary="Stop official-account alerts to the staff member")
def delete_binding(staff_id):
    binding.unbind(current_staff(), get_or_404(Staff, staff_id, "No such staff."))
    return ""
