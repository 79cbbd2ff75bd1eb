"""Extension objects, created unbound at import time and bound in `create_app`."""
from __future__ import annotations

import fakeredis
import redis
from flask import Flask, current_app
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names so that Alembic autogenerate and MySQL/SQLite agree.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True, render_as_batch=True)


class RedisExt:
    """The app's Redis client: a real server when REDIS_URL is set, otherwise an
    in-process fakeredis server shared by every client of this process."""

    def init_app(self, app: Flask) -> None:
        url = app.config["REDIS_URL"]
        if url:
            # A blocking pool: a burst of threads waits briefly for a connection instead
            # of failing with MaxConnectionsError.
            pool = redis.BlockingConnectionPool.from_url(
                url, max_connections=app.config["REDIS_MAX_CONNECTIONS"], timeout=5,
                decode_responses=True, health_check_interval=30)
            client = redis.Redis(connection_pool=pool)
        else:
            client = fakeredis.FakeRedis(
                server=fakeredis.FakeServer(), decode_responses=True,
                connection_pool_class=redis.BlockingConnectionPool,
                max_connections=app.config["REDIS_MAX_CONNECTIONS"], timeout=5)
        app.extensions["redis"] = client


redis_ext = RedisExt()


def rds() -> redis.Redis:
    """The current app's Redis client."""
    return current_app.extensions["redis"]
