"""The one state-machine mechanism (models.state_machine): every status column has a
machine, only machines write a status, and a move applies once — a repeat is ignored, a
wrong state refused, a race won by one (real threads; the MariaDB run counts)."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from models import load_all
from models.orders.status import ORDERS, InvalidTransition, Status, transition
from models.orders.tables import Order, OrderEvent
from models.orders.placement import place_order
from models.outbox import enqueue
from models.outbox.status import OUTBOX
from models.outbox.tables import OutboxMessage
from models.payments.status import REFUNDS
from models.state_machine import SYSTEM, Actor, Machine, Row
from tests import state_guard
from tests.factories import make_product, make_shopper, make_store, stock


def unmachined_status_columns(metadata, registry) -> list[str]:
    """Tables with a status column and no machine (or a machine of another table)."""
    return sorted(f"{t.name}.status" for t in metadata.tables.values()
                  if "status" in t.c and (t.name not in registry or registry[t.name].table is not t))


def test_every_status_column_has_a_machine(app):
    load_all()
    assert unmachined_status_columns(db.metadata, Machine.registry) == []
    tables = {t.name for t in db.metadata.tables.values() if "status" in t.c}
    assert len(tables) >= 13 and {"orders", "payments", "refunds", "cards", "outbox"} <= tables
    assert set(Machine.registry) == tables  # and no machine without its table


def test_the_status_column_check_fails_for_a_table_without_a_machine(app):
    load_all()
    without_refunds = {name: m for name, m in Machine.registry.items() if name != "refunds"}
    assert unmachined_status_columns(db.metadata, without_refunds) == ["refunds.status"]


def test_every_machine_names_only_its_states(app):
    load_all()
    for machine in Machine.registry.values():
        used = {s for m in machine.moves.values() for s in (*m.sources, m.target)} | machine.initial
        assert used <= set(machine.states), machine.table.name
        assert machine.initial, machine.table.name  # rows can be made


def _order(app):
    with app.app_context():
        store = make_store()
        sku = make_product().skus[0]
        stock(store, sku, 10)
        user, _ = make_shopper()
        order, _ = place_order(user.id, {"store_id": store.id, "fulfillment": "pickup",
                                         "items": [{"sku_id": sku.id, "qty": 1}]}, None)
        db.session.commit()
        return order.id


def test_a_move_applies_once_a_repeat_is_ignored_and_a_wrong_state_refused(app):
    order_id = _order(app)
    with app.app_context():
        order = db.session.get(Order, order_id)
        first = transition(order, "pay", SYSTEM, reason="test")
        assert first.applied and first.status == Status.paid and order.status == "paid"
        assert order.paid_at is not None  # the move's timestamp, mirrored without a re-read
        again = transition(order, "pay", SYSTEM, reason="test")
        assert not again.applied and again.status == Status.paid
        with pytest.raises(InvalidTransition) as refused:
            transition(order, "cancel", Actor("staff", 7), reason="too late")
        assert refused.value.status == 409 and refused.value.code == "invalid_transition"
        assert refused.value.details == {"status": "paid", "action": "cancel"}
        db.session.commit()
        events = db.session.execute(select(OrderEvent.from_status, OrderEvent.to_status)
                                    .where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)).all()
    assert events == [(None, "pending_payment"), ("pending_payment", "paid")]


def test_two_moves_of_one_row_at_once_apply_once(app):
    order_id = _order(app)
    barrier, outcomes = threading.Barrier(2), []

    def pay():
        with app.app_context():
            barrier.wait(timeout=30)
            order = db.session.get(Order, order_id)
            outcomes.append(transition(order, "pay", SYSTEM, reason="race").applied)
            db.session.commit()

    threads = [threading.Thread(target=pay) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == [False, True]
    with app.app_context():
        paid_events = db.session.scalar(select(func.count()).select_from(OrderEvent).where(
            OrderEvent.order_id == order_id, OrderEvent.to_status == "paid"))
    assert paid_events == 1


def test_a_guard_that_refuses_changes_nothing(app):
    with app.app_context():
        enqueue("staff_alert", {"event": "x"})
        db.session.commit()
        row = db.session.scalars(select(OutboxMessage)).one()
        refused = OUTBOX.move(row, "claim", guard=(OutboxMessage.attempts > 5,), attempts=1)
        assert not refused.applied and refused.status == "pending"
        taken = OUTBOX.move(Row(row.id, "pending"), "claim", guard=(OutboxMessage.attempts == 0,), attempts=1)
        assert taken.applied and taken.status == "sending"
        db.session.commit()
        assert db.session.execute(select(OutboxMessage.status, OutboxMessage.attempts)).one() == ("sending", 1)


def test_a_bulk_move_moves_only_rows_in_a_source_state(app):
    with app.app_context():
        for n in range(3):
            enqueue("staff_alert", {"event": "x", "n": n})
        db.session.commit()
        ids = db.session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)).all()
        OUTBOX.move(Row(ids[0], "pending"), "claim")
        assert OUTBOX.move_all("claim", OutboxMessage.id.in_(ids[1:])) == 2
        OUTBOX.move(Row(ids[0], "sending"), "fail")
        assert OUTBOX.move_all("retry", OutboxMessage.id.in_(ids)) == 1  # only the failed one
        db.session.commit()
        assert dict(db.session.execute(select(OutboxMessage.id, OutboxMessage.status)).all()) == {
            ids[0]: "pending", ids[1]: "sending", ids[2]: "sending"}


def test_rows_are_created_only_in_an_initial_state(app):
    assert REFUNDS.initial_status("pending") == "pending"
    with pytest.raises(ValueError, match="refunds"):
        REFUNDS.initial_status("success")
    assert REFUNDS.allows("processing", "succeed") and not REFUNDS.allows("closed", "succeed")


def test_the_guard_catches_a_status_written_outside_its_machine(app):
    """What the suite-wide guard (tests/state_guard.py) does when app code writes a status
    itself: the write is recorded and the test that caused it fails."""
    order_id = _order(app)
    outside = compile("db.session.execute(update(Order).where(Order.id == order_id).values(status='paid'))",
                      str(state_guard.ROOT / "models" / "rogue.py"), "exec")  # as if a model did it
    with app.app_context():
        exec(outside, {"db": db, "update": update, "Order": Order, "order_id": order_id})
        db.session.rollback()
        assert state_guard.violations == ["orders.status set outside its machine (from models/rogue.py)"]
        state_guard.violations.clear()
        order = db.session.get(Order, order_id)
        ORDERS.move(order, "pay")  # the machine's own write is not one
        db.session.rollback()
    assert state_guard.violations == []


def test_the_guard_catches_a_status_set_on_an_object(app):
    order_id = _order(app)
    outside = compile("order.status = 'paid'", str(state_guard.ROOT / "models" / "rogue.py"), "exec")
    with app.app_context():
        exec(outside, {"order": db.session.get(Order, order_id)})
        db.session.rollback()
    found, state_guard.violations[:] = list(state_guard.violations), []
    assert found == ["orders.status set on a loaded row, outside its machine (from models/rogue.py)"]
