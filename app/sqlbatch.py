"""Writes sent together: several statements in one database round trip.

The hottest write paths (placing an order, applying a payment, a hand-over) end in a
run of INSERTs and guarded UPDATEs whose results are only counted. On MariaDB a `Batch`
sends them as one multi-statement query (the pool opens connections with
CLIENT.MULTI_STATEMENTS): the server runs them in order inside the open transaction and
stops at the first error, which is raised here as SQLAlchemy would raise it. Elsewhere
(SQLite) they run one after the other. Either way each statement's rowcount and
lastrowid come back in order.

Statements are SQLAlchemy Core, compiled once per shape and rendered by the driver with
its own escaping — what PyMySQL does for every query anyway (it has no server-side
parameters) — so a batch is as safe from injection as any execute, and it also skips
SQLAlchemy's per-execution bookkeeping, which costs more than the driver on these paths.
A batch is one cursor execution to engine events, so statement counters see round trips.
"""
from __future__ import annotations

from collections import namedtuple
from contextlib import contextmanager
from typing import Any, NamedTuple

from sqlalchemy import exc
from sqlalchemy.engine import Connection

from app.extensions import db


class Done(NamedTuple):
    rowcount: int
    lastrowid: int | None
    rows: list | None = None  # a SELECT's rows (a locking read at the end of a batch)


class NewId(NamedTuple):
    """The id an earlier INSERT of the same batch makes, as a value for a later statement
    (a new order's id in its items' rows): on MariaDB a session variable set right after
    that INSERT, elsewhere its lastrowid."""
    index: int

    @property
    def variable(self) -> str:
        return f"@batch_id_{self.index}"


class Batch:
    """Statements to run together, in the order added: `add` returns each one's index
    into what `run` returns. Callbacks given to `then` get those results after the run.
    A statement may be a SELECT (a locking read taken after the writes before it)."""

    def __init__(self):
        self.conn = db.session.connection()
        self._todo: list[tuple[Any, dict]] = []
        self._then: list = []
        self._one_row: list[tuple[int, str]] = []

    def add(self, statement, params: dict | None = None, *, one_row: str | None = None) -> int:
        """With `one_row`, the statement must match exactly one row: a guarded write whose
        row the caller holds locked. Otherwise the run raises RuntimeError(one_row)."""
        self._todo.append((statement, params or {}))
        index = len(self._todo) - 1
        if one_row is not None:
            self._one_row.append((index, one_row))
        return index

    def add_all(self, statement, rows: list[dict]) -> None:
        for params in rows:
            self.add(statement, params)

    def new_id(self, index: int) -> NewId:
        return NewId(index)

    def then(self, fn) -> None:
        self._then.append(fn)

    def run(self) -> list[Done]:
        todo, self._todo, then, self._then = self._todo, [], self._then, []
        one_row, self._one_row = self._one_row, []
        if not todo:
            return []
        if self.conn.dialect.name != "mysql":
            done = []
            for stmt, params in todo:
                params = {k: done[v.index].lastrowid if isinstance(v, NewId) else v for k, v in params.items()}
                result = self.conn.execute(stmt, params)
                done.append(Done(result.rowcount, getattr(result, "lastrowid", None),
                                 result.all() if result.returns_rows else None))
        else:
            done = _run_together(self.conn, todo)
        for index, what in one_row:
            if done[index].rowcount != 1:  # the caller's lock makes this unreachable
                raise RuntimeError(what)
        for fn in then:
            fn(done)
        return done


@contextmanager
def joining(writes: Batch | None):
    """The caller's batch, to add to; or, without one, a batch of our own that runs when
    the block ends (not if it raises)."""
    if writes is not None:
        yield writes
        return
    own = Batch()
    yield own
    own.run()


def fetch_all(statement, params: dict | None = None) -> list:
    """The rows of a SELECT, by the same path: on MariaDB the driver's tuples, made rows
    with attribute access and converted by the columns' types (as SQLAlchemy would);
    elsewhere SQLAlchemy's own rows. For the hottest reads only."""
    conn, params = db.session.connection(), params or {}
    if conn.dialect.name != "mysql":
        return conn.execute(statement, params).all()
    sql, values, entry = _render(conn.dialect, statement, params)
    with _cursor(conn) as cursor:
        _execute(conn, cursor, cursor.mogrify(sql, values))
        return _typed(entry, cursor.fetchall())


def _typed(entry: "_Compiled", fetched) -> list:
    row_type, converters = entry.rows
    if converters:
        fetched = [[f(v) if f else v for f, v in zip(converters, row)] for row in fetched]
    return [row_type(*row) for row in fetched]


def _run_together(conn: Connection, todo: list[tuple[Any, dict]]) -> list[Done]:
    referenced = {v.index for _, params in todo for v in params.values() if isinstance(v, NewId)}
    with _cursor(conn) as cursor:
        parts, counted = [], []  # counted: a statement's entry (None: a part of our own)
        for i, (stmt, params) in enumerate(todo):
            sql, values, entry = _render(conn.dialect, stmt, params)
            parts.append(cursor.mogrify(sql, values))
            counted.append(entry)
            if i in referenced:
                parts.append(f"SET {NewId(i).variable} = LAST_INSERT_ID()")
                counted.append(None)
        sql = ";\n".join(parts)
        _execute(conn, cursor, sql)
        done = []
        for i, entry in enumerate(counted):
            if i and not _wrapped(conn, sql, cursor.nextset):
                raise RuntimeError(f"a batch of {len(parts)} statements returned {i} results")
            if entry is not None:
                rows = _typed(entry, cursor.fetchall()) if entry.rows else None
                done.append(Done(cursor.rowcount, cursor.lastrowid, rows))
    return done


@contextmanager
def _cursor(conn: Connection):
    raw = conn.connection.dbapi_connection
    # The driver renders a NewId as its session variable (PyMySQL escapes by exact type).
    raw.encoders.setdefault(NewId, _new_id_sql)
    cursor = raw.cursor()
    try:
        yield cursor
    finally:
        cursor.close()


def _new_id_sql(value: NewId, _mapping=None) -> str:
    return value.variable


def _execute(conn: Connection, cursor, sql: str) -> None:
    """cursor.execute(sql) as SQLAlchemy would run it: engine events around it (statement
    counters and tracers see one execution), driver errors raised as SQLAlchemy's."""
    events = conn._has_events or conn.engine._has_events
    if events:
        conn.dispatch.before_cursor_execute(conn, cursor, sql, (), None, False)
    _wrapped(conn, sql, cursor.execute, sql)
    if events:
        conn.dispatch.after_cursor_execute(conn, cursor, sql, (), None, False)


def _wrapped(conn: Connection, sql: str, fn, *args):
    try:
        return fn(*args)
    except conn.dialect.loaded_dbapi.Error as e:
        # As SQLAlchemy's own execution does: a lost connection (a server killed or gone
        # away mid-batch) is invalidated, so the rollback that follows doesn't send a
        # ROLLBACK down a dead socket (which raised, and made the 503 a bare 500).
        gone = conn.dialect.is_disconnect(e, conn.connection.dbapi_connection, None)
        if gone:
            conn.invalidate(e)
        raise exc.DBAPIError.instance(sql, None, e, conn.dialect.loaded_dbapi.Error,
                                      connection_invalidated=gone, dialect=conn.dialect) from e


class _Compiled(NamedTuple):
    compiled: Any
    sql: str
    names: tuple | None         # positional parameter order (None: named, pyformat)
    processors: dict            # bind name -> the type's bind processor
    defaults: dict              # column key -> Python-side default / onupdate
    expanding: bool             # has IN (...) lists, rendered per call
    fixed: dict | None          # every bind's value when each caller key names its bind
    rows: tuple | None          # SELECTs: (row type, result converters or None)


# (statement, dialect, parameter names) -> its compiled form. Statements run here are
# module-level constants (bound parameters, no per-call clauses), so this stays small.
_compiled: dict[tuple, _Compiled] = {}


def _render(dialect, stmt, params: dict) -> tuple[str, tuple | dict, _Compiled]:
    """(SQL with the driver's placeholders, the values for them, the compiled entry)."""
    key = (stmt, dialect.name, tuple(params))
    entry = _compiled.get(key)
    if entry is None:
        if len(_compiled) > 1000:  # a caller building statements per call: don't grow forever
            _compiled.clear()
        entry = _compiled[key] = _compile(dialect, stmt, list(params))
    if entry.defaults:
        params = {**{k: d.arg if d.is_scalar else d.arg(None) for k, d in entry.defaults.items()}, **params}
    if entry.expanding:  # IN lists: the SQL depends on their lengths
        state = entry.compiled.construct_expanded_state(params)
        sql, values, names, processors = state.statement, state.parameters, state.positiontup, state.processors
    else:
        sql, names, processors = entry.sql, entry.names, entry.processors
        if entry.fixed is not None:  # what construct_params would make, without its walk
            values = {**entry.fixed, **params}
        else:
            values = entry.compiled.construct_params(params)
    for name, proc in processors.items():
        if name in values:
            values[name] = proc(values[name])
    if names is None:
        return sql, values, entry
    return sql, tuple(values[n] for n in names), entry


def _compile(dialect, stmt, column_keys: list[str]) -> _Compiled:
    compiled = stmt.compile(dialect=dialect, column_keys=column_keys)
    # Python-side column defaults (default=..., onupdate=...) are evaluated in _render, as
    # an execution context would.
    defaults = {**{c.key: c.default for c in compiled.insert_prefetch},
                **{c.key: c.onupdate for c in compiled.update_prefetch}}
    processors = {}
    for bind, name in compiled.bind_names.items():
        proc = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if proc is not None:
            processors[name] = proc
    # The usual case: each parameter the caller passes (and each default) is the bind of
    # that name, so the other binds' values (literals in the statement) are fixed.
    names = {bind.key: name for bind, name in compiled.bind_names.items()}
    fixed = None
    if (not (compiled.post_compile_params or compiled.escaped_bind_names)
            and all(names.get(k) == k for k in (*column_keys, *defaults))):
        fixed = {k: v for k, v in compiled.construct_params({}, _check=False).items()
                 if k not in column_keys and k not in defaults}
    rows = None
    if stmt.is_select:
        columns = list(stmt.selected_columns)
        converters = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
        rows = (namedtuple("Row", [c.key for c in columns], rename=True),
                converters if any(converters) else None)
    return _Compiled(compiled, compiled.string, tuple(compiled.positiontup) if compiled.positional else None,
                     processors, defaults, bool(compiled.post_compile_params), fixed, rows)
