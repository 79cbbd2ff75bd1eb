"""Rotating FIELD_ENCRYPTION_KEY (`flask keys rotate-fields`; docs/operations.md, "Key
rotation"): with the new key as FIELD_ENCRYPTION_KEY and the old one as
FIELD_ENCRYPTION_KEY_PREVIOUS (app/crypto.py reads what either made meanwhile), redo
everything the old key made:

- every encrypted column (`ENCRYPTED`): decrypted and encrypted again, with the same
  associated data (the row it is bound to);
- every lookup hash: users' phone and phone-tail hashes (from the phone, decrypted), the
  pickup codes' and return codes' hashes (from their seeds: a live code's digits change,
  and the shopper's page shows the new ones);
- the pickup verification ledger: each store's chain checked, then re-hashed
  (models/pickup/ledger.rechain).

In batches by primary key, each batch its own transaction with its rows locked (a
request writing one of them meanwhile waits, so neither write is lost). Rows already done
are recognised (a value names its key; a hash is recomputed to the same value) and
skipped, so the command can be stopped and run again. What it does not redo: sealed export
files (a day's life: EXPORT_TTL_S), mini-program pickup codes (a new one is drawn on the
next request), 快递100 push salts of parcels already subscribed (unless KUAIDI100_SALT is
set) — all accepted under either key while FIELD_ENCRYPTION_KEY_PREVIOUS stays set.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import or_, select

from app.crypto import cipher
from app.db import own_transaction
from app.extensions import db
from models.aftersales import codes as return_codes
from models.aftersales.tables import AfterSale
from models.cards.exports import _aad as card_export_aad
from models.cards.tables import CardExport
from models.complaints.sync import phone_aad
from models.complaints.tables import Complaint
from models.orders.placement import address_aad
from models.orders.tables import Order
from models.partners.tables import WebhookEndpoint
from models.partners.webhooks import _aad as webhook_aad
from models.pickup import ledger, payloads
from models.pickup.tables import PickupCode
from models.users import User, phone_tail_hash

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Encrypted:
    """A table's encrypted columns, what each is bound to, and the hashes kept beside them."""

    model: type
    columns: tuple[str, ...]
    aad: Callable[[object, str], bytes]
    rehash: Callable[[object], bool] | None = None


def _rehash_user(user: User) -> bool:
    if user.phone_enc is None:
        return False
    phone = user.phone
    hashes = (cipher().lookup_hash(phone), phone_tail_hash(phone))
    if (user.phone_hash, user.phone_tail_hash) == hashes:
        return False
    user.phone_hash, user.phone_tail_hash = hashes
    return True


ENCRYPTED = (
    Encrypted(User, ("phone_enc", "session_key_enc"), lambda user, column: user._aad(column.removesuffix("_enc")),
              rehash=_rehash_user),
    Encrypted(Order, ("address_enc",), lambda order, _: address_aad(order.order_no)),
    Encrypted(Complaint, ("payer_phone_enc",), lambda complaint, _: phone_aad(complaint.complaint_id)),
    Encrypted(WebhookEndpoint, ("secret_enc", "previous_secret_enc"), lambda endpoint, _: webhook_aad(endpoint.id)),
    Encrypted(CardExport, ("result_enc",), lambda job, _: card_export_aad(job)),
)


def rotate_fields(batch: int = 500, echo: Callable[[str], None] = log.info) -> dict:
    """Every pass in turn; {what: rows changed}, and `failed`: rows that could not be
    redone (a value no configured key opens, a broken ledger chain), named in the log."""
    done = {"failed": 0}
    for spec in ENCRYPTED:
        done[spec.model.__tablename__], failed = _reencrypt(spec, batch)
        done["failed"] += failed
        echo(f"{spec.model.__tablename__}: {done[spec.model.__tablename__]} row(s) redone"
             + (f", {failed} FAILED" if failed else ""))
    done["pickup_codes"] = _rehash_seeded(PickupCode, PickupCode.seed, _rehash_pickup_code, batch)
    echo(f"pickup_codes: {done['pickup_codes']} code hash(es) redone")
    done["after_sales"] = _rehash_seeded(AfterSale, AfterSale.return_code_seed, _rehash_return_code, batch)
    echo(f"after_sales: {done['after_sales']} return code hash(es) redone")
    chains = rows = 0
    for store_id in ledger.stores_with_chains():
        try:
            with own_transaction():
                count = ledger.rechain(store_id)
        except ledger.ChainBroken as exc:
            done["failed"] += 1
            echo(f"pickup ledger of store {store_id}: NOT re-hashed: {exc.problem}")
            continue
        if count is not None:
            chains, rows = chains + 1, rows + count
    done["pickup_ledger_rows"] = rows
    echo(f"pickup ledger: {chains} chain(s), {rows} row(s) re-hashed")
    return done


def _reencrypt(spec: Encrypted, batch: int) -> tuple[int, int]:
    model, key = spec.model, spec.model.__mapper__.primary_key[0]
    holding = or_(*(getattr(model, column).is_not(None) for column in spec.columns))
    changed = failed = 0
    after = None
    while True:
        with own_transaction():
            rows = db.session.scalars(select(model).where(holding, *(() if after is None else (key > after,)))
                                      .order_by(key).limit(batch).with_for_update()).all()
            for row in rows:
                try:
                    changed += _reencrypt_row(spec, row)
                except ValueError as exc:  # no configured key opens it: left as it is
                    failed += 1
                    log.error("%s %s: not re-encrypted: %s", model.__tablename__, getattr(row, key.name), exc)
        if len(rows) < batch:
            return changed, failed
        after = getattr(rows[-1], key.name)


def _reencrypt_row(spec: Encrypted, row) -> bool:
    c, changed = cipher(), False
    for column in spec.columns:
        token = getattr(row, column)
        if token is not None and not c.is_current(token):
            aad = spec.aad(row, column)
            setattr(row, column, c.encrypt(c.decrypt(token, aad=aad), aad=aad))
            changed = True
    if spec.rehash is not None:
        changed = spec.rehash(row) or changed
    return changed


def _rehash_seeded(model, seed_column, rehash: Callable[[object], bool], batch: int) -> int:
    changed, after = 0, 0
    while True:
        with own_transaction():
            rows = db.session.scalars(select(model).where(seed_column.is_not(None), model.id > after)
                                      .order_by(model.id).limit(batch).with_for_update()).all()
            changed += sum(1 for row in rows if rehash(row))
        if len(rows) < batch:
            return changed
        after = rows[-1].id


def _rehash_pickup_code(code: PickupCode) -> bool:
    digest = payloads.code_hash(payloads.digits(code.seed))
    if code.code_hash == digest:
        return False
    code.code_hash = digest
    if code.live_hash is not None:
        code.live_hash = digest
    return True


def _rehash_return_code(sale: AfterSale) -> bool:
    digest = return_codes.lookup_hash(return_codes.digits(sale.return_code_seed))
    if sale.return_code_hash == digest:
        return False
    sale.return_code_hash = digest
    return True
