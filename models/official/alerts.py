"""Staff alerts as official-account template messages.

`deliver_staff_alert(payload)` is what the outbox dispatcher calls for a row of kind
`staff_alert`. It renders the event (alert_render), finds the bound recipients, and
sends one template message to each recipient not yet served for this alert.

Failures come out as wechat.errors types, for the dispatcher to classify: retry on
-1 / WeChatUnavailable, permanent on 47003 / 40037 (every recipient would fail alike),
40001 after our client's own refresh. A recipient WeChat refuses for good (43004 no
longer follows, 40003 unknown openid) is recorded as failed and skipped, so the others
still get the alert and a retry does not try them again.

Idempotent: every recipient served is recorded at once in `staff_alert_deliveries`
(unique per alert and staff member) and committed — the record of a message WeChat
already took must survive the caller rolling back after a later failure. So this
function manages its own transactions: it reads, commits (no lock is held while
WeChat is called; on SQLite any open transaction holds the one write lock), then
commits each record. Call it with no uncommitted work of your own in the session.
Between WeChat taking a message and the record, a crash can lose the record; the retry
then sends again with the same `client_msg_id`, which WeChat drops within 10 minutes.
"""
from __future__ import annotations

import hashlib
import json
import logging

from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from app import wechat
from app.db import own_transaction
from app.extensions import db
from app.metrics import WECHAT_CALLS
from models.base import utcnow
from models.official.alert_render import ROUTES, Alert, render
from models.official.status import ALERT_DELIVERIES
from models.official.tables import OfficialBinding, StaffAlertDelivery
from models.staff.abilities import Role
from models.staff.tables import Staff, staff_stores
from models.stock.tables import StockLevelEvent
from wechat.errors import WeChatAPIError, WeChatUnavailable
from wechat.subscribe_rules import KINDS, clean_text, coerce_value, keyword_type

log = logging.getLogger(__name__)

# WeChat refuses this recipient for good; other recipients are not affected.
RECIPIENT_GONE = frozenset({43004, 40003})
_MAX_MSGID = 2 ** 63 - 1


def deliver_staff_alert(payload: dict) -> None:
    event = payload.get("event")
    if not wechat.official_configured():
        # A deployment without one (it is optional): nothing to warn about per alert.
        log.info("staff alert %s not sent: no official account configured", event)
        return
    template = (current_app.config.get("WECHAT_OA_ALERT_TEMPLATES") or {}).get(event)
    if not template or not template.get("template_id"):
        log.info("staff alert %s not sent: no template configured for it", event)
        return
    alert = render(payload)
    if alert is None:
        log.warning("staff alert %s not sent: nothing to say (unknown event or subject gone)", event)
        return
    key = alert_key(payload)
    with own_transaction():  # the reads, done before WeChat is called: nothing held meanwhile
        served = set(db.session.scalars(
            select(StaffAlertDelivery.staff_id).where(StaffAlertDelivery.alert_key == key)))
        todo = [(staff_id, openid) for staff_id, openid in recipients(alert) if staff_id not in served]
    data = template_data(template.get("fields") or {}, alert.values)
    miniprogram = _miniprogram(template.get("page"), alert.values)
    client = wechat.official()
    for staff_id, openid in todo:
        try:
            msgid = client.send_template_message(openid, template["template_id"], data,
                                                 miniprogram=miniprogram,
                                                 client_msg_id=_client_msg_id(key, staff_id))
        except WeChatAPIError as exc:
            WECHAT_CALLS.labels("template_send", str(exc.errcode)).inc()
            if exc.errcode not in RECIPIENT_GONE:
                raise
            log.warning("staff alert %s to staff %s refused for good: %s", event, staff_id, exc.errcode)
            _record(key, staff_id, openid, event, "failed", error=f"errcode {exc.errcode}")
            continue
        except WeChatUnavailable:
            WECHAT_CALLS.labels("template_send", "unavailable").inc()
            raise
        WECHAT_CALLS.labels("template_send", "ok").inc()
        _record(key, staff_id, openid, event, "sent", msgid=msgid)
    if event == "stock_level" and payload.get("level_event_id"):
        _mark_level_event_notified(payload["level_event_id"])


def alert_key(payload: dict) -> str:
    """The alert's identity: its outbox row, or (called without one) its payload."""
    if payload.get("outbox_id") is not None:
        return f"outbox:{payload['outbox_id']}"
    body = json.dumps({k: v for k, v in payload.items() if k != "outbox_id"},
                      sort_keys=True, default=str, ensure_ascii=False)
    return "payload:" + hashlib.sha256(body.encode()).hexdigest()[:48]


def recipients(alert: Alert) -> list[tuple[int, str]]:
    """(staff_id, openid) of the bound, active staff this event goes to, by staff id."""
    store_roles, admins = ROUTES.get(alert.event, (frozenset(), False))
    who = []
    if store_roles and alert.store_id is not None:
        in_store = select(staff_stores.c.staff_id).where(staff_stores.c.store_id == alert.store_id)
        who.append(and_(Staff.role.in_(sorted(store_roles)), Staff.id.in_(in_store)))
    if admins:
        who.append(Staff.role == Role.admin)
    if not who:
        return []
    rows = db.session.execute(
        select(Staff.id, OfficialBinding.openid)
        .join(OfficialBinding, OfficialBinding.staff_id == Staff.id)
        .where(Staff.active.is_(True), or_(*who)).order_by(Staff.id))
    return [(r.id, r.openid) for r in rows]


def template_data(fields: dict, values: dict) -> dict:
    """{keyword: {"value": text}}: each value formatted by its keyword's type. A value
    that is missing or cannot be made valid is left out (the line shows empty) rather
    than sending what WeChat rejects with 47003 for the whole message."""
    data = {}
    for keyword, name in fields.items():
        value = values.get(name)
        if value is None or value == "":
            continue
        kind = keyword_type(keyword)
        try:
            text = coerce_value(kind, value) if kind in KINDS else clean_text(str(value))[:200]
        except ValueError as exc:
            log.warning("staff alert keyword %s left out: %s", keyword, exc)
            continue
        data[keyword] = {"value": text}
    return data


def _miniprogram(page: str | None, values: dict) -> dict | None:
    """Optional jump into the mini-program's staff pages: "page" in the template
    configuration, with {order_no}-style placeholders from the alert's values."""
    if not page:
        return None
    try:
        path = page.format_map({k: v for k, v in values.items() if isinstance(v, (str, int))})
    except (KeyError, ValueError, IndexError):
        return None
    return {"appid": current_app.config["WECHAT_APPID"], "pagepath": path}


def _client_msg_id(key: str, staff_id: int) -> str:
    return hashlib.sha1(f"{key}:{staff_id}".encode()).hexdigest()[:32]


def _record(key: str, staff_id: int, openid: str, event: str, status: str, *,
            msgid=None, error: str | None = None) -> None:
    row = {"alert_key": key, "staff_id": staff_id, "openid": openid, "event": event,
           "status": ALERT_DELIVERIES.initial_status(status), "error": error, "at": utcnow(),
           "msgid": msgid if isinstance(msgid, int) and 0 <= msgid <= _MAX_MSGID else None}
    try:
        with own_transaction():  # at once: see the module docstring
            db.session.execute(StaffAlertDelivery.__table__.insert(), row)
    except IntegrityError:
        pass  # another worker served (and recorded) this recipient meanwhile: rolled back


def _mark_level_event_notified(level_event_id: int) -> None:
    with own_transaction():
        db.session.execute(update(StockLevelEvent).where(
            StockLevelEvent.id == level_event_id, StockLevelEvent.notified_at.is_(None))
            .values(notified_at=utcnow()).execution_options(synchronize_session=False))
