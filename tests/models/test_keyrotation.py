"""Rotating FIELD_ENCRYPTION_KEY: while both keys are configured everything reads, `flask
keys rotate-fields` redoes what the old key made (in batches, resumable), and afterwards
the new key alone reads every value, finds users by phone, shows and verifies pickup
codes, and checks the verification ledger."""
from __future__ import annotations

import base64
from contextlib import contextmanager

import pytest
from Crypto.Cipher import AES
from sqlalchemy import select

from app.config import new_field_key
from app.crypto import FieldCipher, _Key
from app.extensions import db
from models.orders import queries
from models.partners import clients, webhooks
from models.partners.tables import WebhookEndpoint
from models.orders.tables import Order
from models.users import User, bind_phone, find_by_phone
from tests.factories import make_staff
from tests.models.orders.test_placement import ADDRESS, order_body
from tests.models.pickup.support import counter, ready_order, shown, verify  # noqa: F401 (a fixture)

PHONE = "13812345678"


def _key(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


@contextmanager
def keys(app, current: bytes, previous: bytes | None = None):
    """The app as restarted with these keys (FIELD_ENCRYPTION_KEY, _PREVIOUS)."""
    before = app.extensions["field_cipher"]
    app.extensions["field_cipher"] = FieldCipher(current, previous)
    try:
        yield app.extensions["field_cipher"]
    finally:
        app.extensions["field_cipher"] = before


def test_values_name_their_key_and_legacy_ones_still_read():
    old, new = _key(new_field_key()), _key(new_field_key())
    ring = FieldCipher(new, old)
    made_old = FieldCipher(old).encrypt("13812345678", aad=b"x")
    assert made_old.startswith(f"v2.{_Key(old).id}.") and not ring.is_current(made_old)
    assert ring.decrypt(made_old, aad=b"x") == "13812345678"
    # A value from before key ids ("v1."), made by the old key: tried with each key.
    nonce = b"\0" * 12
    sealed = AES.new(_Key(old).enc, AES.MODE_GCM, nonce=nonce)
    sealed.update(b"x")
    ct, tag = sealed.encrypt_and_digest(b"legacy")
    legacy = "v1." + base64.urlsafe_b64encode(nonce + ct + tag).decode()
    assert ring.decrypt(legacy, aad=b"x") == "legacy" and not ring.is_current(legacy)
    with pytest.raises(ValueError):
        FieldCipher(new).decrypt(legacy, aad=b"x")
    with pytest.raises(ValueError, match="not configured"):
        FieldCipher(new).decrypt(made_old, aad=b"x")
    assert FieldCipher(new).lookup_hashes("a") == [ring.lookup_hash("a")]
    assert ring.lookup_hashes("a") == [ring.lookup_hash("a"), FieldCipher(old).lookup_hash("a")]


def rotate(app, batch=2):
    return app.test_cli_runner().invoke(args=["keys", "rotate-fields", "--batch", str(batch)])


def test_rotation_end_to_end(app, client, counter):  # noqa: F811
    old = app.extensions["field_cipher"]._current.master
    new = _key(new_field_key())
    # Made under the old key: users with phones, a delivery address, a hand-over chained
    # into the ledger, and a live pickup code.
    users = []
    for n in range(3):
        user = User(openid=f"o-rotate-{n}")
        db.session.add(user)
        db.session.flush()
        bind_phone(user, {"purePhoneNumber": f"1381234567{n}", "countryCode": "86"})
        users.append(user.id)
    admin = make_staff("admin")
    partner, _ = clients.create(admin, name="ERP", scopes=["webhooks:manage"], store_ids=[counter.store.id])
    endpoint, secret = webhooks.create(admin, partner.id, "https://erp.example.com/hook", ["order.paid"])
    endpoint_id = endpoint.id
    db.session.commit()
    placed = client.post("/api/orders", headers=counter.shopper, json=order_body(
        counter.store, (counter.skus[0], 1), fulfillment="delivery", address=ADDRESS))
    assert placed.status_code == 201, placed.json
    delivery = placed.json["order_no"]
    handed = ready_order(client, counter, (counter.skus[0], 2))
    code = shown(client, counter, handed)["code"]
    assert verify(client, counter.clerk, code=code, items=[{"sku_id": counter.skus[0].id, "qty": 1}]).status_code == 200
    waiting = ready_order(client, counter, (counter.skus[1], 1))
    old_digits = shown(client, counter, waiting)["code"]

    with keys(app, new):  # the new key alone, before any rotation: the old values are closed to it
        db.session.expire_all()
        with pytest.raises(ValueError):
            db.session.get(User, users[0]).phone  # noqa: B018
        assert find_by_phone("13812345670") == []

    with keys(app, new, old) as ring:  # the rotation's configuration
        db.session.expire_all()
        assert [u.id for u in find_by_phone("13812345670")] == [users[0]]
        assert shown(client, counter, waiting)["code"] == old_digits  # kept until redone
        done = rotate(app)
        assert done.exit_code == 0, done.output
        assert "users: 3 row(s) redone" in done.output and "orders: 1 row(s) redone" in done.output
        assert "webhook_endpoints: 1 row(s) redone" in done.output
        assert "pickup ledger: 1 chain(s), 1 row(s) re-hashed" in done.output
        again = rotate(app)  # resumable: what is done is recognised and left
        assert again.exit_code == 0 and "users: 0 row(s)" in again.output and "pickup_codes: 0" in again.output
        current = ring.key_id

    with keys(app, new):  # the previous key gone: everything reads with the new one alone
        db.session.expire_all()
        stored = db.session.scalars(select(User.phone_enc).where(User.id.in_(users))).all()
        assert all(value.startswith(f"v2.{current}.") for value in stored)
        assert [db.session.get(User, user_id).phone for user_id in users] == [f"1381234567{n}" for n in range(3)]
        assert [u.id for u in find_by_phone("13812345672")] == [users[2]]
        order = db.session.scalars(select(Order).where(Order.order_no == delivery)).one()
        assert queries.delivery_address(order)["name"] == ADDRESS["name"]
        assert webhooks.secret_of(db.session.get(WebhookEndpoint, endpoint_id)) == secret
        ledger = app.test_cli_runner().invoke(args=["pickups", "verify-ledger"])
        assert ledger.exit_code == 0 and "intact (1 rows)" in ledger.output, ledger.output
        new_digits = shown(client, counter, waiting)["code"]
        assert new_digits != old_digits
        assert verify(client, counter.clerk, code=old_digits).status_code != 200
        finished = verify(client, counter.clerk, code=new_digits)
        assert finished.status_code == 200 and finished.json["status"] == "picked_up", finished.json
        assert app.test_cli_runner().invoke(args=["pickups", "verify-ledger"]).exit_code == 0


def test_the_previous_key_is_checked_at_start_up():
    from app.config import ConfigError, Settings

    key = new_field_key()
    for previous, message in ((key, "is the current key"), ("not-a-key", "must be base64"), ("c2hvcnQ", "32 bytes")):
        with pytest.raises(ConfigError, match=message):
            Settings(_env_file=None, FIELD_ENCRYPTION_KEY=key, FIELD_ENCRYPTION_KEY_PREVIOUS=previous)
    assert Settings(_env_file=None, FIELD_ENCRYPTION_KEY=key, FIELD_ENCRYPTION_KEY_PREVIOUS=new_field_key())
