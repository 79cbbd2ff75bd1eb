"""app/tasks.py's hooks around a transaction: after-commit hooks only after the outermost
commit, rollback hooks only when it ends otherwise, and both following savepoints."""
from __future__ import annotations

from sqlalchemy import text

from app.extensions import db
from app.tasks import after_commit, on_rollback


def _begin():
    db.session.execute(text("SELECT 1"))  # the transaction starts


def test_commit_runs_after_commit_hooks_only(ctx):
    seen = []
    _begin()
    after_commit(lambda: seen.append("committed"))
    on_rollback(lambda: seen.append("undone"))
    db.session.commit()
    assert seen == ["committed"]
    db.session.rollback()  # a later, empty transaction: nothing left over runs
    assert seen == ["committed"]


def test_rollback_runs_rollback_hooks_latest_first_and_drops_the_rest(ctx):
    seen = []
    _begin()
    after_commit(lambda: seen.append("committed"))
    on_rollback(lambda: seen.append("first"))
    on_rollback(lambda: seen.append("second"))
    db.session.rollback()
    assert seen == ["second", "first"]
    _begin()
    db.session.commit()  # the dropped after-commit hook does not come back
    assert seen == ["second", "first"]


def test_a_released_savepoint_waits_for_the_outer_commit(ctx):
    seen = []
    _begin()
    with db.session.begin_nested():
        after_commit(lambda: seen.append("committed"))
        on_rollback(lambda: seen.append("undone"))
    assert seen == []  # SQLAlchemy's after_commit fired for the release: nothing ran
    db.session.commit()
    assert seen == ["committed"]


def test_a_savepoint_rolled_back_undoes_only_its_own(ctx):
    seen = []
    _begin()
    after_commit(lambda: seen.append("outer committed"))
    on_rollback(lambda: seen.append("outer undone"))
    try:
        with db.session.begin_nested():
            after_commit(lambda: seen.append("inner committed"))
            on_rollback(lambda: seen.append("inner undone"))
            raise LookupError
    except LookupError:
        pass
    assert seen == ["inner undone"]
    db.session.commit()
    assert seen == ["inner undone", "outer committed"]


def test_keyed_hook_inside_a_rolled_back_savepoint_can_be_registered_again(ctx):
    seen = []
    _begin()
    try:
        with db.session.begin_nested():
            after_commit(lambda: seen.append("kick 1"), key="kick")
            raise LookupError
    except LookupError:
        pass
    after_commit(lambda: seen.append("kick 2"), key="kick")
    after_commit(lambda: seen.append("kick 3"), key="kick")
    db.session.commit()
    assert seen == ["kick 2"]
