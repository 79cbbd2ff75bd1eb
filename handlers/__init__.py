"""The HTTP layer. Every URL of the service is registered here, one blueprint per
mini-program "cloud function"; each module's routes read as its table of contents."""
from __future__ import annotations

from apiflask import APIFlask


def register_handlers(app: APIFlask) -> None:
    from handlers import (admin_cards, admin_catalog, admin_exports, admin_flash_sale, admin_growth, admin_inventory,
                          admin_outbox, admin_partners, admin_payments, admin_reports, admin_staff, aftersales, auth,
                          cards, catalog, console, console_session, growth, messages, oauth, official, ops, orders,
                          partner_api, pay, pickups, shipments, staff_aftersales, staff_auth, staff_cards,
                          staff_complaints, staff_orders, staff_pickups, transport)
    from handlers import docs  # Swagger UI's assets, served here (not from a CDN)
    from handlers import openapi  # what every route answers by construction, in the document

    transport.init_app(app)
    docs.init_app(app)
    openapi.init_app(app)
    oauth.init_app(app)  # Authlib's authorization server behind POST /oauth/token
    for module in (ops, auth, catalog, orders, pay, pickups, cards, growth, messages, official, staff_auth,
                   console_session, console, staff_orders, staff_pickups, staff_cards, admin_catalog,
                   admin_inventory, admin_flash_sale, admin_payments, admin_staff, admin_cards, admin_outbox,
                   admin_reports, admin_exports, admin_growth, staff_complaints, aftersales, staff_aftersales,
                   shipments, oauth, partner_api, admin_partners):
        app.register_blueprint(module.bp)
