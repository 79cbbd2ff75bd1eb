"""Export tables: a background export (the job: what, for whom, how far) and its file,
encrypted, in chunks — plus the time indexes the exports walk on tables of other domains
that may not carry them themselves (see the end)."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, LargeBinary, String
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from models.base import MYSQL_TABLE, UTCDateTime, utcnow
from models.stock.tables import StockMovement


class ExportStatus(str, enum.Enum):
    queued = "queued"    # started; its task not running yet
    running = "running"  # writing: rows_done of rows_total (an estimate, counted when it began)
    ready = "ready"      # the file waits for the staff member who started it, until expires_at
    expired = "expired"  # EXPORT_TTL_S passed: the file is deleted
    failed = "failed"    # stopped; nothing of it is kept (start a new one)


class ExportJob(db.Model):
    """One background export, made for (and readable by) one staff member only. `filters`
    holds what was asked (`from`, `to`, `store_id`, `lang`) and the stores the member could
    read then (`store_ids`, null: every store): the run exports exactly that."""

    __tablename__ = "export_jobs"
    __table_args__ = (
        CheckConstraint("rows_done >= 0 AND bytes >= 0 AND chunks >= 0", name="progress_nonneg"),
        Index("ix_export_jobs_staff_id_id", "staff_id", "id"),                  # my exports, newest first
        Index("ix_export_jobs_status_expires_at", "status", "expires_at"),      # the sweep: files past their time
        Index("ix_export_jobs_status_heartbeat_at", "status", "heartbeat_at"),  # the sweep: stalled runs
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    kind: Mapped[str] = mapped_column(String(32))
    format: Mapped[str] = mapped_column(String(8))  # csv | xlsx
    filters: Mapped[dict] = mapped_column(JSON, default=dict)
    # Changed only through models.exports.status.JOBS.
    status: Mapped[str] = mapped_column(String(16), default=ExportStatus.queued.value)
    rows_total: Mapped[int | None]  # estimated when the run starts; exact once ready
    rows_done: Mapped[int] = mapped_column(default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)  # the file's size (plain)
    chunks: Mapped[int] = mapped_column(default=0)
    # The run that holds the job (its claim); a run silent for long (heartbeat_at) is
    # taken over by a new one, which starts the file again.
    run_token: Mapped[str | None] = mapped_column(String(32))
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    error: Mapped[str | None] = mapped_column(String(64))
    downloads: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    downloaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ExportChunk(db.Model):
    """A piece of an export's file (at most CHUNK_BYTES before encryption), AES-256-GCM
    with the job, the piece's place and the staff member bound in: pieces copied to
    another job or place do not decrypt. Read back in `seq` order by the primary key."""

    __tablename__ = "export_chunks"
    __table_args__ = (MYSQL_TABLE,)

    export_id: Mapped[int] = mapped_column(ForeignKey("export_jobs.id"), primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    # MEDIUMBLOB on MariaDB (16 MiB; a plain BLOB stops at 64 KiB).
    data: Mapped[bytes] = mapped_column(LargeBinary().with_variant(mysql.MEDIUMBLOB(), "mysql"))


# The stock ledger in a date range (models/exports/kinds.py) walks stock_movements by
# (at, id): without this index every export would read the store's whole history. It
# belongs beside the table in models/stock/tables.py; it is declared here only because
# that package was being changed in parallel when exports were written (an Index on a
# table's column attaches itself to that table, so the metadata and migration 0015 agree
# either way). Moving it there changes nothing else.
Index("ix_stock_movements_at", StockMovement.__table__.c.at)
