"""The migrations are the schema: one head, and they match the models exactly."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from app.extensions import db
from tests.conftest import backend_is_mysql


def test_single_head(app):
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_models_match_migrations(app):
    with app.app_context(), db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, db.metadata) == []


def test_mysql_tables_are_utf8mb4(app):
    with app.app_context(), db.engine.connect() as conn:
        if not backend_is_mysql():
            assert conn.dialect.name == "sqlite"
            return
        rows = conn.execute(text(
            "SELECT table_name, table_collation FROM information_schema.tables "
            "WHERE table_schema = DATABASE()")).all()
        assert rows and all(coll.startswith("utf8mb4") for _, coll in rows), rows


