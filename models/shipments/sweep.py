"""The parcels' periodic pass (the beat's `parcels-sweep`; `flask jobs run parcels-sweep`
by hand). Pushes do the tracking; this only catches what pushes missed:

- a parcel still moving that nobody (push or poll) has heard of for
  PARCEL_POLL_SILENT_HOURS is asked about with the real-time query (§10.3, a slow API:
  a few per pass, the longest-silent first), and the answer applied like a push;
- a parcel with no carrier event PARCEL_SILENT_ALERT_HOURS after it was shipped goes to
  the staff queue (kind silent);
- a parcel whose subscription 快递100 stopped (`abort`) is subscribed again once
  KUAIDI100_RESUBSCRIBE_AFTER_S have passed.
Each parcel is its own transaction."""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from app import wechat
from app.db import each_in_own_transaction
from models.base import utcnow
from models.shipments import issues, tracking
from models.shipments.parcels import _subscribe
from models.shipments.status import MOVING
from models.shipments.tables import Parcel
from wechat.errors import WeChatError

log = logging.getLogger(__name__)
POLL_PER_PASS = 20  # the real-time API is slow (about 1 request/s per account, UNCONFIRMED)


def sweep(now=None) -> dict:
    now, cfg = now or utcnow(), current_app.config
    moving = Parcel.status.in_(sorted(MOVING))
    polled = 0
    if wechat.kuaidi100() is not None and cfg.get("KUAIDI100_CUSTOMER"):
        silent = (select(Parcel.id).where(moving, Parcel.tracking_ended_at.is_(None),
                                          Parcel.last_heard_at <= now - timedelta(hours=cfg["PARCEL_POLL_SILENT_HOURS"]))
                  .order_by(Parcel.last_heard_at).limit(POLL_PER_PASS))
        polled = each_in_own_transaction(silent, lambda p: poll(p, now), what="parcel poll", load=Parcel)
    quiet = select(Parcel.id).where(Parcel.status == "pending",
                                    Parcel.created_at <= now - timedelta(hours=cfg["PARCEL_SILENT_ALERT_HOURS"])
                                    ).limit(200)
    flagged = each_in_own_transaction(
        quiet, lambda p: issues.open_issue(p, "silent", None) is not None, what="parcel silence", load=Parcel)
    aborted = select(Parcel.id).where(moving, Parcel.aborted_at.is_not(None), Parcel.tracking_ended_at.is_(None),
                                      Parcel.aborted_at <= now - timedelta(seconds=cfg["KUAIDI100_RESUBSCRIBE_AFTER_S"])
                                      ).limit(200)
    resubscribed = each_in_own_transaction(aborted, _resubscribe, what="parcel resubscribe", load=Parcel)
    return {"polled": polled, "silent": flagged, "resubscribed": resubscribed}


def poll(parcel: Parcel, now) -> bool:
    """Ask 快递100 about one parcel now; the answer is applied as a push would be."""
    parcel.last_heard_at = now  # asked: not asked again for another PARCEL_POLL_SILENT_HOURS
    try:
        answer = wechat.kuaidi100().query(company=parcel.kuaidi100_com, number=parcel.tracking_no)
    except WeChatError as exc:
        log.info("parcel %s: the real-time query failed (%s)", parcel.id, type(exc).__name__)
        return False
    tracking.apply(parcel.id, {"status": "polling", "lastResult": answer}, source="poll")
    return True


def _resubscribe(parcel: Parcel) -> bool:
    parcel.aborted_at = None
    _subscribe(parcel)
    return True
