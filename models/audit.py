"""Audit log: who did what to what, when, and from where. Written in the same
transaction as the change it records, so one never exists without the other."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import g, has_request_context, request
from sqlalchemy import JSON, Index, String, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from app.db import own_transaction
from app.errors import InvalidRequest
from app.extensions import db
from app.sqlbatch import Batch
from models.base import MYSQL_TABLE, UTCDateTime, keyset_page, utcnow


class AuditLog(db.Model):
    __tablename__ = "audit_logs"
    # One index per filter of `search` (each also orders by id: InnoDB appends the key).
    __table_args__ = (Index("ix_audit_logs_target", "target_type", "target_id"),
                      Index("ix_audit_logs_actor", "actor_type", "actor_id"),
                      Index("ix_audit_logs_action", "action"), MYSQL_TABLE)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_type: Mapped[str] = mapped_column(String(16))  # staff | user | system
    actor_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    request_id: Mapped[str | None] = mapped_column(String(64))


def record(action: str, target, *, changes: dict | None = None, actor=None,
           writes: Batch | None = None) -> AuditLog | None:
    """Append an audit row. `target` is a model instance (its table and id are used).
    With `writes`, the row is added to that batch (and not returned)."""
    actor_type, actor_id = "system", None
    if actor is not None:
        actor_type, actor_id = actor.audit_kind, actor.id
    if target.id is None:
        db.session.flush()
    row = {"actor_type": actor_type, "actor_id": actor_id, "action": action,
           "target_type": target.__tablename__, "target_id": str(target.id), "changes": changes or {},
           "ip": None, "user_agent": None, "request_id": None}
    if has_request_context():
        # remote_addr is the client's address behind TRUSTED_PROXY_HOPS proxies (ProxyFix in
        # app/__init__.py takes it from X-Forwarded-For), the peer's without them.
        row.update(ip=request.remote_addr, user_agent=(request.user_agent.string or "")[:255] or None,
                   request_id=g.get("request_id"))
    if writes is not None:
        writes.add(_INSERT, row)
        return None
    entry = AuditLog(**row)
    db.session.add(entry)
    return entry


_INSERT = AuditLog.__table__.insert()


def diff(obj, fields: dict) -> dict:
    """Apply `fields` to `obj`; return {name: [old, new]} for what actually changed."""
    changed = {}
    for name, value in fields.items():
        old = getattr(obj, name)
        if old != value:
            setattr(obj, name, value)
            changed[name] = [_plain(old), _plain(value)]
    return changed


def _plain(v):
    return v if isinstance(v, (str, int, float, bool, type(None), list, dict)) else str(v)


CHINA = ZoneInfo("Asia/Shanghai")  # the days the console's date range names


@dataclass(frozen=True)
class AuditFilter:
    """What the log is filtered by; every field is optional. `action` ending in `*` is a
    prefix (`inventory.*`); `since`/`until` are Asia/Shanghai calendar days, both included."""
    actor_id: int | None = None        # a staff member
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None       # only with target_type
    since: date | None = None
    until: date | None = None


def day_start_utc(day: date) -> datetime:
    """00:00 of an Asia/Shanghai day, as an aware datetime (compared as UTC)."""
    return datetime.combine(day, time(0), tzinfo=CHINA)


def search(filters: AuditFilter, *, cursor: int | None, limit: int) -> list[AuditLog]:
    """The log, newest first by id, narrowed by `filters`. Each filter has its index (the
    actor, the action — exact or a prefix —, the target, the time), so a page costs the
    rows that match, not the whole history (EXPLAIN in tests/models/test_audit.py)."""
    query = select(AuditLog)
    if filters.actor_id is not None:
        query = query.where(AuditLog.actor_type == "staff", AuditLog.actor_id == filters.actor_id)
    if filters.action:
        if filters.action.endswith("*"):
            query = query.where(AuditLog.action.startswith(filters.action[:-1], autoescape=True))
        else:
            query = query.where(AuditLog.action == filters.action)
    if filters.target_id is not None and not filters.target_type:
        raise InvalidRequest("A target id needs its target type.", details={"field": "target_type"})
    if filters.target_type:
        query = query.where(AuditLog.target_type == filters.target_type)
        if filters.target_id is not None:
            query = query.where(AuditLog.target_id == filters.target_id)
    if filters.since and filters.until and filters.since > filters.until:
        raise InvalidRequest("The date range ends before it starts.", details={"field": "to"})
    if filters.since:
        query = query.where(AuditLog.at >= day_start_utc(filters.since))
    if filters.until:
        query = query.where(AuditLog.at < day_start_utc(filters.until + timedelta(days=1)))
    return keyset_page(query, AuditLog.id, cursor=cursor, limit=limit, newest_first=True)


def purge_older_than(days: int, batch: int = 1000) -> int:
    """Retention: delete audit rows older than `days`, oldest first, a batch per
    transaction (the periodic job), so the table is never locked for long."""
    cutoff = utcnow() - timedelta(days=days)
    deleted = 0
    while True:
        with own_transaction():
            ids = list(db.session.scalars(select(AuditLog.id).where(AuditLog.at < cutoff)
                                          .order_by(AuditLog.id).limit(batch)))
            if ids:
                db.session.execute(delete(AuditLog).where(AuditLog.id.in_(ids)))
        if not ids:
            return deleted
        deleted += len(ids)
