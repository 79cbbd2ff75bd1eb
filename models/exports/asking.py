"""What an export request asks for, checked: the kind (and the ability it needs), the date
range, the stores the asker may read, the headers' language."""
from __future__ import annotations

from datetime import date, timedelta

from app.errors import InvalidRequest, NotFound
from models.analytics import calendar
from models.exports.kinds import KINDS, Filters, Kind
from models.staff.abilities import readable_store_ids, require

MAX_DAYS = 366
DEFAULT_DAYS = 30
FORMATS = ("csv", "xlsx")
LANGS = ("zh", "en")


def kind_of(name: str) -> Kind:
    kind = KINDS.get(name)
    if kind is None:
        raise NotFound("No such export.", details={"kind": name})
    return kind


def resolve(actor, kind_name: str, *, first: date | None = None, last: date | None = None,
            store_id: int | None = None, lang: str = "en") -> tuple[Kind, Filters]:
    """(kind, filters) for `actor`: 403 without the kind's ability or for a store they do
    not read; 400 for a bad range or a store filter on a kind not kept per store. Without
    a range: the last 30 days (today included)."""
    kind = kind_of(kind_name)
    require(actor, kind.ability)
    last = last or calendar.today()
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise InvalidRequest("The range ends before it starts.", details={"from": str(first), "to": str(last)})
    if (last - first).days >= MAX_DAYS:
        raise InvalidRequest("A range is at most 366 days.", details={"from": str(first), "to": str(last)})
    filters = Filters(first, last, None, store_id, lang if lang in LANGS else "en")
    kind.check(filters)
    if kind.per_store:
        stores = readable_store_ids(actor, store_id)
        filters = Filters(first, last, None if stores is None else tuple(stores), store_id, filters.lang)
    return kind, filters


def file_name(kind: Kind, filters: Filters, fmt: str) -> tuple[str, str]:
    """(an ASCII name, the name in the headers' language) for Content-Disposition."""
    span = f"{filters.first.isoformat()}_{filters.last.isoformat()}"
    return f"{kind.name}_{span}.{fmt}", f"{kind.title[filters.lang]}_{span}.{fmt}"
