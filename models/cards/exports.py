"""A batch's export: the printer's CSV, every card's serial and password — made by a
background job, kept encrypted until the admin who started it has it.

- `start` (the admin's POST): the batch's guarded `exported_at` lets one export through
  (one per batch, as ever); it writes a `queued` job and starts the task after the
  commit. Nothing slow happens in the request. The same admin asking again gets the same
  job (a failed one starts again); anybody else gets `card_batch_exported`.
- `run` (the task `tihuo.cards.export`): claims the job, makes the passwords (`secrets`)
  and hashes them (PBKDF2, slow on purpose) in chunks, committing its progress after each
  (`cards_done` of `cards_total`); then, in one transaction, the cards' hashes and the
  result — the serials and passwords, AES-256-GCM (`app.crypto`) with the job, batch and
  staff member bound in as associated data — are stored together: a password exists
  everywhere or nowhere, and a run that dies halfway stored nothing (a later run, or the
  sweep's re-kick, starts again with new passwords).
- `download` (again and again) and `confirm` are for the staff member who started it
  only: to anybody else the job does not exist (404). Confirming receipt destroys the
  result; so does CARD_EXPORT_TTL_S passing (`sweep`, and any read of a job past it).

A plain password is never stored, logged or audited; it lives in the task's memory, in
the ciphertext, and in the download's answer.

Lock order (docs/architecture.md, Lock order): the batch, then the job, then the cards.
"""
from __future__ import annotations

import csv
import io
import logging
import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import bindparam, func, select, update

from app.crypto import cipher
from app.db import each_in_own_transaction, own_transaction
from app.errors import NotFound
from app.extensions import db
from app.tasks import defer, start as start_task
from models import audit
from models.base import utcnow
from models.cards import passwords
from models.cards.batches import get_batch
from models.cards.errors import (BatchExported, BatchVoid, ExportDelivered, ExportExpired, ExportFailed,
                                 ExportNotDownloaded, ExportNotReady)
from models.cards.status import CARDS, EXPORTS
from models.cards.tables import Card, CardBatch, CardExport, CardStatus, ExportStatus
from models.state_machine import InvalidTransition

log = logging.getLogger(__name__)

EXPORT_TASK = "tihuo.cards.export"
CHUNK = 100        # cards hashed between two progress commits
STALL_S = 600      # a run silent this long (its worker died) is taken over
CARD_ROWS = Card.__table__
E = ExportStatus
CHINA = ZoneInfo("Asia/Shanghai")


# --- the admin's side ---------------------------------------------------------------------

def start(actor, batch_id: int) -> tuple[CardExport, bool]:
    """Start the batch's export, or — for the admin who started it — find it. Returns
    (job, created)."""
    staff_id = getattr(actor, "id", None)
    result = db.session.execute(
        update(CardBatch).where(CardBatch.id == batch_id, CardBatch.exported_at.is_(None),
                                CardBatch.voided_at.is_(None))
        .values(exported_at=utcnow(), exported_by=staff_id)
        .execution_options(synchronize_session=False))
    batch = get_batch(batch_id)  # 404 for an unknown batch
    db.session.refresh(batch)
    if result.rowcount != 1:
        job = db.session.scalars(select(CardExport).where(CardExport.batch_id == batch_id)).first()
        if batch.voided_at is not None:
            raise BatchVoid()
        if job is None or job.staff_id != staff_id:  # exported by someone else (or before jobs)
            raise BatchExported(details={"exported_at": batch.exported_at.isoformat()})
        if job.status == E.failed.value and EXPORTS.move(job, "retry", error=None, cards_done=0,
                                                           heartbeat_at=utcnow()).applied:
            audit.record("card_export.retry", job, actor=actor, changes={"batch_id": batch_id})
            defer(EXPORT_TASK, job.id)
        return job, False
    total = db.session.scalar(select(func.count()).select_from(Card).where(
        Card.batch_id == batch_id, Card.status == CardStatus.new.value))
    job = CardExport(batch_id=batch_id, staff_id=staff_id, status=EXPORTS.initial_status(E.queued),
                     cards_total=total, cards_done=0)
    db.session.add(job)
    db.session.flush()
    audit.record("card_batch.export", batch, actor=actor, changes={"cards": total, "export_id": job.id})
    defer(EXPORT_TASK, job.id)
    return job, True


def get_export(actor, export_id: int) -> CardExport:
    """The job, for the staff member who started it; to anybody else it does not exist.
    A ready result past its time is destroyed here (the sweep may not have run yet)."""
    job = db.session.get(CardExport, export_id)
    if job is None or job.staff_id != getattr(actor, "id", None):
        raise NotFound("No such card export.", details={"export_id": export_id})
    if job.status == E.ready.value and job.expires_at <= utcnow():
        _expire(job)
    return job


def download(actor, export_id: int) -> tuple[str, str]:
    """(file name, the printer's CSV) of a ready export: as often as asked until receipt
    is confirmed or it expires. Each download is audited (without a password)."""
    job = get_export(actor, export_id)
    _require_ready(job)
    batch = get_batch(job.batch_id)
    pairs = _decrypt(job)
    now = utcnow()
    db.session.execute(update(CardExport).where(CardExport.id == job.id)
                       .values(downloads=CardExport.downloads + 1,
                               downloaded_at=func.coalesce(CardExport.downloaded_at, now))
                       .execution_options(synchronize_session=False))
    db.session.refresh(job)
    audit.record("card_export.download", job, actor=actor,
                 changes={"batch_id": batch.id, "cards": len(pairs)})
    return f"card-batch-{batch.id}.csv", _csv(batch, pairs)


def confirm(actor, export_id: int) -> tuple[CardExport, bool]:
    """The admin has the CSV: the result is destroyed. Returns (job, changed); a second
    confirm changes nothing. Only a downloaded export can be confirmed."""
    job = get_export(actor, export_id)
    if job.status == E.delivered.value:
        return job, False
    _require_ready(job)
    if job.downloaded_at is None:
        raise ExportNotDownloaded()
    if not EXPORTS.move(job, "confirm", result_enc=None).applied:
        return job, False
    audit.record("card_export.confirm", job, actor=actor,
                 changes={"batch_id": job.batch_id, "downloads": job.downloads})
    return job, True


def _require_ready(job: CardExport) -> None:
    refusal = {E.queued.value: ExportNotReady, E.running.value: ExportNotReady, E.failed.value: ExportFailed,
               E.delivered.value: ExportDelivered, E.expired.value: ExportExpired}.get(job.status)
    if refusal is not None:
        raise refusal(details={"status": job.status, "cards_done": job.cards_done,
                               "cards_total": job.cards_total})


# --- the task -----------------------------------------------------------------------------

def run(export_id: int) -> dict:
    """The job's run (the task `tihuo.cards.export`), in transactions of its own. Safe to
    repeat: a job not queued (nor stalled) is left alone. Returns no secret: Celery logs it."""
    with own_transaction():
        claimed = _claim(export_id)
    if claimed is None:
        return {"export_id": export_id, "ran": False}
    token, cards = claimed
    try:
        plain = [passwords.new_password() for _ in cards]
        hashes: list[str] = []
        for at in range(0, len(cards), CHUNK):
            hashes += passwords.hash_many(plain[at:at + CHUNK])
            with own_transaction():
                if not _progress(export_id, token, len(hashes)):
                    return {"export_id": export_id, "ran": False}  # taken over: nothing stored
        with own_transaction():
            status = _finish(export_id, token, cards, plain, hashes)
    except Exception as exc:
        # Nothing of this run was stored (hashes and result go in one transaction): fail
        # the job, so its admin can start it again. Only the error's type is kept.
        db.session.rollback()
        log.error("card export %s failed: %s", export_id, type(exc).__name__)
        with own_transaction():
            _fail(export_id, token, type(exc).__name__)
        return {"export_id": export_id, "ran": True, "status": E.failed.value}
    return {"export_id": export_id, "ran": True, "status": status}


def _claim(export_id: int) -> tuple[str, list] | None:
    job = db.session.get(CardExport, export_id)
    if job is None:
        return None
    now, token = utcnow(), secrets.token_hex(16)
    if job.status == E.queued.value:
        if not EXPORTS.move(job, "start", run_token=token, heartbeat_at=now).applied:
            return None  # another run claimed it first
    elif job.status == E.running.value and job.heartbeat_at <= now - timedelta(seconds=STALL_S):
        taken = db.session.execute(
            update(CardExport).where(CardExport.id == job.id, CardExport.status == E.running.value,
                                     CardExport.run_token == job.run_token)
            .values(run_token=token, heartbeat_at=now, cards_done=0)
            .execution_options(synchronize_session=False))
        if taken.rowcount != 1:
            return None
        log.warning("card export %s: a stalled run taken over", export_id)
    else:
        return None
    cards = db.session.execute(select(Card.id, Card.serial).where(
        Card.batch_id == job.batch_id, Card.status == CardStatus.new.value).order_by(Card.seq)).all()
    return token, [(c.id, c.serial) for c in cards]


def _progress(export_id: int, token: str, done: int) -> bool:
    return db.session.execute(
        update(CardExport).where(CardExport.id == export_id, CardExport.run_token == token,
                                 CardExport.status == E.running.value)
        .values(cards_done=done, heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount == 1


def _finish(export_id: int, token: str, cards: list, plain: list[str], hashes: list[str]) -> str:
    """Hashes and result together, under the locks of the batch, the job, then the cards."""
    job = db.session.get(CardExport, export_id)
    batch = db.session.scalars(select(CardBatch).where(CardBatch.id == job.batch_id).with_for_update()).one()
    job = db.session.scalars(select(CardExport).where(CardExport.id == export_id)
                             .with_for_update().execution_options(populate_existing=True)).one()
    if job.status != E.running.value or job.run_token != token:
        return job.status  # taken over meanwhile: the other run stores its own
    if batch.voided_at is not None:
        EXPORTS.move(job, "fail", error="card_batch_void", run_token=None)
        return E.failed.value
    # Cards voided one by one since the claim get no password (and no line).
    live = set(db.session.scalars(select(Card.id).where(
        Card.batch_id == batch.id, Card.status == CardStatus.new.value).with_for_update()))
    rows = [(card, pw, h) for card, pw, h in zip(cards, plain, hashes) if card[0] in live]
    if rows:
        db.session.connection().execute(
            update(CARD_ROWS).where(CARD_ROWS.c.id == bindparam("card_id"),
                                    CARD_ROWS.c.status == CardStatus.new.value)
            .values(password_hash=bindparam("h")),
            [{"card_id": card[0], "h": h} for card, _, h in rows])
    CARDS.move_all("issue", Card.batch_id == batch.id, Card.password_hash.is_not(None))
    now = utcnow()
    ttl = timedelta(seconds=current_app.config["CARD_EXPORT_TTL_S"])
    result = "\n".join(f"{card[1]},{pw}" for card, pw, _ in rows)
    EXPORTS.move(job, "finish", at=now, result_enc=cipher().encrypt(result, aad=_aad(job)),
                 cards_done=len(rows), cards_total=len(rows), expires_at=now + ttl, run_token=None,
                 heartbeat_at=now)
    audit.record("card_export.ready", job, changes={"batch_id": batch.id, "cards": len(rows)})
    return E.ready.value


def _fail(export_id: int, token: str, error: str) -> None:
    job = db.session.get(CardExport, export_id)
    if job is not None and job.run_token == token:
        try:
            EXPORTS.move(job, "fail", guard=(CardExport.run_token == token,), error=error[:64], run_token=None)
        except InvalidTransition:  # finished or failed meanwhile
            pass


# --- expiry -------------------------------------------------------------------------------

def sweep() -> dict:
    """The periodic pass: destroy results past CARD_EXPORT_TTL_S; start again the task of
    jobs queued or running without a sign of life for STALL_S (a lost start, a dead
    worker)."""
    now = utcnow()
    expired = each_in_own_transaction(
        select(CardExport.id).where(CardExport.status == E.ready.value, CardExport.expires_at <= now),
        _expire_due, what="card export expiry", load=CardExport)
    stalled = db.session.scalars(select(CardExport.id).where(
        CardExport.status.in_([E.queued.value, E.running.value]),
        CardExport.heartbeat_at <= now - timedelta(seconds=STALL_S))).all()
    for export_id in stalled:
        start_task(EXPORT_TASK, export_id)
    return {"expired": expired, "restarted": len(stalled)}


def _expire_due(job: CardExport) -> bool:
    if job.status != E.ready.value or job.expires_at > utcnow():
        return False
    try:
        return _expire(job)
    except InvalidTransition:  # confirmed meanwhile
        return False


def _expire(job: CardExport) -> bool:
    if not EXPORTS.move(job, "expire", guard=(CardExport.expires_at <= utcnow(),), result_enc=None).applied:
        return False
    audit.record("card_export.expire", job, changes={"batch_id": job.batch_id, "downloads": job.downloads})
    return True


# --- the result ---------------------------------------------------------------------------

def _aad(job: CardExport) -> bytes:
    """What the ciphertext is bound to: copied to another row, it does not decrypt."""
    return f"card_exports:{job.id}:batch:{job.batch_id}:staff:{job.staff_id}".encode()


def _decrypt(job: CardExport) -> list[tuple[str, str]]:
    text = cipher().decrypt(job.result_enc, aad=_aad(job))
    return [tuple(line.split(",", 1)) for line in text.split("\n") if line]


def _csv(batch: CardBatch, rows: list[tuple[str, str]]) -> str:
    out = io.StringIO()
    out.write("\ufeff")  # a BOM, so the printer's spreadsheet reads the Chinese names right
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["batch_id", "batch_name", "serial", "password", "units", "valid_from", "valid_until"])
    start_at, end_at = (_china(t) for t in (batch.valid_from, batch.valid_until))
    for serial, password in rows:
        grouped = " ".join(password[i:i + 4] for i in range(0, len(password), 4))
        writer.writerow([batch.id, batch.name, serial, grouped, batch.units_per_card, start_at, end_at])
    return out.getvalue()


def _china(t: datetime) -> str:
    return t.astimezone(CHINA).isoformat()
