"""Extension objects, created unbound at import time and bound in `create_app`."""
from __future__ import annotations

import fakeredis
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from flask import Flask, current_app, g, has_app_context
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import MetaData, Select
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


class RoutingSession(FlaskSession):
    """Reads inside `app.db.replica_reads()` go to the `analytics` bind (ANALYTICS_DATABASE_URL)
    when one is configured: plain SELECTs only — anything the session flushes, and every
    locking read, still goes to the main database."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if (bind is None and isinstance(clause, Select) and clause._for_update_arg is None
                and has_app_context() and g.get("replica_reads") and not self._flushing):
            engine = db.engines.get("analytics")
            if engine is not None:
                return engine
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


db = SQLAlchemy(model_class=Base, session_options={"class_": RoutingSession})
migrate = Migrate(compare_type=True, render_as_batch=True)


class RedisExt:
    """The app's Redis client: a real server when REDIS_URL is set, otherwise an
    in-process fakeredis server shared by every client of this process."""

    def init_app(self, app: Flask) -> None:
        cfg = app.config
        url = cfg["REDIS_URL"]
        if url:
            # A blocking pool: a burst of threads waits briefly (POOL_TIMEOUT_S) for a
            # connection instead of failing with MaxConnectionsError. Every connect and
            # every reply waits at most REDIS_TIMEOUT_S: a Redis that hangs costs a request
            # 503 `unavailable` (redis TimeoutError, app/errors.py) and the connection,
            # never the worker. No retries: a command whose reply was lost may have been
            # applied (INCR, a flash-sale gate), and the client's retry is a new request.
            pool = redis.BlockingConnectionPool.from_url(
                url, max_connections=cfg["REDIS_MAX_CONNECTIONS"], timeout=cfg["POOL_TIMEOUT_S"],
                decode_responses=True, health_check_interval=30,
                socket_timeout=cfg["REDIS_TIMEOUT_S"], socket_connect_timeout=cfg["REDIS_TIMEOUT_S"],
                retry=Retry(NoBackoff(), 0))
            client = redis.Redis(connection_pool=pool)
            # /readyz's own client: a short timeout, and a connection that isn't waiting
            # behind the requests' pool.
            probe = redis.Redis.from_url(
                url, decode_responses=True, socket_timeout=cfg["READY_TIMEOUT_S"],
                socket_connect_timeout=cfg["READY_TIMEOUT_S"], retry=Retry(NoBackoff(), 0))
        else:
            client = probe = fakeredis.FakeRedis(
                server=fakeredis.FakeServer(), decode_responses=True,
                connection_pool_class=redis.BlockingConnectionPool,
                max_connections=cfg["REDIS_MAX_CONNECTIONS"], timeout=cfg["POOL_TIMEOUT_S"])
        app.extensions["redis"] = client
        app.extensions["redis_probe"] = probe


redis_ext = RedisExt()


def rds() -> redis.Redis:
    """The current app's Redis client."""
    return current_app.extensions["redis"]


def redis_probe() -> redis.Redis:
    """The client /readyz pings Redis with (short timeouts, its own connection)."""
    return current_app.extensions["redis_probe"]
