"""The partner tables' transition tables (models.state_machine does the moving)."""
from __future__ import annotations

from models.partners.tables import PartnerClient, WebhookDelivery, WebhookEndpoint
from models.state_machine import Machine, Move, shared_history

CLIENTS = Machine(PartnerClient, {
    "revoke": Move(("active",), "revoked", "revoked_at"),
}, states=("active", "revoked"), initial=("active",), history=shared_history("partner_clients"))

ENDPOINTS = Machine(WebhookEndpoint, {
    # 410 Gone from the receiver, days of failures, or its owner: no more sends.
    "disable": Move(("active",), "disabled", "disabled_at"),
    "enable": Move(("disabled",), "active"),
}, states=("active", "disabled"), initial=("active",), history=shared_history("webhook_endpoints"))

DELIVERIES = Machine(WebhookDelivery, {
    # A worker takes a due row; a `sending` row whose lease ran out is claimed again.
    "claim": Move(("pending", "sending"), "sending"),
    "delivered": Move(("sending",), "delivered", "delivered_at"),
    "retry_later": Move(("sending",), "pending"),
    "fail": Move(("sending",), "failed"),                 # the schedule ran out, or the endpoint is gone
    "redeliver": Move(("delivered", "failed"), "pending"),  # staff or the partner ask again
}, states=("pending", "sending", "delivered", "failed"), initial=("pending",))
