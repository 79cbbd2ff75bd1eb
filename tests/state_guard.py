"""In tests, every write of a status column must come from its state machine.

An engine listener looks at every UPDATE and INSERT of a table with a `status` column:
- an UPDATE that sets `status` must carry the machine's mark (models.state_machine.MARK),
  which only the machine's own statements do;
- an INSERT must create the row in one of its machine's `initial` states.
An attribute listener catches `obj.status = ...` on an ORM object where it is written
(the machine never does that: it tells objects what it wrote with set_committed_value):
on a loaded row it is a violation, on a new one its value must be an initial state.
Anything else is recorded as a violation, and the `conftest` fixture fails the test that
caused it. Test code itself (setting up a state on purpose, or imitating a manual fix in
the database) may write what it likes: a write whose nearest project frame is under
tests/ is not the app's.

Batched writes (app/sqlbatch.py) reach the engine as one execution on MariaDB, so they
are checked in the SQLite run, where a batch runs statement by statement.
"""
from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.sql.dml import Insert, Update

from models.state_machine import MARK, Machine

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
violations: list[str] = []


def _origin() -> Path | None:
    """The nearest frame in this project's own code (not a library's, not this file's)."""
    frame = sys._getframe(2)
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        if path.is_relative_to(ROOT) and ".venv" not in path.parts and path != Path(__file__):
            return path
        frame = frame.f_back
    return None


def _params(multiparams, params) -> list[dict]:
    rows = [p for p in (multiparams or []) if isinstance(p, dict)]
    return rows + ([params] if params else [])


def _sets_status(stmt, rows: list[dict]) -> list | None:
    """The status values this statement writes ([None] when set by an expression), or None."""
    found = [getattr(value, "value", None) for key, value in (stmt._values or {}).items()
             if getattr(key, "key", key) == "status"]
    for row in getattr(stmt, "_multi_values", None) or ():  # insert().values([...])
        found += [r.get("status") for r in row if isinstance(r, dict) and "status" in r]
    found += [row["status"] for row in rows if "status" in row]
    return found or None


def check(conn, clauseelement, multiparams, params, execution_options) -> None:
    if not isinstance(clauseelement, (Insert, Update)):
        return
    table = clauseelement.table
    if "status" not in getattr(table, "c", {}):
        return
    written = _sets_status(clauseelement, _params(multiparams, params))
    marked = MARK in clauseelement.get_execution_options() or MARK in (execution_options or {})
    machine = Machine.registry.get(table.name)
    if isinstance(clauseelement, Update):
        problem = written is not None and not marked and f"{table.name}.status set outside its machine"
    elif machine is None:
        problem = f"{table.name} has a status column but no machine"
    else:
        wrong = [w for w in (written or []) if w not in machine.initial]
        problem = bool(wrong) and not marked and f"{table.name} row created as {wrong}, not in {sorted(machine.initial)}"
    if problem:
        _record(problem)


def _record(problem: str) -> None:
    origin = _origin()
    if origin is None or not origin.is_relative_to(TESTS):
        violations.append(f"{problem} (from {origin.relative_to(ROOT) if origin else '?'})")


def _listen_for_sets(machine: Machine):
    def on_set(target, value, _old, _initiator):
        if inspect(target).has_identity:
            _record(f"{machine.table.name}.status set on a loaded row, outside its machine")
        elif getattr(value, "value", value) not in machine.initial:
            _record(f"{machine.table.name} row made as {value!r}, not in {sorted(machine.initial)}")
    event.listen(machine.model.status, "set", on_set)


def install() -> None:
    """Listen for status writes (after models.load_all: every machine registered)."""
    if not event.contains(Engine, "before_execute", check):
        event.listen(Engine, "before_execute", check)
        for machine in Machine.registry.values():
            _listen_for_sets(machine)
