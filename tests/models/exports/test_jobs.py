"""Background exports (models/exports/jobs.py) without HTTP: progress committed page by
page, a run taken over stores nothing more, a failed run keeps nothing, the busy guard,
and the file at rest (encrypted chunks bound to their job and place)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import func, select, update

from app.crypto import cipher
from app.extensions import db
from app.tasks import pending
from models.audit import AuditLog
from models.base import utcnow
from models.exports import jobs, kinds, storage
from models.exports.errors import ExportBusy
from models.exports.tables import ExportChunk, ExportJob
from models.staff.principal import StaffPrincipal
from tests.factories import make_product, make_shopper, make_staff, make_store, stock
from tests.models.exports.support import csv_rows, records
from tests.models.orders.test_placement import order_body


@pytest.fixture
def orders(ctx, client):
    """Seven orders at one store (all placed in the same second or two: keyset ties)."""
    store = make_store()
    sku = make_product("大米", skus=[("5kg", 8900)]).skus[0]
    stock(store, sku, 100)
    _, shopper = make_shopper()
    for n in range(7):
        resp = client.post("/api/orders", headers=shopper, json=order_body(store, (sku, 1), remark=f"#{n}"))
        assert resp.status_code == 201, resp.json
    return principal(make_staff("admin"))


def principal(member):
    return StaffPrincipal(member.id, member.role, [s.id for s in member.stores])


def file_of(job_id: int) -> bytes:
    job = db.session.get(ExportJob, job_id)
    return b"".join(storage.read(job.id, job.staff_id, job.chunks))


def started(actor, kind="orders", fmt="csv"):
    """A job started and committed; its task (queued in process after the commit) left
    for the test to run — or to lose."""
    job = jobs.start(actor, kind, fmt)
    db.session.commit()
    pending(current_app).clear()
    return job.id


def test_progress_is_committed_page_by_page(app, orders, monkeypatch):
    monkeypatch.setattr(kinds, "PAGE", 3)
    job_id = started(orders)
    seen = []
    real = jobs._checkpoint

    def watching(export_id, token, **values):
        ok = real(export_id, token, **values)
        row = db.session.execute(select(ExportJob.rows_done, ExportJob.rows_total, ExportJob.status)
                                 .where(ExportJob.id == export_id)).one()
        seen.append(tuple(row))
        return ok

    monkeypatch.setattr(jobs, "_checkpoint", watching)
    assert jobs.run(job_id) == {"export_id": job_id, "ran": True, "status": "ready"}
    assert seen == [(0, 7, "running"), (3, 7, "running"), (6, 7, "running"), (7, 7, "running")]
    rows = records(csv_rows(file_of(job_id)))
    assert [r["Remark"] for r in rows] == [f"#{n}" for n in range(7)]  # every row once, in order
    assert jobs.run(job_id) == {"export_id": job_id, "ran": False}  # done: a repeat does nothing


def test_the_file_is_encrypted_and_bound_to_its_place(app, orders, monkeypatch):
    monkeypatch.setattr(storage, "CHUNK_BYTES", 200)  # several chunks
    job_id = started(orders)
    jobs.run(job_id)
    job = db.session.get(ExportJob, job_id)
    blobs = db.session.execute(select(ExportChunk.seq, ExportChunk.data).where(ExportChunk.export_id == job_id)
                               .order_by(ExportChunk.seq)).all()
    assert len(blobs) == job.chunks > 2
    assert all("大米".encode() not in data and b"Order no." not in data for _, data in blobs)
    assert sum(len(d) for _, d in blobs) == job.bytes + 28 * job.chunks  # nonce and tag per chunk
    first, second = blobs[0].data, blobs[1].data
    with pytest.raises(ValueError):  # a chunk moved to another place does not decrypt
        cipher().unseal(first, aad=storage._aad(job_id, job.staff_id, 1))
    assert cipher().unseal(second, aad=storage._aad(job_id, job.staff_id, 1))
    assert file_of(job_id).startswith(b"\xef\xbb\xbfOrder no.")


def test_a_run_taken_over_stores_nothing_more(app, orders, monkeypatch):
    monkeypatch.setattr(kinds, "PAGE", 3)
    job_id = started(orders)
    old_token, _ = jobs._claim(job_id)
    db.session.commit()
    db.session.execute(update(ExportJob).values(heartbeat_at=utcnow() - timedelta(seconds=jobs.STALL_S + 1)))
    db.session.commit()
    assert jobs.run(job_id)["status"] == "ready"  # a new run took it over and finished
    assert not jobs._checkpoint(job_id, old_token, rows_done=1)  # the old one can store nothing
    job = db.session.get(ExportJob, job_id)
    assert (job.status, job.rows_done) == ("ready", 7) and len(records(csv_rows(file_of(job_id)))) == 7


def test_a_failed_run_keeps_nothing(app, orders, monkeypatch):
    monkeypatch.setattr(kinds, "PAGE", 3)
    monkeypatch.setattr(storage, "CHUNK_BYTES", 100)
    real = kinds.KINDS["orders"].pages

    def breaking(f):
        pages = real(f)
        yield next(pages)
        raise RuntimeError("the database went away")

    monkeypatch.setitem(kinds.KINDS, "orders", kinds.Kind(**{**vars(kinds.KINDS["orders"]), "pages": breaking}))
    job_id = started(orders)
    assert jobs.run(job_id)["status"] == "failed"
    job = db.session.get(ExportJob, job_id)
    assert (job.status, job.error, job.run_token) == ("failed", "RuntimeError", None)
    assert db.session.scalar(select(func.count()).select_from(ExportChunk)) == 0
    assert db.session.scalars(select(AuditLog.action).where(AuditLog.action == "export.fail")).all() == ["export.fail"]


def test_at_most_a_few_exports_of_one_member_run_at_once(app, orders, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_MAX_ACTIVE", 2)
    started(orders)
    started(orders, "order_items", "xlsx")
    with pytest.raises(ExportBusy) as refused:
        jobs.start(orders, "orders", "csv")
    assert refused.value.details == {"limit": 2}
    db.session.rollback()
    other = principal(make_staff("admin"))
    assert started(other)  # another member is not held up


def test_the_sweep_restarts_a_lost_start(app, orders):
    job_id = started(orders)  # its task never ran (the after-commit start was lost)
    db.session.execute(update(ExportJob).values(heartbeat_at=utcnow() - timedelta(seconds=jobs.STALL_S + 1)))
    db.session.commit()
    assert app.extensions["celery"].tasks["tihuo.exports.sweep"].apply().result == {"expired": 0, "restarted": 1}
    db.session.expire_all()
    assert db.session.get(ExportJob, job_id).status == "ready"

