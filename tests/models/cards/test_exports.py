"""A batch's export as a background job: started by a POST that hashes nothing, followed
by its progress, downloaded again and again by the admin who started it (nobody else:
404), destroyed on confirmation or expiry — and never stored in plain text."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update

from app.crypto import cipher
from app.extensions import db
from models.audit import AuditLog
from models.base import utcnow
from models.cards import exports, passwords
from models.cards.tables import Card, CardExport
from tests.app.test_errors import assert_error
from tests.factories import bearer, make_staff, staff_token


def create(client, admin, sku, count=4):
    now = utcnow()
    resp = client.post("/api/admin/card-batches", headers=admin, json={
        "name": "大闸蟹提货券", "sku_id": sku.id, "units_per_card": 2, "card_count": count,
        "valid_from": (now - timedelta(hours=1)).isoformat(),
        "valid_until": (now + timedelta(days=90)).isoformat()})
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


def start(client, admin, batch_id, **kw):
    return client.post(f"/api/admin/card-batches/{batch_id}/export", headers=admin, **kw)


def job_url(export_id) -> str:
    return f"/api/admin/card-exports/{export_id}"


def rows_of(resp) -> list[dict]:
    return list(csv.DictReader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))


def plain(rows) -> list[str]:
    return [r["password"].replace(" ", "") for r in rows]


def job_row(export_id) -> CardExport:
    db.session.expire_all()
    return db.session.get(CardExport, export_id)


def database_text() -> str:
    """Every row of every table, as text: what a dump of the database would show."""
    db.session.expire_all()
    return "\n".join(str(tuple(row)) for table in db.metadata.sorted_tables
                     for row in db.session.execute(table.select()))


def test_export_runs_as_a_job_downloaded_again_until_confirmed(client, setup):
    _, sku, admin = setup
    batch_id = create(client, admin, sku)
    resp = start(client, admin, batch_id)
    assert resp.status_code == 202
    job = resp.json  # as answered: before the job ran
    assert (job["batch_id"], job["status"], job["cards_total"], job["cards_done"]) == (batch_id, "queued", 4, 0)
    assert resp.headers["Location"].endswith(job_url(job["id"]))

    state = client.get(job_url(job["id"]), headers=admin).json  # the job ran after the answer
    assert (state["status"], state["cards_done"], state["cards_total"], state["downloads"]) == ("ready", 4, 4, 0)
    ready = job_row(job["id"])
    assert ready.expires_at - ready.ready_at == timedelta(hours=24)

    first = client.get(f"{job_url(job['id'])}/csv", headers=admin)
    assert first.status_code == 200 and first.mimetype == "text/csv"
    assert first.headers["Cache-Control"] == "no-store" and "attachment" in first.headers["Content-Disposition"]
    rows = rows_of(first)
    db.session.expire_all()
    made = db.session.scalars(select(Card).where(Card.batch_id == batch_id).order_by(Card.seq)).all()
    assert [r["serial"] for r in rows] == [c.serial for c in made]
    assert all(r["batch_name"] == "大闸蟹提货券" and r["units"] == "2" and r["batch_id"] == str(batch_id)
               for r in rows)
    assert list(rows[0]) == ["batch_id", "batch_name", "serial", "password", "units", "valid_from", "valid_until"]
    pws = plain(rows)
    assert all(len(p) == 16 and p.isdigit() for p in pws) and len(set(pws)) == 4
    for card, pw in zip(made, pws):  # only hashes are kept on the cards, a salt each
        assert card.status == "issued" and pw not in card.password_hash
        assert card.password_hash.split("$")[:2] == ["pbkdf2_sha256", "1000"]
        assert passwords.verify(card.password_hash, pw)
    assert len({c.password_hash.split("$")[2] for c in made}) == 4
    assert client.get(f"{job_url(job['id'])}/csv", headers=admin).get_data() == first.get_data()  # again

    done = client.post(f"{job_url(job['id'])}/confirm", headers=admin)
    assert done.status_code == 200 and done.json["status"] == "delivered" and done.json["changed"] is True
    assert done.json["downloads"] == 2
    assert client.post(f"{job_url(job['id'])}/confirm", headers=admin).json["changed"] is False
    assert_error(client.get(f"{job_url(job['id'])}/csv", headers=admin), 410, "card_export_delivered")
    assert job_row(job["id"]).result_enc is None
    assert not any(p in database_text() for p in pws)  # the passwords are gone from the database

    # Once per batch: its admin is shown the same job, anybody else is refused.
    again = start(client, admin, batch_id)
    assert again.status_code == 200 and (again.json["id"], again.json["status"]) == (job["id"], "delivered")
    other = bearer(staff_token(client, make_staff("admin")))
    assert "exported_at" in assert_error(start(client, other, batch_id), 409, "card_batch_exported")["details"]
    actions = [(a.action, a.changes) for a in db.session.scalars(select(AuditLog).order_by(AuditLog.id))
               if a.action.startswith(("card_batch.export", "card_export"))]
    assert [a for a, _ in actions] == ["card_batch.export", "card_export.ready", "card_export.download",
                                       "card_export.download", "card_export.confirm"]
    assert actions[0][1] == {"cards": 4, "export_id": job["id"]}
    assert not any(p in str(a.changes) for a in db.session.scalars(select(AuditLog)) for p in pws)


def test_the_post_hashes_nothing_and_a_full_batch_completes_with_progress(client, app, setup, monkeypatch):
    _, sku, admin = setup
    count = app.config["CARD_BATCH_MAX_CARDS"]
    batch_id = create(client, admin, sku, count=count)
    seen = []  # the job's progress as committed, read before each chunk is hashed
    real_hash_many = passwords.hash_many

    def watching(chunk):
        with db.engine.connect() as conn:
            seen.append(conn.execute(text("SELECT status, cards_done FROM card_exports")).one())
        return real_hash_many(chunk)

    monkeypatch.setattr(passwords, "hash_many", watching)
    resp = start(client, admin, batch_id, buffered=False)  # answered; its job not run yet
    try:
        assert resp.status_code == 202 and resp.json["status"] == "queued"
        db.session.expire_all()
        # The request made no password: nothing hashed, nothing stored, nothing to show.
        assert db.session.scalar(select(func.count()).select_from(Card).where(Card.password_hash.is_not(None))) == 0
        assert (job_row(resp.json["id"]).status, job_row(resp.json["id"]).result_enc) == ("queued", None)
        assert seen == []
    finally:
        db.session.rollback()  # (SQLite: one writer; this test's reads must not hold it)
        resp.close()  # the response is sent: the job runs (in process, as after a real response)
    assert seen == [("running", done) for done in range(0, count, exports.CHUNK)]
    state = client.get(job_url(resp.json["id"]), headers=admin).json
    assert (state["status"], state["cards_done"], state["cards_total"]) == ("ready", count, count)
    rows = rows_of(client.get(f"{job_url(resp.json['id'])}/csv", headers=admin))
    assert len(rows) == count and len(set(plain(rows))) == count
    db.session.expire_all()
    hashes = dict(db.session.execute(select(Card.serial, Card.password_hash).where(Card.batch_id == batch_id)).all())
    for row in (rows[0], rows[count // 2], rows[-1]):
        assert passwords.verify(hashes[row["serial"]], row["password"].replace(" ", ""))


def test_lost_answers_cost_nothing(client, setup):
    """A client that timed out on the start or on a download asks again and gets the same
    job and the same passwords."""
    _, sku, admin = setup
    batch_id = create(client, admin, sku, count=3)
    first = start(client, admin, batch_id)  # say its answer never arrived
    retry = start(client, admin, batch_id)
    assert (first.status_code, retry.status_code) == (202, 200) and retry.json["id"] == first.json["id"]
    url = f"{job_url(first.json['id'])}/csv"
    lost = client.get(url, headers=admin, buffered=False)
    lost.close()  # the connection dropped before the body was read
    again = client.get(url, headers=admin)
    assert again.status_code == 200 and len(rows_of(again)) == 3
    assert rows_of(client.get(url, headers=admin)) == rows_of(again)
    assert job_row(first.json["id"]).status == "ready"


def test_only_the_admin_who_started_it_sees_it(client, setup):
    store, sku, admin = setup
    batch_id = create(client, admin, sku, count=2)
    export_id = start(client, admin, batch_id).json["id"]
    other = bearer(staff_token(client, make_staff("admin")))
    for method, suffix in (("GET", ""), ("GET", "/csv"), ("POST", "/confirm")):
        theirs = client.open(job_url(export_id) + suffix, method=method, headers=other)
        missing = client.open(job_url(export_id + 1000) + suffix, method=method, headers=other)
        assert_error(theirs, 404, "not_found")
        assert theirs.json["error"]["message"] == missing.json["error"]["message"]
        assert set(theirs.json["error"]["details"]) == set(missing.json["error"]["details"])
    for role in ("manager", "analyst", "clerk"):
        assert_error(client.get(job_url(export_id), headers=bearer(staff_token(client, make_staff(role, [store])))),
                     403, "forbidden")
    assert job_row(export_id).downloads == 0 and job_row(export_id).status == "ready"


def test_the_result_at_rest_is_encrypted_and_bound_to_its_job(client, setup):
    _, sku, admin = setup
    export_id = start(client, admin, create(client, admin, sku, count=3)).json["id"]
    other_id = start(client, admin, create(client, admin, sku, count=3)).json["id"]
    rows = rows_of(client.get(f"{job_url(export_id)}/csv", headers=admin))
    stored = job_row(export_id).result_enc
    assert stored.startswith("v2.") and not any(r["serial"] in stored for r in rows)
    dump = database_text()
    assert not any(p in dump for p in plain(rows))  # no plain password anywhere at rest
    job = job_row(export_id)
    assert exports._decrypt(job) == [(r["serial"], r["password"].replace(" ", "")) for r in rows]
    with pytest.raises(ValueError):  # another job's row can't read it
        cipher().decrypt(stored, aad=exports._aad(job_row(other_id)))


def test_an_expired_result_is_destroyed_by_the_sweep_or_on_reading(client, app, setup):
    _, sku, admin = setup
    swept = start(client, admin, create(client, admin, sku, count=2)).json["id"]
    read = start(client, admin, create(client, admin, sku, count=2)).json["id"]
    kept = start(client, admin, create(client, admin, sku, count=2)).json["id"]
    pws = plain(rows_of(client.get(f"{job_url(swept)}/csv", headers=admin)))
    pws += plain(rows_of(client.get(f"{job_url(read)}/csv", headers=admin)))
    db.session.execute(update(CardExport).where(CardExport.id.in_([swept, read]))
                       .values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()

    assert_error(client.get(f"{job_url(read)}/csv", headers=admin), 410, "card_export_expired")
    assert (job_row(read).status, job_row(read).result_enc) == ("expired", None)  # destroyed on reading
    db.session.rollback()
    result = app.extensions["celery"].tasks["tihuo.cards.export_sweep"].apply().result
    assert result == {"expired": 1, "restarted": 0}
    assert (job_row(swept).status, job_row(swept).result_enc) == ("expired", None)
    assert job_row(kept).status == "ready" and job_row(kept).result_enc
    assert client.get(job_url(swept), headers=admin).json["status"] == "expired"
    assert_error(client.post(f"{job_url(swept)}/confirm", headers=admin), 410, "card_export_expired")
    assert not any(p in database_text() for p in pws)


def test_confirming_needs_a_download(client, setup):
    _, sku, admin = setup
    export_id = start(client, admin, create(client, admin, sku, count=1)).json["id"]
    assert_error(client.post(f"{job_url(export_id)}/confirm", headers=admin), 409, "card_export_not_downloaded")
    assert job_row(export_id).status == "ready"


def test_a_failed_run_stores_nothing_and_starts_again(client, setup, monkeypatch):
    _, sku, admin = setup
    batch_id = create(client, admin, sku, count=3)
    real_hash_many = passwords.hash_many

    def broken(chunk):
        raise OSError("the worker ran out of something")

    monkeypatch.setattr(passwords, "hash_many", broken)
    export_id = start(client, admin, batch_id).json["id"]
    state = client.get(job_url(export_id), headers=admin).json
    assert (state["status"], state["error"]) == ("failed", "OSError")
    err = assert_error(client.get(f"{job_url(export_id)}/csv", headers=admin), 409, "card_export_failed")
    assert err["details"]["status"] == "failed"
    db.session.expire_all()
    assert set(db.session.execute(select(Card.status, Card.password_hash))) == {("new", None)}

    monkeypatch.setattr(passwords, "hash_many", real_hash_many)
    again = start(client, admin, batch_id)
    assert again.status_code == 200 and again.json["id"] == export_id and again.json["status"] == "queued"
    assert client.get(job_url(export_id), headers=admin).json["status"] == "ready"
    assert len(rows_of(client.get(f"{job_url(export_id)}/csv", headers=admin))) == 3


def test_a_batch_voided_while_exporting_gets_no_passwords(client, setup):
    _, sku, admin = setup
    batch_id = create(client, admin, sku, count=3)
    resp = start(client, admin, batch_id, buffered=False)
    try:
        assert client.post(f"/api/admin/card-batches/{batch_id}/void", headers=admin, json={}).json == {"voided": 3}
    finally:
        resp.close()  # the job runs now, and finds the batch void
    state = client.get(job_url(resp.json["id"]), headers=admin).json
    assert (state["status"], state["error"]) == ("failed", "card_batch_void")
    db.session.expire_all()
    assert set(db.session.execute(select(Card.status, Card.password_hash))) == {("void", None)}
    assert_error(start(client, admin, batch_id), 409, "card_batch_void")


def test_a_stalled_run_is_taken_over_and_the_old_one_stores_nothing(app, client, setup):
    _, sku, _ = setup
    member = make_staff("admin")
    admin = bearer(staff_token(client, member))
    batch_id = create(client, admin, sku, count=2)
    export_id = exports.start(member, batch_id)[0].id  # its task's start lost (never run)
    db.session.commit()
    assert job_row(export_id).status == "queued"
    old_token, cards = exports._claim(export_id)  # a run that claimed it, then its worker died
    db.session.commit()
    db.session.execute(update(CardExport).values(heartbeat_at=utcnow() - timedelta(seconds=exports.STALL_S + 1)))
    db.session.commit()

    assert app.extensions["celery"].tasks["tihuo.cards.export_sweep"].apply().result["restarted"] == 1
    assert job_row(export_id).status == "ready"
    served = rows_of(client.get(f"{job_url(export_id)}/csv", headers=admin))
    # The dead run wakes up: its token is gone, it stores nothing.
    assert exports._finish(export_id, old_token, cards, ["1" * 16] * 2, ["x"] * 2) == "ready"
    db.session.commit()
    assert rows_of(client.get(f"{job_url(export_id)}/csv", headers=admin)) == served
    db.session.expire_all()
    assert all(passwords.verify(h, pw.replace(" ", "")) for h, pw in zip(
        db.session.scalars(select(Card.password_hash).order_by(Card.seq)), (r["password"] for r in served)))
