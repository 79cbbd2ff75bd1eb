"""Coupons: templates, claiming under both limits, and what a coupon takes off an order.

Both limits hold under any concurrency without read-then-insert: the total by a guarded
update of the template's `issued` (`... WHERE issued < total_limit`, the row count
checked), the per-shopper limit by the unique (template, shopper, n-th) key — two claims
by one shopper at once that both counted n-1 cannot both insert the n-th. The guarded
update comes first (so every claim of a limited template queues on that one row, and a
claim that then fails rolls its count back with it); an unlimited template takes no count,
so its claims queue on nothing.

At checkout one coupon per order: its discount is capped at the eligible lines' subtotal
and at what keeps the order payable (≥ 1 fen), and split over the eligible lines by
largest remainder (models.money), so the line discounts add up to it exactly and none
exceeds its line.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app.errors import AppError, Conflict, InvalidRequest, NotFound
from app.extensions import db
from models.base import keyset_page, mirror, utcnow
from models.growth.status import COUPONS
from models.growth.tables import Coupon, CouponKind, CouponScope, CouponStatus, CouponTemplate
from models.money import largest_remainder
from models.state_machine import SYSTEM, Actor
from models.users import User

CHANNELS = ("claim", "new_customer", "invitation", "campaign", "order_gift", "points_exchange", "birthday")


class CouponSoldOut(AppError):
    status, code, message = 409, "coupon_sold_out", "All of these coupons have been handed out."


class CouponLimitReached(AppError):
    status, code, message = 409, "coupon_limit_reached", "You already have as many of these coupons as allowed."


class CouponNotClaimable(AppError):
    status, code, message = 409, "coupon_not_claimable", "This coupon cannot be claimed now."


class CouponNotApplicable(AppError):
    status, code, message = 422, "coupon_not_applicable", "This coupon cannot be used on this order."


@dataclass(frozen=True)
class Line:
    """An order line as a coupon sees it."""
    sku_id: int
    category: str | None
    qty: int
    price_fen: int

    @property
    def total_fen(self) -> int:
        return self.qty * self.price_fen


@dataclass(frozen=True)
class Quote:
    discount_fen: int
    line_discounts: list[int]  # one per line given, 0 for lines out of scope


# -- templates ------------------------------------------------------------------------------

def create_template(staff, fields: dict) -> CouponTemplate:
    """A template from validated fields (audited); refuses combinations that make no sense."""
    from models import audit

    kind = fields.get("kind")
    problems = {}
    if kind not in {k.value for k in CouponKind}:
        problems["kind"] = "unknown"
    if kind in ("fixed", "threshold") and fields.get("amount_fen", 0) <= 0:
        problems["amount_fen"] = "must be positive"
    if kind == "threshold" and fields.get("min_spend_fen", 0) <= fields.get("amount_fen", 0):
        problems["min_spend_fen"] = "must be above the amount taken off"
    if kind == "percent" and not 1 <= fields.get("percent_off", 0) <= 99:
        problems["percent_off"] = "1–99"
    if kind == "voucher" and not fields.get("sku_id"):
        problems["sku_id"] = "a voucher is for one unit of a SKU"
    if fields.get("scope", "all") not in {s.value for s in CouponScope}:
        problems["scope"] = "unknown"
    if not set(fields.get("channels") or ["claim"]) <= set(CHANNELS):
        problems["channels"] = f"among {', '.join(CHANNELS)}"
    if ("points_exchange" in (fields.get("channels") or [])) != (fields.get("points_cost", 0) > 0):
        problems["points_cost"] = "a points_exchange template costs points; no other does"
    if fields.get("valid_until") is None and not fields.get("valid_days"):
        problems["valid_until"] = "give an end date or a number of days from claiming"
    if fields.get("total_limit") is not None and fields["total_limit"] < 1:
        problems["total_limit"] = "at least 1"
    if fields.get("per_user_limit", 1) < 1:
        problems["per_user_limit"] = "at least 1"
    if problems:
        raise InvalidRequest("The coupon template is not valid.", details=problems)
    template = CouponTemplate(**{"channels": ["claim"], "scope_ids": [], **fields})
    db.session.add(template)
    db.session.flush()
    audit.record("coupon_template.create", template, actor=staff,
                 changes={k: v.isoformat() if isinstance(v, datetime) else v for k, v in fields.items()})
    return template


# -- claiming -------------------------------------------------------------------------------

def claim(user_id: int, template_id: int, *, channel: str = "claim", now: datetime | None = None,
          key: str | None = None) -> Coupon:
    """One coupon of the template for the shopper; the caller commits. `key`: the claim's
    Idempotency-Key (an exchange for points), unique per shopper."""
    now = now or utcnow()
    template = db.session.get(CouponTemplate, template_id)
    if template is None or not template.active:
        raise NotFound("No such coupon.", details={"template_id": template_id})
    if channel not in (template.channels or []):
        raise CouponNotClaimable(details={"channel": channel})
    if (template.valid_until is not None and template.valid_until <= now) or (
            template.valid_from is not None and template.valid_days is None and template.valid_until is not None
            and template.valid_until <= template.valid_from):
        raise CouponNotClaimable(details={"reason": "ended"})
    # One shopper's claims queue on their own row (as their orders do when a purchase limit
    # applies): the count below is then theirs to trust; the unique key stays the backstop.
    db.session.execute(select(User.id).where(User.id == user_id).with_for_update())
    _count_against_total(template)
    valid_from = max(now, template.valid_from) if template.valid_from else now
    ends = [t for t in (template.valid_until,
                        now + timedelta(days=template.valid_days) if template.valid_days else None) if t]
    for attempt in range(2):
        have = db.session.scalar(
            select(func.count()).select_from(Coupon)
            .where(Coupon.template_id == template_id, Coupon.user_id == user_id)
            .with_for_update(read=True) if attempt else
            select(func.count()).select_from(Coupon).where(Coupon.template_id == template_id,
                                                            Coupon.user_id == user_id))
        if have >= template.per_user_limit:
            raise CouponLimitReached(details={"per_user_limit": template.per_user_limit})
        coupon = Coupon(template_id=template_id, user_id=user_id, user_seq=have + 1, channel=channel,
                        status=CouponStatus.available.value, valid_from=valid_from, valid_until=min(ends),
                        claimed_at=now, claim_key=key)
        try:
            with db.session.begin_nested():
                db.session.add(coupon)
        except IntegrityError:
            # Another claim of this shopper took that n-th coupon first: count again, with a
            # locking read that sees it (a plain one may read the snapshot from before it).
            continue
        return coupon
    raise CouponLimitReached(details={"per_user_limit": template.per_user_limit})


class ExchangeKeyReused(AppError):
    status, code, message = 422, "idempotency_key_reused", "This Idempotency-Key was used for another exchange."


def exchange(user_id: int, template_id: int, *, key: str, now: datetime | None = None) -> Coupon:
    """A coupon bought with points (the points_exchange channel, at the template's
    points_cost), all or nothing in the caller's transaction: the claim's limits first, then
    the spend under the shopper's points lock (the order every checkout takes them in). The
    same key again returns the same coupon and spends nothing."""
    from models.growth import points

    # The shopper's claims queue on their row (as in `claim`), so the same key sent twice at
    # once finds the first exchange's coupon here rather than failing on the key.
    db.session.execute(select(User.id).where(User.id == user_id).with_for_update())
    done = db.session.scalars(select(Coupon).where(Coupon.user_id == user_id, Coupon.claim_key == key)).first()
    if done is not None:
        if done.template_id != template_id:
            raise ExchangeKeyReused(details={"template_id": done.template_id})
        return done
    template = db.session.get(CouponTemplate, template_id)
    if template is None or not template.active:
        raise NotFound("No such coupon.", details={"template_id": template_id})
    if "points_exchange" not in (template.channels or []) or template.points_cost <= 0:
        raise CouponNotClaimable(details={"channel": "points_exchange"})
    coupon = claim(user_id, template_id, channel="points_exchange", now=now, key=key)
    db.session.flush()
    points.spend(user_id, template.points_cost, ref=f"coupon:{coupon.id}", now=now, new_ref=True)
    return coupon


def grant_by_channel(user_id: int, channel: str, now: datetime | None = None) -> list[Coupon]:
    """Every open template of an automatic channel (new_customer at the first login,
    order_gift when an order completes) gives the shopper one coupon, within its limits: a
    template sold out or at its per-user limit is passed over, not an error."""
    now = now or utcnow()
    given = []
    for template in db.session.scalars(select(CouponTemplate).where(CouponTemplate.active.is_(True))
                                       .order_by(CouponTemplate.id).limit(200)):
        if channel not in (template.channels or []) or (template.valid_until and template.valid_until <= now):
            continue
        try:
            with db.session.begin_nested():
                given.append(claim(user_id, template.id, channel=channel, now=now))
        except AppError:
            continue
    return given


def _count_against_total(template: CouponTemplate) -> None:
    """A limited template's guarded count. Taken first: the coupon's insert takes a shared
    lock on the template's row (its foreign key), so two claims that inserted first would
    each wait for the other's to raise it — a deadlock. An unlimited template has no count
    to guard, so no row every claim waits for: its number handed out is counted when shown
    (`issued_now`)."""
    if template.total_limit is None:
        return
    if db.session.execute(update(CouponTemplate).where(
            CouponTemplate.id == template.id, CouponTemplate.issued < CouponTemplate.total_limit)
            .values(issued=CouponTemplate.issued + 1).execution_options(synchronize_session=False)).rowcount != 1:
        raise CouponSoldOut()


def issued_now(templates: list[CouponTemplate]) -> list[CouponTemplate]:
    """Shown with how many were handed out: the guarded count of a limited template, a
    count of its coupons for an unlimited one (the unique key's prefix: an index range)."""
    unlimited = [t.id for t in templates if t.total_limit is None]
    if unlimited:
        counts = dict(db.session.execute(select(Coupon.template_id, func.count()).where(
            Coupon.template_id.in_(unlimited)).group_by(Coupon.template_id)).all())
        for t in templates:
            if t.total_limit is None:
                mirror(t, {"issued": int(counts.get(t.id, 0))})  # shown, never written back
    return templates


# -- at checkout ----------------------------------------------------------------------------

def _in_scope(template: CouponTemplate, line: Line, store_id: int) -> bool:
    ids = template.scope_ids or []
    if template.scope == CouponScope.category.value:
        return line.category in ids
    if template.scope == CouponScope.sku.value:
        return line.sku_id in ids
    if template.scope == CouponScope.store.value:
        return store_id in ids
    return True


def quote(template: CouponTemplate, lines: list[Line], store_id: int, *, allow_free: bool = False) -> Quote:
    """What the template takes off these lines: capped at the eligible subtotal and so the
    order still costs ≥ 1 fen (`allow_free`: the card path, where an order may be free)."""
    eligible = [_in_scope(template, line, store_id) for line in lines]
    subtotal = sum(line.total_fen for line, ok in zip(lines, eligible) if ok)
    if subtotal == 0:
        raise CouponNotApplicable(details={"reason": "no_eligible_items"})
    if subtotal < template.min_spend_fen:
        raise CouponNotApplicable(details={"reason": "min_spend", "min_spend_fen": template.min_spend_fen,
                                           "eligible_fen": subtotal})
    if template.kind == CouponKind.percent.value:
        discount = subtotal * template.percent_off // 100
        if template.cap_fen is not None:
            discount = min(discount, template.cap_fen)
    elif template.kind == CouponKind.voucher.value:
        unit = next((line.price_fen for line, ok in zip(lines, eligible) if ok and line.sku_id == template.sku_id), None)
        if unit is None:
            raise CouponNotApplicable(details={"reason": "voucher_sku_missing", "sku_id": template.sku_id})
        discount = unit
        eligible = [ok and line.sku_id == template.sku_id for line, ok in zip(lines, eligible)]
        subtotal = sum(line.total_fen for line, ok in zip(lines, eligible) if ok)
    else:
        discount = template.amount_fen
    total = sum(line.total_fen for line in lines)
    discount = max(0, min(discount, subtotal, total if allow_free else total - 1))
    weights = [line.total_fen if ok else 0 for line, ok in zip(lines, eligible)]
    return Quote(discount, largest_remainder(discount, weights) if discount else [0] * len(lines))


def usable(coupon: Coupon, user_id: int, now: datetime | None = None,
           template: CouponTemplate | None = None) -> CouponTemplate:
    """The coupon's template, if the shopper may use the coupon now."""
    now = now or utcnow()
    if coupon is None or coupon.user_id != user_id:
        raise NotFound("No such coupon.")
    if coupon.status != CouponStatus.available.value:
        raise CouponNotApplicable(details={"reason": "status", "status": coupon.status})
    if not coupon.valid_from <= now < coupon.valid_until:
        raise CouponNotApplicable(details={"reason": "not_valid_now"})
    return template or db.session.get(CouponTemplate, coupon.template_id)


def with_template(coupon_id: int) -> tuple[Coupon | None, CouponTemplate | None]:
    """A coupon and its template in one read (checkout)."""
    row = db.session.execute(select(Coupon, CouponTemplate).join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
                             .where(Coupon.id == coupon_id)).first()
    return (row[0], row[1]) if row else (None, None)


def _in_use():
    raise Conflict("The coupon is already in use.")


def lock_for_order(coupon: Coupon, order_id: int, actor: Actor, writes=None) -> None:
    """The coupon is held by the order just placed (losing a race to another order: 409).
    With `writes`, its guarded update goes in the caller's batch and is checked after it
    runs."""
    if writes is not None:
        COUPONS.move_batched(coupon, "lock", writes, actor, on_lost=_in_use, order_id=order_id)
    elif not COUPONS.move(coupon, "lock", actor, order_id=order_id).applied:
        _in_use()


def on_order_paid(order_id: int) -> None:
    for coupon in db.session.scalars(select(Coupon).where(Coupon.order_id == order_id,
                                                          Coupon.status == CouponStatus.locked.value)):
        COUPONS.move(coupon, "use", SYSTEM)


def on_order_ended_unpaid(order_id: int) -> None:
    """Cancelled or expired unpaid: the coupon is free again (and no longer the order's)."""
    for coupon in db.session.scalars(select(Coupon).where(Coupon.order_id == order_id,
                                                          Coupon.status == CouponStatus.locked.value)):
        COUPONS.move(coupon, "release", SYSTEM, order_id=None)


def on_order_refunded_in_full(order_id: int, now: datetime | None = None) -> None:
    """Refunded in full: the coupon comes back if it is still valid (else it stays used)."""
    now = now or utcnow()
    for coupon in db.session.scalars(select(Coupon).where(Coupon.order_id == order_id,
                                                          Coupon.status == CouponStatus.used.value)):
        if coupon.valid_until > now:
            COUPONS.move(coupon, "give_back", SYSTEM, order_id=None)


def expire_due(now: datetime | None = None, batch: int = 500) -> int:
    """Available coupons past their end, a batch at a time ((status, valid_until) index);
    the caller commits."""
    now = now or utcnow()
    ids = list(db.session.scalars(select(Coupon.id).where(
        Coupon.status == CouponStatus.available.value, Coupon.valid_until <= now).limit(batch)))
    return COUPONS.move_all("expire", Coupon.id.in_(ids), Coupon.valid_until <= now, at=now) if ids else 0


# -- what shoppers and staff see ------------------------------------------------------------

def claimable(user_id: int, now: datetime | None = None, channel: str = "claim") -> list[dict]:
    """Templates open to claiming by hand (or to exchanging for points) now, with how many
    of each the shopper has."""
    now = now or utcnow()
    templates = [t for t in db.session.scalars(select(CouponTemplate).where(CouponTemplate.active.is_(True))
                                               .order_by(CouponTemplate.id.desc()).limit(200))
                 if channel in (t.channels or []) and (t.valid_until is None or t.valid_until > now)
                 and (t.total_limit is None or t.issued < t.total_limit)]
    have = dict(db.session.execute(select(Coupon.template_id, func.count()).where(
        Coupon.user_id == user_id, Coupon.template_id.in_([t.id for t in templates] or [-1]))
        .group_by(Coupon.template_id)).all())
    return [{"template": t, "have": int(have.get(t.id, 0)),
             "can_claim": int(have.get(t.id, 0)) < t.per_user_limit} for t in templates]


def mine(user_id: int, status: str | None, *, cursor: int | None, limit: int) -> list[Coupon]:
    query = select(Coupon).where(Coupon.user_id == user_id)
    if status:
        query = query.where(Coupon.status == status)
    return keyset_page(query, Coupon.id, cursor=cursor, limit=limit, newest_first=True)


def templates(*, cursor: int | None, limit: int) -> list[CouponTemplate]:
    return issued_now(keyset_page(select(CouponTemplate), CouponTemplate.id, cursor=cursor, limit=limit,
                                  newest_first=True))


def set_active(staff, template_id: int, active: bool) -> CouponTemplate:
    from models import audit

    template = db.session.get(CouponTemplate, template_id)
    if template is None:
        raise NotFound("No such coupon.", details={"template_id": template_id})
    if template.active != active:
        audit.record("coupon_template.update", template, actor=staff, changes={"active": [template.active, active]})
        template.active = active
    return issued_now([template])[0]
