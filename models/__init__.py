"""The model layer: tables and the rules that change them, one module or package per
domain."""


def load_all() -> None:
    """Register every table on the metadata (create_app and Alembic need all of them), and
    every table's state machine (models.state_machine.Machine.registry)."""
    from models import audit, catalog, state_machine, stores, users  # noqa: F401
    from models.aftersales import status as aftersale_status, tables as aftersale_tables  # noqa: F401
    from models.analytics import tables as analytics_tables  # noqa: F401
    from models.cards import status as card_status, tables as card_tables  # noqa: F401
    from models.complaints import status as complaint_status, tables as complaint_tables  # noqa: F401
    from models.exports import status as export_status, tables as export_tables  # noqa: F401
    from models.growth import status as growth_status, tables as growth_tables  # noqa: F401
    from models.notifications import status as message_status, tables as notification_tables  # noqa: F401
    from models.official import status as official_status, tables as official_tables  # noqa: F401
    from models.orders import status as order_status, tables  # noqa: F401
    from models.outbox import status as outbox_status, tables as outbox_tables  # noqa: F401
    from models.partners import status as partner_status, tables as partner_tables  # noqa: F401
    from models.payments import status as payment_status, tables as payment_tables  # noqa: F401
    from models.pickup import status as pickup_status, tables as pickup_tables  # noqa: F401
    from models.shipments import status as shipment_status, tables as shipment_tables  # noqa: F401
    from models.staff import tables as staff_tables  # noqa: F401
    from models.stock import status as stock_status, tables as stock_tables  # noqa: F401
    # Receivers of other domains' signals, connected wherever the models load (web and worker).
    from models.aftersales import returns as aftersale_returns  # noqa: F401  (shipments.events.return_signed)
