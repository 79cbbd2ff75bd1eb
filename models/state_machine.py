"""One mechanism for every status column: each stateful table has a `Machine` — its
transition table — and only the machine writes its `status`.

A move is a guarded update (`... WHERE id = ? AND status = ?`, the row count checked)
that may set other columns in the same statement, plus, for machines that keep one, a
history row (who, why, when). A move that was already made (a second cancel, a
duplicate notify, a second decision) is *ignored*: it changes nothing and says so, never
applied twice. Any other move from the wrong state is refused: 409 invalid_transition.

Three ways to move:
- `move(row, action)`: one row the caller read (an ORM object or a plain row with `id`
  and `status`). Losing a race re-reads the status and judges again.
- `move_locked(row, action, writes)`: one row the caller holds locked; the update (and
  history row) join the caller's batch (app/sqlbatch.py), for the hottest paths.
- `move_all(action, *where)`: every row the criteria find in a source state (a batch of
  cards activated, a code ended by its order); no history.

Rows are created in one of the machine's `initial` states. Every machine registers
itself: tests list every status column in the schema and fail on one without a
machine, and fail any write of a status column that does not come from here.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import BigInteger, Index, String, bindparam, select, update
from sqlalchemy.orm import Mapped, mapped_column

from app.errors import AppError
from app.extensions import db
from app.sqlbatch import Batch, NewId
from models.base import MYSQL_TABLE, UTCDateTime, mirror, utcnow

# A statement the machine sends carries this option, naming the machine (what the tests'
# guard looks for; see tests/state_guard.py).
MARK = "state_machine"


class InvalidTransition(AppError):
    status, code, message = 409, "invalid_transition", "That cannot be done in its current state."


@dataclass(frozen=True)
class Outcome:
    """What a move did: `applied` False means it had already happened (ignored)."""
    applied: bool
    status: str


@dataclass(frozen=True)
class Actor:
    type: str  # user | staff | system
    id: int | None = None

    @classmethod
    def of(cls, principal) -> "Actor":
        return cls(principal.audit_kind, principal.id) if principal is not None else SYSTEM


SYSTEM = Actor("system")


@dataclass(frozen=True)
class Move:
    sources: tuple
    target: str
    stamp: str | None = None  # a timestamp column the move sets to its time


@dataclass(frozen=True)
class History:
    """Where a machine's moves are written down: a table with from_status, to_status,
    actor_type, actor_id, reason and at, the row's id in `key`, plus constant columns."""
    table: object
    key: str
    fixed: dict = field(default_factory=dict)


class StateChange(db.Model):
    """The history of the machines that keep one in this shared table (payments, refunds);
    orders keep theirs in order_events."""

    __tablename__ = "state_changes"
    __table_args__ = (Index("ix_state_changes_machine_row_id", "machine", "row_id"), MYSQL_TABLE)

    id: Mapped[int] = mapped_column(primary_key=True)
    machine: Mapped[str] = mapped_column(String(24))
    row_id: Mapped[int] = mapped_column(BigInteger)
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None]
    reason: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def shared_history(machine: str) -> History:
    return History(StateChange.__table__, "row_id", {"machine": machine})


@dataclass(frozen=True)
class Row:
    """A row known by its id and status only (read with Core, or re-read after a race)."""
    id: int
    status: str


class Machine:
    """The transition table of one table's `status` column."""

    registry: dict[str, "Machine"] = {}  # table name → its machine

    def __init__(self, model, moves: dict[str, Move], *, states, initial, history: History | None = None,
                 error: type[InvalidTransition] = InvalidTransition):
        self.model, self.table = model, model.__table__
        self.enum = states if isinstance(states, type) and issubclass(states, enum.Enum) else None
        self.states = tuple(s.value for s in states) if self.enum else tuple(states)
        self.moves = {action: Move(tuple(_value(s) for s in m.sources), _value(m.target), m.stamp)
                      for action, m in moves.items()}
        self.initial = frozenset(_value(s) for s in initial)
        self.history, self.error = history, error
        unknown = ({s for m in self.moves.values() for s in (*m.sources, m.target)} | self.initial) - set(self.states)
        if unknown:
            raise ValueError(f"{self.table.name}: moves name states it does not have: {sorted(unknown)}")
        _col = self.table.c
        # The guarded update of a batched move; the columns it sets are its parameters' names.
        self._locked = _col.id == bindparam("row"), _col.status == bindparam("from_status")
        self._batched: dict = {}
        Machine.registry[self.table.name] = self

    # -- reading the table -----------------------------------------------------------------

    def allows(self, current: str, action: str) -> bool:
        """True when `action` would apply to a row in `current` (not a repeat, not refused)."""
        return _value(current) in self.moves[action].sources

    def plan(self, current, action: str, at: datetime | None, fields: dict) -> tuple[str, dict | None, datetime]:
        """(status now, the columns the move sets, its time). The columns are None for a
        repeat (already there); a move not allowed raises the machine's error."""
        move, current, now = self.moves[action], _value(current), at or utcnow()
        if current not in move.sources:
            if current == move.target:
                return current, None, now
            raise self.error(details={"status": current, "action": action})
        return current, {"status": move.target, **fields, **({move.stamp: now} if move.stamp else {})}, now

    def _outcome(self, applied: bool, status: str) -> Outcome:
        return Outcome(applied, self.enum(status) if self.enum else status)

    # -- moving ----------------------------------------------------------------------------

    def move(self, row, action: str, actor: Actor = SYSTEM, *, note: str | None = None,
             at: datetime | None = None, guard=(), **fields) -> Outcome:
        """Move `row` by `action`, setting the columns `fields` too; `guard`: more
        conditions the row must meet; `note`: why, for the history row. Applies once; a
        repeat is ignored; anything else raises."""
        if _is_mapped(row) and row.id is None:
            db.session.flush()  # a row added in this transaction: written first, then moved
        for _ in range(3):
            current, values, now = self.plan(row.status, action, at, fields)
            if values is None:
                return self._outcome(False, current)
            result = db.session.execute(
                update(self.model).where(self.table.c.id == row.id, self.table.c.status == current, *guard)
                .values(**values).execution_options(synchronize_session=False, **{MARK: self.table.name}))
            if result.rowcount == 1:
                if _is_mapped(row):
                    mirror(row, values)  # what was written, as committed values: no re-read
                if self.history is not None:
                    db.session.connection().execute(
                        self._history_insert(), self._event(row.id, current, values["status"], actor, note, now))
                return self._outcome(True, values["status"])
            row = self._reread(row)  # someone else moved it first (or a guard failed)
            if row is None or (row.status == current and not guard):
                break
            if guard and row.status == current:  # the guard, not the status, refused it
                return self._outcome(False, current)
        raise self.error(details={"status": row.status if row is not None else None, "action": action})

    def move_locked(self, row, action: str, writes: Batch, actor: Actor = SYSTEM, *,
                    note: str | None = None, at: datetime | None = None, guard=None, **fields) -> dict:
        """`move` for a row the caller read with a locking read: decided now, its update
        (and history) added to `writes` for the caller to run with its other rows.
        `guard` is a constant clause (statements are compiled once per shape). Returns the
        columns it sets."""
        current, values, now = self.plan(row.status, action, at, fields)
        if values is None:  # already there: the caller, holding the lock, should have seen it
            raise self.error(details={"status": current, "action": action})
        writes.add(self._batched_update(guard), {"row": row.id, "from_status": current, **values},
                   one_row=f"{self.table.name} {row.id} moved while locked")
        if self.history is not None:
            writes.add(self._history_insert(), self._event(row.id, current, values["status"], actor, note, now))
        return values

    def move_batched(self, row, action: str, writes: Batch, actor: Actor = SYSTEM, *, on_lost,
                     note: str | None = None, at: datetime | None = None, **fields) -> dict:
        """`move_locked` for a row read without its lock: the update is guarded by the
        status read, and `on_lost()` is called (it should raise) if another transaction
        moved the row first — the batch's whole transaction then rolls back. Returns the
        columns it sets."""
        current, values, now = self.plan(row.status, action, at, fields)
        if values is None:
            raise self.error(details={"status": current, "action": action})
        index = writes.add(self._batched_update(None), {"row": row.id, "from_status": current, **values})
        if self.history is not None:
            writes.add(self._history_insert(), self._event(row.id, current, values["status"], actor, note, now))

        def _check(done):
            if done[index].rowcount != 1:
                on_lost()
            elif _is_mapped(row):  # an id made by the same batch (NewId) as the one it made
                mirror(row, {k: done[v.index].lastrowid if isinstance(v, NewId) else v for k, v in values.items()})
        writes.then(_check)
        return values

    def move_all(self, action: str, *where, at: datetime | None = None, **fields) -> int:
        """Move every row the criteria find in one of the action's source states; returns
        how many moved. For machines without history (a bulk move writes none)."""
        assert self.history is None, f"{self.table.name} keeps history: move rows one by one"
        move, now = self.moves[action], at or utcnow()
        values = {"status": move.target, **fields, **({move.stamp: now} if move.stamp else {})}
        return db.session.execute(
            update(self.model).where(self.table.c.status.in_(move.sources), *where).values(**values)
            .execution_options(synchronize_session=False, **{MARK: self.table.name})).rowcount

    def initial_status(self, status) -> str:
        """A status a new row may be written with (refuses any other)."""
        if _value(status) not in self.initial:
            raise ValueError(f"{self.table.name}: a row is not created {_value(status)!r}")
        return _value(status)

    # -- helpers ---------------------------------------------------------------------------

    def _event(self, row_id: int, current: str, target: str, actor: Actor, note, at: datetime) -> dict:
        return {self.history.key: row_id, "from_status": current, "to_status": target, "actor_type": actor.type,
                "actor_id": actor.id, "reason": note, "at": at, **self.history.fixed}

    def _batched_update(self, guard):
        # By the guard's identity (clauses overload ==); guards are module constants.
        key = None if guard is None else id(guard)
        found = self._batched.get(key)
        if found is None:
            stmt = self.table.update().where(*self._locked, *(() if guard is None else (guard,)))
            found = self._batched[key] = (guard, stmt.execution_options(**{MARK: self.table.name}))
        return found[1]

    def _history_insert(self):
        found = self._batched.get("history")
        if found is None:
            found = self._batched["history"] = (None, self.history.table.insert()
                                                .execution_options(**{MARK: self.table.name}))
        return found[1]

    def _reread(self, row):
        if _is_mapped(row):
            db.session.refresh(row)
            return row
        status = db.session.scalar(select(self.table.c.status).where(self.table.c.id == row.id))
        return None if status is None else Row(row.id, status)


def _value(state) -> str:
    return state.value if isinstance(state, enum.Enum) else state


def _is_mapped(row) -> bool:
    return hasattr(row, "_sa_instance_state")  # an ORM object (not a Core row)
