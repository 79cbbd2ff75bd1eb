"""EXPLAIN what a piece of code asks MariaDB: the SELECTs it sends are captured as they go
out and explained afterwards, with the same parameters, so a test can say which index a
list walks (and that it walks no whole table)."""
from __future__ import annotations

from sqlalchemy import event

from app.extensions import db


def explain_selects(call) -> list[list[dict]]:
    """Run `call()`, then EXPLAIN each SELECT it sent: one list of plan rows (dicts with
    MariaDB's columns: table, type, key, rows, Extra...) per statement."""
    return [plan for _, plan in explain_statements(call)]


def explain_statements(call) -> list[tuple[str, list[dict]]]:
    """As explain_selects, each plan with the statement it explains."""
    sent = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        call()
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    return [(statement, [dict(row._mapping) for row in
                         db.session.connection().exec_driver_sql("EXPLAIN " + statement, parameters)])
            for statement, parameters in sent]


def analyze(*tables: str) -> None:
    """Fresh index statistics, as a table that has lived a while has."""
    for table in tables:
        db.session.connection().exec_driver_sql(f"ANALYZE TABLE {table}").all()
