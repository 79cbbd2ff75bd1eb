"""The model layer: tables and the rules that change them, one module per domain."""


def load_all() -> None:
    """Register every table on the metadata (create_app and Alembic need all of them)."""
    from models import audit, catalog, stores, users  # noqa: F401
    from models.staff import tables as staff_tables  # noqa: F401
    from models.stock import tables as stock_tables  # noqa: F401
    from models import state_machine  # noqa: F401  (state_changes)
    from models.outbox import tables as outbox_tables  # noqa: F401
    from models.notifications import tables as notification_tables  # noqa: F401
    from models.orders import tables  # noqa: F401
    from models.payments import tables as payment_tables  # noqa: F401
    from models.cards import tables as card_tables  # noqa: F401
    from models.official import tables as official_tables  # noqa: F401
    from models.pickup import tables as pickup_tables  # noqa: F401
