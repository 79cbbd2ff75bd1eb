"""Extension objects, created unbound at import time and bound in `create_app`."""
from __future__ import annotations

import threading

import fakeredis
import redis
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.retry import Retry
from flask import Flask, current_app, g, has_app_context
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import MetaData, Select
from sqlalchemy.orm import DeclarativeBase

from app.config import redis_cluster_nodes

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
        cluster = redis_cluster_nodes(url or "")
        if cluster:
            client = LazyCluster(cluster, cfg, cfg["REDIS_TIMEOUT_S"], cfg["REDIS_MAX_CONNECTIONS"])
            probe = LazyCluster(cluster, cfg, cfg["READY_TIMEOUT_S"], 2)
        elif url:
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


class LazyCluster:
    """A `redis.cluster.RedisCluster`, built on first use: building one asks a seed node for
    the slot map, and a web process must start (and answer 503) while the cluster is down,
    as it does with one Redis. A failed build is tried again by the next command.

    The same limits as one server's client: every connect and reply waits at most
    `timeout`, and no command is retried (`Retry(NoBackoff(), 0)`: a reply lost after an
    INCR or a gate's take may have been applied). redis-py still follows MOVED and ASK
    redirections (nothing was applied) and, on a connection error, reloads the slot map
    before raising — so while a primary fails over its keys answer 503 (ConnectionError,
    ClusterDownError: app/errors.py) and, once a replica has taken over, the next request
    goes there."""

    def __init__(self, cluster: tuple[str, list[tuple[str, int]]], cfg, timeout: float,
                 max_connections: int):
        self._cluster, self._cfg = cluster, cfg
        self._timeout, self._max = timeout, max_connections
        self._client: RedisCluster | None = None
        self._lock = threading.Lock()

    def _build(self) -> RedisCluster:
        first_url, nodes = self._cluster
        # The URL form (its credentials and TLS options apply to every node) is also what
        # makes redis-py build each node's pool from `connection_pool_class`: a blocking
        # pool per node, as with one server (a burst waits up to POOL_TIMEOUT_S).
        return RedisCluster(
            url=first_url, startup_nodes=[ClusterNode(host, port) for host, port in nodes[1:]],
            decode_responses=True, retry=Retry(NoBackoff(), 0),
            socket_timeout=self._timeout, socket_connect_timeout=self._timeout,
            max_connections=self._max, connection_pool_class=redis.BlockingConnectionPool,
            timeout=self._cfg["POOL_TIMEOUT_S"])

    def client(self) -> RedisCluster:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._build()
        return self._client

    def __getattr__(self, name):
        if callable(getattr(RedisCluster, name, None)):
            # A method is looked up (wechatpy checks that `get` exists) without building;
            # the cluster is asked for its slot map when one is called.
            return lambda *args, **kwargs: getattr(self.client(), name)(*args, **kwargs)
        return getattr(self.client(), name)


redis_ext = RedisExt()


def rds() -> redis.Redis:
    """The current app's Redis client (a cluster's, LazyCluster, answers the same calls)."""
    return current_app.extensions["redis"]


def redis_probe() -> redis.Redis:
    """The client /readyz pings Redis with (short timeouts, its own connection)."""
    return current_app.extensions["redis_probe"]
