"""Stores: where shoppers pick up. Location, pickup radius, opening hours, active flag."""
from __future__ import annotations

import math
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, CheckConstraint, String, false, select
from sqlalchemy.orm import Mapped, mapped_column

from app.errors import InvalidRequest, NotFound
from app.extensions import db
from models import audit
from models.base import MYSQL_TABLE, UTCDateTime, utcnow

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
EARTH_RADIUS_M = 6_371_000


class Store(db.Model):
    __tablename__ = "stores"
    __table_args__ = (
        CheckConstraint("lat BETWEEN -90 AND 90", name="lat_range"),
        CheckConstraint("lng BETWEEN -180 AND 180", name="lng_range"),
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(32))
    lat: Mapped[float]
    lng: Mapped[float]
    pickup_radius_m: Mapped[int | None]
    # Pickup (models/pickup): the least security level of its codes (1–3 = V1–V3; an
    # order's products may ask for more), hours a ready order waits before it expires
    # (NULL: PICKUP_EXPIRY_HOURS), and whether paid orders are ready at once when the
    # stock is on hand (no packing step).
    pickup_level: Mapped[int] = mapped_column(default=1, server_default="1")
    pickup_expiry_hours: Mapped[int | None]
    auto_ready: Mapped[bool] = mapped_column(default=False, server_default=false())
    # {"mon": [["09:00", "21:00"]], ...}, local time in `timezone`; a missing day is closed.
    opening_hours: Mapped[dict] = mapped_column(JSON, default=dict)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def open_now(self) -> bool:
        return self.is_open()

    def is_open(self, at: datetime | None = None) -> bool:
        return is_open(self.opening_hours, ZoneInfo(self.timezone), at or utcnow())

    def distance_m(self, lat: float, lng: float) -> int:
        return haversine_m(lat, lng, self.lat, self.lng)


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def validate_opening_hours(hours: dict) -> dict:
    """Return a normalised copy or raise InvalidRequest naming the bad entry."""
    if not isinstance(hours, dict):
        raise InvalidRequest("opening_hours must be an object keyed by day.")
    out = {}
    for day, ranges in hours.items():
        if day not in DAYS:
            raise InvalidRequest("Unknown day {day!r}.", params={"day": day}, details={"field": "opening_hours"})
        if not isinstance(ranges, list):
            raise InvalidRequest("opening_hours.{day} must be a list.", params={"day": day},
                                 details={"field": "opening_hours"})
        for r in ranges:
            if (not isinstance(r, list) or len(r) != 2
                    or not all(isinstance(t, str) and _HHMM.match(t) for t in r) or r[0] == r[1]):
                raise InvalidRequest(
                    "opening_hours.{day} entries are [\"HH:MM\", \"HH:MM\"] with different times.",
                    params={"day": day},
                    details={"field": "opening_hours", "value": r},
                )
        out[day] = [list(r) for r in ranges]
    return out


def is_open(hours: dict, tz: ZoneInfo, at: datetime) -> bool:
    local = at.astimezone(tz)
    now_min = local.hour * 60 + local.minute
    today, yesterday = DAYS[local.weekday()], DAYS[(local.weekday() - 1) % 7]
    for start, end in hours.get(today, []):
        s, e = _minutes(start), _minutes(end)
        if (s < e and s <= now_min < e) or (e < s and now_min >= s):
            return True
    # A range that closes after midnight (22:00–02:00) still covers the early hours.
    return any(
        _minutes(end) < _minutes(start) and now_min < _minutes(end)
        for start, end in hours.get(yesterday, [])
    )


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> int:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return round(2 * EARTH_RADIUS_M * math.asin(math.sqrt(a)))


def nearby_stores(lat: float | None, lng: float | None) -> list[tuple[Store, int | None]]:
    """Active stores, nearest first when a position is given (merchants have tens of
    stores, so sorting in Python is simpler and as fast as a spatial index)."""
    stores = db.session.scalars(select(Store).where(Store.active.is_(True)).order_by(Store.id)).all()
    if lat is None or lng is None:
        return [(s, None) for s in stores]
    return sorted(((s, s.distance_m(lat, lng)) for s in stores), key=lambda p: (p[1], p[0].id))


def all_stores() -> list[Store]:
    return list(db.session.scalars(select(Store).order_by(Store.id)))


def active_store(store_id: int) -> Store:
    """The store shoppers may see; an inactive one is as unknown as a missing one."""
    store = db.session.get(Store, store_id)
    if store is None or not store.active:
        raise NotFound("No such store.", details={"store_id": store_id})
    return store


def create_store(actor, fields: dict) -> Store:
    fields = dict(fields)
    if "opening_hours" in fields:
        fields["opening_hours"] = validate_opening_hours(fields["opening_hours"])
    _check_timezone(fields.get("timezone"))
    store = Store(**fields)
    db.session.add(store)
    db.session.flush()
    audit.record("store.create", store, actor=actor, changes=fields)
    return store


def update_store(actor, store: Store, fields: dict) -> Store:
    fields = dict(fields)
    if "opening_hours" in fields:
        fields["opening_hours"] = validate_opening_hours(fields["opening_hours"])
    _check_timezone(fields.get("timezone"))
    changed = audit.diff(store, fields)
    if changed:
        audit.record("store.update", store, actor=actor, changes=changed)
    return store


def _check_timezone(name: str | None) -> None:
    if name is None:
        return
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        raise InvalidRequest("Unknown time zone {name!r}.", params={"name": name}, details={"field": "timezone"}) from None

