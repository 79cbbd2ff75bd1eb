"""Background exports: start (a request), run (the task `tihuo.exports.run`), follow and
download (only the staff member who started it), expire (the sweep).

- `start`: checks what is asked (asking.py) and writes a `queued` job; the task starts
  after the commit. At most EXPORT_MAX_ACTIVE of a member's exports are queued or running
  at once (409 `export_busy`; two requests at the same instant may both pass — a guard
  against a runaway client, not a quota).
- `run`: claims the job (`run_token`), counts the rows (`rows_total`, an estimate: rows
  written meanwhile are exported too), then writes the file a page at a time into
  encrypted chunks, committing its progress (`rows_done`) with the chunks written since the
  last page — each commit guarded by its claim, so a run that was taken over stores
  nothing more. A run silent for STALL_S (its worker died) is taken over by the sweep's
  restart, which starts the file again; a run that fails deletes what it wrote.
- `download`: a ready file, as often as asked until it expires, a chunk at a time; each
  download is audited, and the kind's ability and the stores are checked again (a member
  whose role or stores changed since may no longer read those rows).
- `sweep`: files past EXPORT_TTL_S deleted (any read of such a job does it too); stalled
  jobs started again.
"""
from __future__ import annotations

import logging
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select, update

from app.db import each_in_own_transaction, own_transaction
from app.errors import Forbidden, NotFound
from app.extensions import db
from app.tasks import defer
from app.tasks import start as start_task
from models import audit
from models.base import keyset_page, utcnow
from models.exports import storage
from models.exports.asking import file_name, kind_of, resolve
from models.exports.errors import ExportBusy, ExportExpired, ExportFailed, ExportNotReady
from models.exports.kinds import Filters
from models.exports.status import JOBS
from models.exports.tables import ExportJob, ExportStatus
from models.exports.writers import MEDIA_TYPES, CsvWriter, XlsxWriter
from models.staff.abilities import readable_store_ids, require
from models.state_machine import InvalidTransition

log = logging.getLogger(__name__)

EXPORT_TASK = "tihuo.exports.run"
STALL_S = 600          # a run silent this long (its worker died) is taken over
COPY_CHECKPOINT = 16   # chunks of an XLSX copied between two signs of life
E = ExportStatus
ACTIVE = (E.queued.value, E.running.value)


# --- the staff member's side ---------------------------------------------------------------

def start(actor, kind_name: str, fmt: str, **asked) -> ExportJob:
    kind, filters = resolve(actor, kind_name, **asked)
    limit = current_app.config["EXPORT_MAX_ACTIVE"]
    active = db.session.scalar(select(func.count()).select_from(ExportJob).where(
        ExportJob.staff_id == actor.id, ExportJob.status.in_(ACTIVE)))
    if active >= limit:
        raise ExportBusy(params={"limit": limit}, details={"limit": limit})
    job = ExportJob(staff_id=actor.id, kind=kind.name, format=fmt, filters=filters.as_json(),
                    status=JOBS.initial_status(E.queued), rows_done=0, bytes=0, chunks=0, heartbeat_at=utcnow())
    db.session.add(job)
    db.session.flush()
    audit.record("export.start", job, actor=actor,
                 changes={"kind": kind.name, "format": fmt, "filters": filters.as_json()})
    defer(EXPORT_TASK, job.id)
    return job


def get_job(actor, export_id: int) -> ExportJob:
    """The job, for the staff member who started it; to anybody else it does not exist.
    A ready file past its time is deleted here (the sweep may not have run yet)."""
    job = db.session.get(ExportJob, export_id)
    if job is None or job.staff_id != getattr(actor, "id", None):
        raise NotFound("No such export.", details={"export_id": export_id})
    if job.status == E.ready.value and job.expires_at <= utcnow():
        _expire(job)
    return job


def list_jobs(actor, *, cursor: int | None, limit: int) -> list[ExportJob]:
    """The member's own exports, newest first (ix_export_jobs_staff_id_id)."""
    return keyset_page(select(ExportJob).where(ExportJob.staff_id == actor.id), ExportJob.id,
                       cursor=cursor, limit=limit, newest_first=True)


@dataclass
class Download:
    name: str
    local_name: str
    media_type: str
    size: int
    body: Iterator[bytes]


def download(actor, export_id: int) -> Download:
    job = get_job(actor, export_id)
    refusal = {E.queued.value: ExportNotReady, E.running.value: ExportNotReady, E.failed.value: ExportFailed,
               E.expired.value: ExportExpired}.get(job.status)
    if refusal is not None:
        raise refusal(details={"status": job.status, "rows_done": job.rows_done, "rows_total": job.rows_total})
    kind, filters = kind_of(job.kind), Filters.of_json(job.filters)
    require(actor, kind.ability)
    if kind.per_store:
        _require_stores(actor, filters)
    now = utcnow()
    db.session.execute(update(ExportJob).where(ExportJob.id == job.id)
                       .values(downloads=ExportJob.downloads + 1,
                               downloaded_at=func.coalesce(ExportJob.downloaded_at, now))
                       .execution_options(synchronize_session=False))
    db.session.refresh(job)
    audit.record("export.download", job, actor=actor,
                 changes={"kind": job.kind, "format": job.format, "rows": job.rows_done, "downloads": job.downloads})
    name, local_name = file_name(kind, filters, job.format)
    return Download(name, local_name, MEDIA_TYPES[job.format], job.bytes,
                    storage.read(job.id, job.staff_id, job.chunks))


def _require_stores(actor, filters: Filters) -> None:
    mine = readable_store_ids(actor)
    if mine is not None and (filters.store_ids is None or not set(filters.store_ids) <= set(mine)):
        raise Forbidden("You are not bound to this store.",
                        details={"store_ids": None if filters.store_ids is None else list(filters.store_ids)})


# --- the task -------------------------------------------------------------------------------

def run(export_id: int) -> dict:
    """The job's run (the task `tihuo.exports.run`), in transactions of its own. Safe to
    repeat: a job not queued (nor stalled) is left alone."""
    with own_transaction():
        claimed = _claim(export_id)
    if claimed is None:
        return {"export_id": export_id, "ran": False}
    token, job = claimed
    try:
        status = _write(export_id, token, job)
    except Exception as exc:
        db.session.rollback()
        log.exception("export %s failed: %s", export_id, type(exc).__name__)
        with own_transaction():
            _fail(export_id, token, type(exc).__name__)
        return {"export_id": export_id, "ran": True, "status": E.failed.value}
    return {"export_id": export_id, "ran": True, "status": status}


@dataclass(frozen=True)
class _Claimed:
    kind: str
    format: str
    filters: Filters
    staff_id: int


def _claim(export_id: int) -> tuple[str, _Claimed] | None:
    job = db.session.get(ExportJob, export_id)
    if job is None:
        return None
    now, token = utcnow(), secrets.token_hex(16)
    if job.status == E.queued.value:
        if not JOBS.move(job, "start", run_token=token, heartbeat_at=now).applied:
            return None  # another run claimed it first
    elif job.status == E.running.value and job.heartbeat_at <= now - timedelta(seconds=STALL_S):
        taken = db.session.execute(
            update(ExportJob).where(ExportJob.id == job.id, ExportJob.status == E.running.value,
                                    ExportJob.run_token == job.run_token)
            .values(run_token=token, heartbeat_at=now, rows_done=0, bytes=0, chunks=0)
            .execution_options(synchronize_session=False))
        if taken.rowcount != 1:
            return None
        log.warning("export %s: a stalled run taken over", export_id)
    else:
        return None
    storage.drop(job.id)  # what a run before this one wrote
    return token, _Claimed(job.kind, job.format, Filters.of_json(job.filters), job.staff_id)


def _checkpoint(export_id: int, token: str, **values) -> bool:
    """Commit the progress (and the chunks written since the last one) if the run still
    holds the job; otherwise roll them back and say so."""
    moved = db.session.execute(
        update(ExportJob).where(ExportJob.id == export_id, ExportJob.run_token == token,
                                ExportJob.status == E.running.value)
        .values(heartbeat_at=utcnow(), **values).execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        db.session.rollback()
        return False
    db.session.commit()
    return True


def _write(export_id: int, token: str, job: _Claimed) -> str:
    kind, filters = kind_of(job.kind), job.filters
    total = kind.count(filters, None)
    if not _checkpoint(export_id, token, rows_total=total):
        return "taken_over"
    sink = storage.ChunkSink(export_id, job.staff_id)
    title, done = kind.title[filters.lang], 0
    if job.format == "csv":
        writer = CsvWriter(kind.columns, filters.lang, sink, title)
        for page in kind.pages(filters):
            writer.rows(page)
            done += len(page)
            if not _checkpoint(export_id, token, rows_done=done, rows_total=max(total, done), chunks=sink.chunks):
                return "taken_over"
        writer.close()
        sink.close()
        return _finish(export_id, token, done, sink)
    with tempfile.TemporaryFile() as tmp:  # the zip's directory comes last: assembled here first
        writer = XlsxWriter(kind.columns, filters.lang, tmp, title)
        for page in kind.pages(filters):
            writer.rows(page)
            done += len(page)
            if not _checkpoint(export_id, token, rows_done=done, rows_total=max(total, done)):
                return "taken_over"
        writer.close()
        tmp.seek(0)
        while block := tmp.read(storage.CHUNK_BYTES):
            sink.write(block)
            if sink.chunks % COPY_CHECKPOINT == 0 and not _checkpoint(export_id, token, chunks=sink.chunks):
                return "taken_over"
    sink.close()
    return _finish(export_id, token, done, sink)


def _finish(export_id: int, token: str, done: int, sink: storage.ChunkSink) -> str:
    job = db.session.scalars(select(ExportJob).where(ExportJob.id == export_id).with_for_update()
                             .execution_options(populate_existing=True)).one()
    if job.status != E.running.value or job.run_token != token:
        db.session.rollback()  # taken over meanwhile: the other run writes its own file
        return "taken_over"
    now = utcnow()
    JOBS.move(job, "finish", at=now, rows_done=done, rows_total=done, bytes=sink.size, chunks=sink.chunks,
              expires_at=now + timedelta(seconds=current_app.config["EXPORT_TTL_S"]), run_token=None,
              heartbeat_at=now)
    audit.record("export.ready", job, changes={"kind": job.kind, "format": job.format, "filters": job.filters,
                                               "rows": done, "bytes": sink.size, "staff_id": job.staff_id})
    db.session.commit()
    return E.ready.value


def _fail(export_id: int, token: str, error: str) -> None:
    job = db.session.get(ExportJob, export_id)
    if job is None or job.run_token != token:
        return
    try:
        if JOBS.move(job, "fail", guard=(ExportJob.run_token == token,), error=error[:64], run_token=None).applied:
            storage.drop(export_id)
            audit.record("export.fail", job, changes={"kind": job.kind, "error": error[:64],
                                                      "staff_id": job.staff_id})
    except InvalidTransition:  # finished meanwhile
        pass


# --- expiry -----------------------------------------------------------------------------------

def sweep() -> dict:
    """The periodic pass: delete files past EXPORT_TTL_S; start again the task of jobs
    queued or running without a sign of life for STALL_S (a lost start, a dead worker)."""
    now = utcnow()
    expired = each_in_own_transaction(
        select(ExportJob.id).where(ExportJob.status == E.ready.value, ExportJob.expires_at <= now),
        _expire_due, what="export expiry", load=ExportJob)
    stalled = db.session.scalars(select(ExportJob.id).where(
        ExportJob.status.in_(ACTIVE), ExportJob.heartbeat_at <= now - timedelta(seconds=STALL_S))).all()
    for export_id in stalled:
        start_task(EXPORT_TASK, export_id)
    return {"expired": expired, "restarted": len(stalled)}


def _expire_due(job: ExportJob) -> bool:
    if job.status != E.ready.value or job.expires_at > utcnow():
        return False
    return _expire(job)


def _expire(job: ExportJob) -> bool:
    if not JOBS.move(job, "expire", guard=(ExportJob.expires_at <= utcnow(),)).applied:
        return False
    storage.drop(job.id)
    audit.record("export.expire", job, changes={"kind": job.kind, "rows": job.rows_done,
                                                "downloads": job.downloads, "staff_id": job.staff_id})
    return True
