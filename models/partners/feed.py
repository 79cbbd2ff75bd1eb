"""The pull feed: a client's events after a sequence number (the event's id), oldest first,
for a partner catching up after downtime, or one that prefers polling to webhooks.

A page scans at most SCAN events by the primary key whatever share of them are the
client's, so its cost is flat; `next_seq` says where to go on (the last event scanned).
Events younger than SETTLE are left for the next call: an id is taken at insert and seen
at commit, so a younger one might still be joined by an older id committing late."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from models.partners.orders import settled_before
from models.partners.tables import PartnerEvent

SCAN = 1000


def after(principal, seq: int, *, types: list[str] | None, limit: int) -> tuple[list[PartnerEvent], int]:
    settled = settled_before()
    rows = list(db.session.scalars(select(PartnerEvent).where(PartnerEvent.id > seq)
                                   .order_by(PartnerEvent.id).limit(SCAN)))
    picked, last = [], seq
    for e in rows:
        if e.created_at > settled or len(picked) == limit:
            break
        if principal.sees(e.store_id) and (not types or e.type in types):
            picked.append(e)
        last = e.id
    return picked, last
