"""The merchant's side of pickup cards: batches, serials, activation on sale, voiding,
reading — each audited, none with a password. The export: test_exports.py."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from models.audit import AuditLog
from models.base import utcnow
from models.cards import passwords
from models.cards.tables import Card
from tests.factories import bearer, make_staff, staff_token
from tests.app.test_errors import assert_error


def iso(dt: datetime) -> str:
    return dt.isoformat()


def batch_body(sku, **over):
    now = utcnow()
    return {"name": "大闸蟹提货券", "sku_id": sku.id, "qty_per_unit": 1, "units_per_card": 2,
            "card_count": 5, "valid_from": iso(now - timedelta(hours=1)),
            "valid_until": iso(now + timedelta(days=90)), "channels": "both", **over}


def create(client, admin, sku, **over):
    resp = client.post("/api/admin/card-batches", headers=admin, json=batch_body(sku, **over))
    assert resp.status_code == 201, resp.json
    return resp.json


def export(client, admin, batch_id):
    """Start the export; in process its job runs once the answer is sent (the passwords
    are made by the time this returns)."""
    return client.post(f"/api/admin/card-batches/{batch_id}/export", headers=admin)


def parse(resp) -> list[dict]:
    return list(csv.DictReader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))


def cards_of(batch_id) -> list[Card]:
    db.session.expire_all()
    return db.session.scalars(select(Card).where(Card.batch_id == batch_id).order_by(Card.seq)).all()


def test_create_makes_cards_with_unique_serials(client, setup):
    store, sku, admin = setup
    batch = create(client, admin, sku, card_count=200, store_id=store.id)
    assert batch["card_count"] == 200 and batch["store_id"] == store.id and batch["exported_at"] is None
    assert batch["counts"]["new"] == 200 and batch["counts"]["locked"] == 0
    made = cards_of(batch["id"])
    serials = [c.serial for c in made]
    assert len(set(serials)) == 200 and [c.seq for c in made] == list(range(1, 201))
    assert all(len(s) == 12 and s.isdigit() and s.startswith(f"{batch['id']:04d}") for s in serials)
    assert serials == sorted(serials)  # printed in order
    assert all(c.password_hash is None and c.status == "new" and c.units_left == 2 for c in made)
    # A second batch never collides with the first.
    other = create(client, admin, sku, card_count=200)
    assert not set(serials) & {c.serial for c in cards_of(other["id"])}


@pytest.mark.parametrize("change, status, code", [
    ({"valid_until": "later"}, 400, "invalid_request"),
    ({"valid_until": "2030-01-01T00:00:00"}, 400, "invalid_request"),       # no time zone
    ({"card_count": 0}, 400, "invalid_request"),
    ({"card_count": 2001}, 400, "invalid_request"),                          # over CARD_BATCH_MAX_CARDS
    ({"units_per_card": 0}, 400, "invalid_request"),
    ({"qty_per_unit": 1000}, 400, "invalid_request"),
    ({"channels": "drone"}, 400, "invalid_request"),
    ({"name": ""}, 400, "invalid_request"),
    ({"sku_id": "1"}, 400, "invalid_request"),
    ({"evil": True}, 400, "invalid_request"),
    ({"sku_id": 999999}, 404, "not_found"),
    ({"store_id": 999999}, 404, "not_found"),
])
def test_batch_validation(client, setup, change, status, code):
    _, sku, admin = setup
    assert_error(client.post("/api/admin/card-batches", headers=admin, json=batch_body(sku, **change)),
                 status, code)
    assert db.session.scalars(select(Card)).first() is None


def test_batch_window_must_make_sense(client, setup):
    _, sku, admin = setup
    now = utcnow()
    err = assert_error(client.post("/api/admin/card-batches", headers=admin, json=batch_body(
        sku, valid_from=iso(now + timedelta(days=2)), valid_until=iso(now + timedelta(days=1)))),
        400, "invalid_request")
    assert err["details"]["field"] == "valid_until"
    assert_error(client.post("/api/admin/card-batches", headers=admin, json=batch_body(
        sku, valid_from=iso(now - timedelta(days=9)), valid_until=iso(now - timedelta(days=1)))),
        400, "invalid_request")


def test_hash_records_its_iterations(app, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "CARD_PASSWORD_ITERATIONS", 1500)
    stored = passwords.hash_password("1234567812345678")
    monkeypatch.setitem(app.config, "CARD_PASSWORD_ITERATIONS", 3000)  # raised later
    assert stored.split("$")[1] == "1500" and passwords.verify(stored, "1234567812345678")
    assert not passwords.verify(stored, "1234567812345679")
    assert not passwords.verify("md5$1$x$y", "1234567812345678")


def test_activation_needs_the_export(client, setup):
    _, sku, admin = setup
    batch = create(client, admin, sku, card_count=3)
    assert_error(client.post(f"/api/admin/card-batches/{batch['id']}/activate", headers=admin, json={}),
                 409, "card_batch_not_exported")


def test_activate_ranges_single_cards_and_whole_batches(client, setup):
    _, sku, admin = setup
    batch = create(client, admin, sku, card_count=10)
    export(client, admin, batch["id"])
    serials = [c.serial for c in cards_of(batch["id"])]
    url = f"/api/admin/card-batches/{batch['id']}/activate"
    resp = client.post(url, headers=admin, json={"from_serial": serials[2], "to_serial": serials[5]})
    assert resp.json == {"activated": 4, "skipped": 0}
    resp = client.post(f"/api/admin/cards/{serials[0]}/activate", headers=admin)
    assert resp.json == {"activated": 1, "skipped": 0}
    assert client.post(f"/api/admin/cards/{serials[0]}/activate", headers=admin).json == {
        "activated": 0, "skipped": 1}
    assert [c.status for c in cards_of(batch["id"])] == ["active", "issued"] + ["active"] * 4 + ["issued"] * 4
    assert client.post(url, headers=admin, json={}).json == {"activated": 5, "skipped": 5}
    assert client.get(f"/api/admin/card-batches/{batch['id']}", headers=admin).json["counts"]["active"] == 10
    actions = [a.action for a in db.session.scalars(select(AuditLog).where(AuditLog.target_type == "card_batches"))]
    assert actions == ["card_batch.create", "card_batch.export"] + ["card_batch.activate"] * 4


def test_activation_range_errors(client, setup):
    _, sku, admin = setup
    batch, other = create(client, admin, sku, card_count=3), create(client, admin, sku, card_count=1)
    export(client, admin, batch["id"])
    serials = [c.serial for c in cards_of(batch["id"])]
    url = f"/api/admin/card-batches/{batch['id']}/activate"
    assert_error(client.post(url, headers=admin, json={"from_serial": serials[2], "to_serial": serials[0]}),
                 400, "invalid_request")
    foreign = cards_of(other["id"])[0].serial
    assert_error(client.post(url, headers=admin, json={"from_serial": serials[0], "to_serial": foreign}),
                 404, "not_found")
    assert_error(client.post("/api/admin/card-batches/99999/activate", headers=admin, json={}), 404, "not_found")
    assert_error(client.post("/api/admin/cards/000000000000/activate", headers=admin), 404, "not_found")
    assert_error(client.post(url, headers=admin, json={"from": 1}), 400, "invalid_request")


def test_void_cards_and_batches(client, setup):
    _, sku, admin = setup
    batch = create(client, admin, sku, card_count=3)
    export(client, admin, batch["id"])
    client.post(f"/api/admin/card-batches/{batch['id']}/activate", headers=admin, json={})
    first = cards_of(batch["id"])[0].serial
    resp = client.post(f"/api/admin/cards/{first}/void", headers=admin, json={"reason": "顾客挂失"})
    assert resp.status_code == 200 and resp.json["status"] == "void" and resp.json["changed"] is True
    assert resp.json["void_reason"] == "顾客挂失"
    assert client.post(f"/api/admin/cards/{first}/void", headers=admin, json={}).json["changed"] is False
    resp = client.post(f"/api/admin/card-batches/{batch['id']}/void", headers=admin, json={"reason": "印错"})
    assert resp.json == {"voided": 2}
    assert {c.status for c in cards_of(batch["id"])} == {"void"}
    assert client.get(f"/api/admin/card-batches/{batch['id']}", headers=admin).json["voided_at"]
    assert_error(client.post(f"/api/admin/card-batches/{batch['id']}/activate", headers=admin, json={}),
                 409, "card_batch_void")
    unexported = create(client, admin, sku, card_count=1)
    client.post(f"/api/admin/card-batches/{unexported['id']}/void", headers=admin, json={})
    assert_error(export(client, admin, unexported["id"]), 409, "card_batch_void")


def test_a_used_up_card_is_not_voided(client, setup):
    from sqlalchemy import update

    _, sku, admin = setup
    batch = create(client, admin, sku, card_count=1)
    export(client, admin, batch["id"])
    card = cards_of(batch["id"])[0]
    db.session.execute(update(Card).values(status="used_up", units_left=0))
    db.session.commit()
    assert_error(client.post(f"/api/admin/cards/{card.serial}/void", headers=admin, json={}), 409, "card_used_up")


def test_lists_and_reads(client, setup):
    _, sku, admin = setup
    first, second = create(client, admin, sku, card_count=3), create(client, admin, sku, card_count=2)
    page = client.get("/api/admin/card-batches?limit=1", headers=admin).json
    assert [b["id"] for b in page["items"]] == [second["id"]] and page["next_cursor"]
    page = client.get(f"/api/admin/card-batches?limit=1&cursor={page['next_cursor']}", headers=admin).json
    assert [b["id"] for b in page["items"]] == [first["id"]] and page["next_cursor"] is None
    listed = client.get(f"/api/admin/cards?batch_id={first['id']}&status=new", headers=admin).json
    assert len(listed["items"]) == 3 and all("password_hash" not in c for c in listed["items"])
    assert client.get("/api/admin/cards?locked=true", headers=admin).json["items"] == []
    serial = listed["items"][0]["serial"]
    detail = client.get(f"/api/admin/cards/{serial}", headers=admin).json
    assert detail["redemptions"] == [] and detail["batch_id"] == first["id"]
    assert_error(client.get("/api/admin/cards/000000000000", headers=admin), 404, "not_found")
    assert_error(client.get("/api/admin/cards?status=lost", headers=admin), 400, "invalid_request")


def test_roles(client, setup):
    store, sku, admin = setup
    batch = create(client, admin, sku, card_count=1)
    manager = bearer(staff_token(client, make_staff("manager", [store])))
    analyst = bearer(staff_token(client, make_staff("analyst")))
    clerk = bearer(staff_token(client, make_staff("clerk", [store])))
    for reader in (manager, analyst):
        assert client.get("/api/admin/card-batches", headers=reader).status_code == 200
        assert client.get(f"/api/admin/card-batches/{batch['id']}", headers=reader).status_code == 200
    assert_error(client.get("/api/admin/card-batches", headers=clerk), 403, "forbidden")
    for writer_only in (manager, analyst, clerk):
        assert_error(client.post("/api/admin/card-batches", headers=writer_only, json=batch_body(sku)),
                     403, "forbidden")
        assert_error(export(client, writer_only, batch["id"]), 403, "forbidden")
    assert_error(client.get("/api/admin/card-batches"), 401, "unauthorized")
    assert cards_of(batch["id"])[0].status == "new"


def test_production_hashes_card_passwords_strongly():
    from app.config import ConfigError, Settings
    from tests.app.test_config import PROD

    assert Settings(_env_file=None, **PROD).CARD_PASSWORD_ITERATIONS >= 20_000
    with pytest.raises(ConfigError, match="CARD_PASSWORD_ITERATIONS"):
        Settings(_env_file=None, **PROD, CARD_PASSWORD_ITERATIONS=5_000)


def test_demo_seed_makes_a_redeemable_card_shown_once(client, ctx):
    from app.demo import seed
    from models.stores import Store
    from tests.factories import make_shopper

    created = seed()
    db.session.commit()
    card = created["demo_card"]
    assert created["card_batches"] == 1 and len(card["password"].replace(" ", "")) == 16
    store_id = db.session.scalars(select(Store.id).order_by(Store.id)).first()
    _, alice = make_shopper()
    resp = client.post("/api/cards/redeem", headers=alice, json={
        "serial": card["serial"], "password": card["password"], "fulfillment": "pickup", "store_id": store_id})
    assert resp.status_code == 201, resp.json
    again = seed()
    assert again["card_batches"] == 0 and "demo_card" not in again
