"""Daily reconciliation against the WeChat Pay trade bill: payments − refunds here must
equal the bill. Safe repairs are made (a payment the bill shows and a query confirms is
applied); every other difference goes into a report staff read, and an alert. A day
without a bill (WeChat Pay makes none for a day without payments) is nothing to
reconcile: `reconcile_day` says so to the job and the command alike."""
from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app import wechat
from app.extensions import db
from models import outbox
from models.payments.apply import apply_transaction
from models.payments.status import REPORTS
from models.payments.tables import Payment, ReconciliationReport, Refund
from wechat.pay.bill import parse_trade_bill
from wechat.pay.errors import WeChatPayError

CHINA = ZoneInfo("Asia/Shanghai")
NO_BILL = "NO_STATEMENT_EXIST"  # WeChat Pay's answer for a day without a bill
log = logging.getLogger(__name__)


def default_bill_date() -> date:
    """Yesterday in China: the newest complete bill."""
    return (datetime.now(CHINA) - timedelta(days=1)).date()


def reconcile_day(bill_date: str | date | None = None) -> dict:
    """Reconcile one day (default: yesterday in China): {bill_date, status, report_id} —
    status "no_bill" (no report) for a day WeChat Pay has no bill for."""
    day = date.fromisoformat(bill_date) if isinstance(bill_date, str) else bill_date or default_bill_date()
    try:
        report = reconcile(day)
    except WeChatPayError as exc:
        if exc.code == NO_BILL:
            return {"bill_date": day.isoformat(), "status": "no_bill"}
        raise
    if report.status != "ok":
        log.warning("reconciliation %s: %s difference(s) (report #%s)", day, len(report.differences), report.id)
    return {"bill_date": day.isoformat(), "status": report.status, "report_id": report.id,
            "differences": len(report.differences), "repairs": len(report.repairs)}


def paid_on(bill_date: date) -> dict[str, Payment]:
    """The day's money received here, by transaction: applied to its order (paid) or not,
    and refunded (held). A range read of ix_payments_status_paid_at: the day's payments,
    however long the history."""
    start, end = _bounds(bill_date)
    return {p.transaction_id: p for p in db.session.scalars(select(Payment).where(
        Payment.status.in_(("paid", "held")), Payment.paid_at >= start, Payment.paid_at < end))}


def refunded_on(bill_date: date) -> dict[str, Refund]:
    """The day's successful refunds (ix_refunds_status_succeeded_at)."""
    start, end = _bounds(bill_date)
    return {r.out_refund_no: r for r in db.session.scalars(select(Refund).where(
        Refund.status == "success", Refund.succeeded_at >= start, Refund.succeeded_at < end))}


def _bounds(bill_date: date) -> tuple[datetime, datetime]:
    start = datetime.combine(bill_date, time(0), CHINA)
    return start, start + timedelta(days=1)


def reconcile(bill_date: date) -> ReconciliationReport:
    raw = wechat.pay().trade_bill(bill_date, "ALL")
    rows, summary = parse_trade_bill(raw.decode("utf-8-sig"))
    ours_paid, ours_refunds = paid_on(bill_date), refunded_on(bill_date)

    differences, repairs = [], []
    bill_paid = {r["transaction_id"]: r for r in rows if r.get("trade_state") == "SUCCESS"}
    # Payment rows carry "0" in the refund columns; refund rows have trade_state REFUND.
    bill_refunds = {r["out_refund_no"]: r for r in rows if r.get("trade_state") == "REFUND"}
    for txid, row in bill_paid.items():
        mine = ours_paid.get(txid) or db.session.scalars(
            select(Payment).where(Payment.transaction_id == txid)).first()
        if mine is None:
            repaired = _repair_missing_payment(row)
            (repairs if repaired else differences).append(
                {"kind": "missing_here", "transaction_id": txid, "out_trade_no": row.get("out_trade_no"),
                 "bill_fen": row.get("total_fen"), **({"repaired": repaired} if repaired else {})})
        elif mine.paid_fen != row.get("total_fen"):
            differences.append({"kind": "amount_differs", "transaction_id": txid,
                                "ours_fen": mine.paid_fen, "bill_fen": row.get("total_fen")})
    for txid, mine in ours_paid.items():
        if txid not in bill_paid:
            differences.append({"kind": "missing_there", "transaction_id": txid,
                                "out_trade_no": mine.out_trade_no, "ours_fen": mine.paid_fen})
    for no, row in bill_refunds.items():
        mine = ours_refunds.get(no)
        if mine is None:
            differences.append({"kind": "refund_missing_here", "out_refund_no": no,
                                "bill_fen": row.get("refund_fen")})
        elif mine.amount_fen != row.get("refund_fen"):
            differences.append({"kind": "refund_amount_differs", "out_refund_no": no,
                                "ours_fen": mine.amount_fen, "bill_fen": row.get("refund_fen")})
    for no, mine in ours_refunds.items():
        if no not in bill_refunds:
            differences.append({"kind": "refund_missing_there", "out_refund_no": no,
                                "ours_fen": mine.amount_fen})

    report = ReconciliationReport(
        bill_date=bill_date, status=REPORTS.initial_status("differences" if differences else "ok"),
        summary={"bill_rows": len(rows), "bill_summary": summary, "paid_here": len(ours_paid),
                 "applied_here": sum(p.status == "paid" for p in ours_paid.values()),
                 "held_and_refunded_here": sum(p.status == "held" for p in ours_paid.values()),
                 "refunds_here": len(ours_refunds)},
        differences=differences, repairs=repairs)
    db.session.add(report)
    db.session.flush()
    if differences:
        outbox.enqueue("staff_alert", {"event": "reconciliation_differences", "report_id": report.id,
                                       "bill_date": bill_date.isoformat(), "count": len(differences)},
                       dedupe_key=f"reconciliation:{report.id}")
    return report


def _repair_missing_payment(row: dict) -> str | None:
    """The bill shows a payment we never applied: apply it only if WeChat Pay confirms it."""
    tx = wechat.pay().query(transaction_id=row["transaction_id"])
    if not tx or tx.get("trade_state") not in ("SUCCESS", "REFUND"):
        return None
    tx = {**tx, "trade_state": "SUCCESS"}  # a later refund doesn't undo that it was paid
    outcome = apply_transaction(tx, source="bill")
    return outcome if outcome in ("applied", "held", "refunded_late", "duplicate") else None
