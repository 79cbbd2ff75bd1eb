"""The verification ledger: a hash chain per store that `flask pickups verify-ledger`
checks end to end, naming the first broken row."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

from app.extensions import db
from models.pickup.tables import PickupLedgerHead, PickupVerification
from tests.models.pickup.support import counter, make_counter, ready_order, shown, verify  # noqa: F401


def check(app):
    result = app.test_cli_runner().invoke(args=["pickups", "verify-ledger"])
    return result.exit_code, result.output


@pytest.fixture
def chain(app, client, counter):
    """Two stores with hand-overs: four at the first store, one at the second."""
    for _ in range(2):
        code = shown(client, counter, ready_order(client, counter, (counter.skus[0], 2)))["code"]
        for _ in range(2):
            handed = verify(client, counter.clerk, code=code, items=[{"sku_id": counter.skus[0].id, "qty": 1}])
            assert handed.status_code == 200
    other = make_counter(client)
    assert verify(client, other.clerk, code=shown(client, other, ready_order(client, other))["code"]).status_code == 200
    rows = db.session.scalars(select(PickupVerification).order_by(PickupVerification.id)).all()
    assert [(r.store_id, r.seq) for r in rows] == [(counter.store.id, n) for n in (1, 2, 3, 4)] + [(other.store.id, 1)]
    assert rows[1].prev_hash == rows[0].row_hash and rows[0].prev_hash == "0" * 64
    return rows


def test_an_intact_ledger_passes(app, chain):
    code, output = check(app)
    assert code == 0 and "intact (5 rows)" in output, output


@pytest.mark.parametrize("change", [
    {"items": [[1, 9]]}, {"staff_id": None}, {"order_id": None}, {"partial": False},
    {"verified_at": "shift"}, {"row_hash": "f" * 64},
])
def test_an_edited_row_is_named(app, chain, change):
    target = chain[2]  # the third row of the first store
    values = dict(change)
    if values.get("staff_id", 0) is None:
        values["staff_id"] = chain[4].staff_id  # another store's clerk did it, says the edit
    if values.get("order_id", 0) is None:
        values["order_id"] = chain[0].order_id
    if values.get("verified_at") == "shift":
        values["verified_at"] = target.verified_at - timedelta(hours=1)
    db.session.execute(update(PickupVerification).where(PickupVerification.id == target.id).values(**values))
    db.session.commit()
    code, output = check(app)
    assert code == 1, output
    assert f"BROKEN store={target.store_id} row id={target.id} seq=3" in output, output
    assert "1 broken chain(s)" in output


def test_a_deleted_row_is_named(app, chain):
    db.session.execute(delete(PickupVerification).where(PickupVerification.id == chain[1].id))
    db.session.commit()
    code, output = check(app)
    assert code == 1 and f"row id={chain[2].id} seq=3: seq 3 where 2 was expected" in output, output


def test_a_deleted_tail_is_found_by_the_head(app, chain):
    db.session.execute(delete(PickupVerification).where(PickupVerification.id == chain[3].id))
    db.session.commit()
    code, output = check(app)
    assert code == 1 and f"store={chain[3].store_id} seq=4" in output and "head says 4" in output, output


def test_a_rehashed_forgery_without_the_key_fails(app, chain):
    """Recomputing the chain with a plain SHA-256 (all an attacker without the key can do)
    still fails: the rows are HMACs under a key derived from FIELD_ENCRYPTION_KEY."""
    import hashlib
    import json

    target = chain[3]
    prev = chain[2].row_hash
    forged = hashlib.sha256(json.dumps([prev, target.store_id, 4, target.order_id, target.staff_id, [[1, 1]],
                                        True, target.verified_at.strftime("%Y-%m-%dT%H:%M:%SZ")]).encode()).hexdigest()
    db.session.execute(update(PickupVerification).where(PickupVerification.id == target.id)
                       .values(items=[[1, 1]], row_hash=forged))
    db.session.execute(update(PickupLedgerHead).where(PickupLedgerHead.store_id == target.store_id)
                       .values(last_hash=forged))
    db.session.commit()
    code, output = check(app)
    assert code == 1 and f"row id={target.id} seq=4: row_hash does not match" in output, output


def test_the_incremental_check_reads_only_rows_after_the_checkpoints(app, client, counter, chain):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["pickups", "verify-ledger", "--incremental"])
    assert first.exit_code == 0 and "intact (5 rows since the checkpoints)" in first.output, first.output
    again = runner.invoke(args=["pickups", "verify-ledger", "--incremental"])
    assert "intact (0 rows since the checkpoints)" in again.output, again.output
    code = shown(client, counter, ready_order(client, counter))["code"]
    assert verify(client, counter.clerk, code=code).status_code == 200
    assert "intact (1 rows since" in runner.invoke(args=["pickups", "verify-ledger", "--incremental"]).output
    # An edit after the checkpoint is found; one at the checkpoint row too.
    newest = db.session.scalars(select(PickupVerification).order_by(PickupVerification.id.desc())).first()
    db.session.execute(update(PickupVerification).where(PickupVerification.id == newest.id)
                       .values(row_hash="e" * 64))
    db.session.commit()
    broken = runner.invoke(args=["pickups", "verify-ledger", "--incremental"])
    assert broken.exit_code == 1 and f"store={newest.store_id} seq={newest.seq}: the checkpoint row changed" in broken.output


def test_an_edit_before_the_checkpoint_needs_the_full_check(app, chain):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["pickups", "verify-ledger", "--incremental"]).exit_code == 0
    db.session.execute(update(PickupVerification).where(PickupVerification.id == chain[1].id)
                       .values(items=[[1, 9]]))
    db.session.commit()
    assert runner.invoke(args=["pickups", "verify-ledger", "--incremental"]).exit_code == 0  # documented
    full = runner.invoke(args=["pickups", "verify-ledger"])
    assert full.exit_code == 1 and f"row id={chain[1].id} seq=2" in full.output
