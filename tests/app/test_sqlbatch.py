"""app.sqlbatch: writes sent together (one round trip on MariaDB), reads by the same path."""
from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import bindparam, event, exc, func, select, text

from app.extensions import db
from app.sqlbatch import Batch, fetch_all, joining
from models.stock.tables import Inventory, StockMovement
from tests.conftest import backend_is_mysql
from tests.factories import make_product, make_store, stock

MOVES, INV = StockMovement.__table__, Inventory.__table__
_MOVE = MOVES.insert()
_HOLD = (INV.update().where(INV.c.store_id == bindparam("s"), INV.c.sku_id == bindparam("k"),
                            INV.c.on_hand - INV.c.reserved >= bindparam("q"))
         .values(reserved=INV.c.reserved + bindparam("q")))
_STOCK = (select(INV.c.sku_id, INV.c.on_hand, INV.c.reserved, INV.c.online, INV.c.updated_at)
          .where(INV.c.store_id == bindparam("s"), INV.c.sku_id.in_(bindparam("ks", expanding=True)))
          .order_by(INV.c.sku_id))


@pytest.fixture()
def shelf(ctx):
    store = make_store()
    skus = make_product(skus=(("a", 100), ("b", 200))).skus
    for sku in skus:
        stock(store, sku, 10)
    db.session.commit()
    return store.id, [s.id for s in skus]


@contextmanager
def trips():
    """The SQL of each cursor execution (a round trip) while inside."""
    seen = []

    def record(conn, cursor, sql, *_):
        seen.append(sql)
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_results_come_back_per_statement_in_order(shelf):
    store_id, (a, b) = shelf
    db.session.execute(text("UPDATE inventory SET updated_at = '2000-01-01 00:00:00'"))  # opens it, as in a request
    with trips() as sent:
        writes = Batch()
        first = writes.add(_MOVE, {"store_id": store_id, "sku_id": a, "reason": "test"})
        held = writes.add(_HOLD, {"s": store_id, "k": a, "q": 4})
        refused = writes.add(_HOLD, {"s": store_id, "k": b, "q": 11})  # more than there is
        second = writes.add(_MOVE, {"store_id": store_id, "sku_id": b, "reason": "test"})
        done = writes.run()
    assert [done[held].rowcount, done[refused].rowcount] == [1, 0]
    assert done[first].rowcount == done[second].rowcount == 1
    assert done[second].lastrowid == done[first].lastrowid + 1
    if db.engine.dialect.name == "mysql":
        assert len(sent) == 1  # one round trip
    else:
        assert len(sent) == 4
    # Python-side defaults were applied (at, delta_*), as the ORM would.
    rows = db.session.execute(select(MOVES).where(MOVES.c.id.in_([done[first].lastrowid,
                                                                    done[second].lastrowid]))).all()
    assert all(r.at is not None and r.delta_on_hand == 0 for r in rows)
    db.session.commit()
    held_row = db.session.execute(select(INV.c.reserved, INV.c.updated_at).where(INV.c.sku_id == a)).one()
    assert held_row.reserved == 4
    assert held_row.updated_at.year > 2000  # the column's onupdate ran, as in a Core update
    assert db.session.scalar(select(INV.c.updated_at).where(INV.c.sku_id == b)).year == 2000  # refused: untouched


def test_a_later_statement_carries_an_earlier_inserts_new_id(shelf):
    store_id, (a, _) = shelf
    writes = Batch()
    made = writes.add(_MOVE, {"store_id": store_id, "sku_id": a, "reason": "parent"})
    writes.add(_MOVE, {"store_id": store_id, "sku_id": a, "reason": "child", "ref": None,
                       "order_id": writes.new_id(made)})
    writes.add(_MOVE, {"store_id": store_id, "sku_id": a, "reason": "child",
                       "order_id": writes.new_id(made)})
    seen = []
    writes.then(seen.append)
    done = writes.run()
    assert seen == [done]
    children = db.session.scalars(select(MOVES.c.order_id).where(MOVES.c.reason == "child")).all()
    assert children == [done[made].lastrowid] * 2


def test_an_error_stops_the_batch_and_is_sqlalchemys(shelf):
    store_id, (a, _) = shelf
    writes = Batch()
    writes.add(_MOVE, {"store_id": store_id, "sku_id": a, "reason": "kept until rollback"})
    writes.add(_MOVE, {"store_id": store_id, "sku_id": 10**9, "reason": "no such sku"})  # FK fails
    writes.add(_MOVE, {"store_id": store_id, "sku_id": a, "reason": "never run"})
    with pytest.raises(exc.IntegrityError):
        writes.run()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(MOVES)
                             .where(MOVES.c.reason.in_(["kept until rollback", "never run"]))) == 0
    # The connection is usable afterwards.
    again = Batch()
    again.add(_HOLD, {"s": store_id, "k": a, "q": 1})
    assert again.run()[0].rowcount == 1


@pytest.mark.skipif(not backend_is_mysql(), reason="a server-side KILL (MariaDB run)")
def test_a_connection_lost_mid_batch_is_discarded_and_the_rollback_passes(shelf):
    # A database node killed under a request: the batch's error is a disconnect, and the
    # request's rollback must not fail on the dead connection (it turned the 503 into a 500).
    store_id, (a, _) = shelf
    mine = db.session.scalar(text("SELECT CONNECTION_ID()"))
    with db.engine.connect() as other:
        other.execute(text(f"KILL {int(mine)}"))
    writes = Batch()
    writes.add(_HOLD, {"s": store_id, "k": a, "q": 1})
    with pytest.raises(exc.DBAPIError) as lost:
        writes.run()
    assert lost.value.connection_invalidated
    db.session.rollback()  # no error
    assert db.session.scalar(text("SELECT CONNECTION_ID()")) != mine  # a fresh connection
    assert fetch_all(_STOCK, {"s": store_id, "ks": [a]})[0].reserved == 0


def test_fetch_all_reads_typed_rows_with_in_lists(shelf):
    store_id, (a, b) = shelf
    one = fetch_all(_STOCK, {"s": store_id, "ks": [a]})
    both = fetch_all(_STOCK, {"s": store_id, "ks": [a, b]})  # another IN length, same statement
    assert [r.sku_id for r in one] == [a] and [r.sku_id for r in both] == [a, b]
    row = both[0]
    assert (row.on_hand, row.reserved, row.online) == (10, 0, True)
    assert row.online is True  # converted by the column's type, not the driver's 1
    assert row.updated_at is None or row.updated_at.tzinfo is not None  # UTC-aware, as the ORM


def test_values_written_into_a_statement_are_sent_with_the_callers(shelf):
    """Literals in a statement (here a reason, a SKU, a quantity) are its own binds: they
    go with what the caller passes, and a caller's key overrides only its own bind."""
    store_id, (a, b) = shelf
    tagged = MOVES.insert().values(reason="literal", delta_reserved=3)
    only_b = (INV.update().where(INV.c.store_id == bindparam("s"), INV.c.sku_id == b)
              .values(reserved=INV.c.reserved + 2))
    writes = Batch()
    made = writes.add(tagged, {"store_id": store_id, "sku_id": a})
    moved = writes.add(only_b, {"s": store_id})
    done = writes.run()
    assert done[moved].rowcount == 1
    row = db.session.execute(select(MOVES.c.reason, MOVES.c.delta_reserved, MOVES.c.sku_id)
                             .where(MOVES.c.id == done[made].lastrowid)).one()
    assert tuple(row) == ("literal", 3, a)
    assert db.session.scalars(select(INV.c.reserved).where(INV.c.store_id == store_id)
                              .order_by(INV.c.sku_id)).all() == [0, 2]


def test_a_batch_may_end_with_a_read_of_what_it_wrote(shelf):
    store_id, (a, _) = shelf
    writes = Batch()
    writes.add(_HOLD, {"s": store_id, "k": a, "q": 3})
    read = writes.add(_STOCK, {"s": store_id, "ks": [a]})
    done = writes.run()
    assert [(r.sku_id, r.reserved, r.online) for r in done[read].rows] == [(a, 3, True)]
    assert done[0].rows is None


def test_a_statement_that_must_match_one_row_fails_the_run_otherwise(shelf):
    store_id, (a, b) = shelf
    writes = Batch()
    writes.add(_MOVE, {"store_id": store_id, "sku_id": a, "reason": "written, then rolled back"})
    writes.add(_HOLD, {"s": store_id, "k": a, "q": 1}, one_row="a held")
    writes.add(_HOLD, {"s": store_id, "k": b, "q": 11}, one_row="b held")  # more than there is
    with pytest.raises(RuntimeError, match="b held"):
        writes.run()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(MOVES)
                             .where(MOVES.c.reason == "written, then rolled back")) == 0
    assert db.session.scalars(select(INV.c.reserved).where(INV.c.store_id == store_id)).all() == [0, 0]


def test_joining_runs_its_own_batch_at_the_end_or_adds_to_the_callers(shelf):
    store_id, (a, _) = shelf
    with joining(None) as own:
        own.add(_HOLD, {"s": store_id, "k": a, "q": 2})
        assert db.session.scalar(select(INV.c.reserved).where(INV.c.sku_id == a)) == 0  # not yet
    assert db.session.scalar(select(INV.c.reserved).where(INV.c.sku_id == a)) == 2
    callers = Batch()
    with joining(callers) as batch:
        batch.add(_HOLD, {"s": store_id, "k": a, "q": 3})
    assert db.session.scalar(select(INV.c.reserved).where(INV.c.sku_id == a)) == 2  # the caller runs it
    callers.run()
    assert db.session.scalar(select(INV.c.reserved).where(INV.c.sku_id == a)) == 5


def test_releasing_a_hold_that_is_not_there_refuses_and_writes_nothing(shelf):
    from models.stock import holds as stock

    store_id, (a, _) = shelf
    stock.reserve(store_id, [(a, 2)], order_id=None)
    db.session.commit()
    moves = db.session.scalar(select(func.count()).select_from(MOVES))
    with pytest.raises(RuntimeError, match="stock hold missing"):
        stock.release(store_id, [(a, 3)], order_id=None, reason="cancel")  # only 2 are held
    db.session.rollback()
    assert db.session.scalar(select(INV.c.reserved).where(INV.c.sku_id == a)) == 2
    assert db.session.scalar(select(func.count()).select_from(MOVES)) == moves
