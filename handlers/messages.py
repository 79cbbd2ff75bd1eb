"""Mini-program subscribe messages: which templates to ask for, and the grants accepted."""
from __future__ import annotations

from apiflask import APIBlueprint, fields, validators

from handlers.access import current_user, shopper_auth
from handlers.schemas import Schema, StrictSchema
from models.notifications import subscribe, templates

bp = APIBlueprint("messages", __name__, url_prefix="/api/messages", tag="Shopper messages")


class SubscriptionsIn(StrictSchema):
    # What wx.requestSubscribeMessage answered "accept" for (it asks for at most 3 at once).
    accepted = fields.List(fields.String(validate=validators.Length(1, 64)), required=True,
                           validate=validators.Length(max=10))


class GrantsOut(Schema):
    grants = fields.Dict(keys=fields.String(), values=fields.Integer())


class TemplatesOut(Schema):
    templates = fields.Dict(keys=fields.String(), values=fields.String(),
                            metadata={"description": "event → template id"})


@bp.post("/subscriptions")
@bp.auth_required(shopper_auth)
@bp.input(SubscriptionsIn, arg_name="body")
@bp.output(GrantsOut)
@bp.doc(summary="Record the templates the shopper accepted (one send each)",
        responses={422: "unknown_template"})
def record_subscriptions(body):
    return {"grants": subscribe.record_acceptance(current_user().id, body["accepted"])}


@bp.get("/templates")
@bp.output(TemplatesOut)
@bp.doc(summary="The template id of each event, for wx.requestSubscribeMessage")
def list_templates():
    return {"templates": {event: t.template_id for event, t in templates.templates().items()}}
