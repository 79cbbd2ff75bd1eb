"""Reports: figures per store and day (the dashboard's today and last 30 days, any range
compared with the period before it). Built from the analytics rollups (models/analytics):
the cost follows the range asked for, not the size of the history."""
from __future__ import annotations

from datetime import timedelta

from apiflask import APIBlueprint, fields, validators
from marshmallow import validates_schema, ValidationError

from handlers.access import can, current_staff, staff_auth
from handlers.schemas import Schema, StrictSchema
from models.analytics import calendar, reports
from models.analytics.figures import FIELDS
from models.staff.abilities import readable_store_ids

bp = APIBlueprint("admin_reports", __name__, url_prefix="/api/admin/reports", tag="Admin reports")

_DESCRIPTIONS = {
    "placed": "orders placed", "placed_fen": "what the placed orders asked for",
    "paid": "orders paid", "paid_fen": "GMV: what the paid orders paid",
    "cancelled": "orders cancelled", "cancelled_by_shopper": "of which by the shopper",
    "cancelled_by_staff": "of which by staff", "cancelled_by_system": "of which at the pay deadline",
    "ready": "pickup orders made ready", "picked_up": "orders picked up in full",
    "shipped": "orders shipped", "delivered": "orders delivered", "completed": "orders completed",
    "pickup_expired": "pickups that expired uncollected",
    "refunds": "refunds that succeeded", "refunded_fen": "what those refunds paid back",
    "net_fen": "paid_fen − refunded_fen", "average_order_fen": "paid_fen ÷ paid, rounded down",
}
_FIGURES = {name: fields.Integer(metadata={"description": _DESCRIPTIONS[name]})
            for name in (*FIELDS, "net_fen", "average_order_fen")}
Figures = Schema.from_dict(_FIGURES, name="ReportFigures")
DayFigures = Schema.from_dict({"day": fields.Date(), **_FIGURES}, name="ReportDayFigures")
StoreFigures = Schema.from_dict({"store_id": fields.Integer(), **_FIGURES}, name="ReportStoreFigures")


class ReportPeriod(Schema):
    from_ = fields.Date(data_key="from", attribute="from")
    to = fields.Date()
    totals = fields.Nested(Figures)


class DailyReport(Schema):
    from_ = fields.Date(data_key="from", attribute="from")
    to = fields.Date()
    as_of = fields.DateTime(metadata={"description": "when the live part (today) was read"})
    totals = fields.Nested(Figures)
    by_day = fields.Nested(DayFigures, many=True, metadata={"description": "every day of the range"})
    by_store = fields.Nested(StoreFigures, many=True,
                             metadata={"description": "the range's figures of each store with any"})
    previous = fields.Nested(ReportPeriod, metadata={"description": "the period of the same length just before"})


class DailyQuery(StrictSchema):
    from_ = fields.Date(data_key="from", load_default=None,
                        metadata={"description": "first day (Asia/Shanghai), default: 29 days before `to`"})
    to = fields.Date(load_default=None, metadata={"description": "last day, default: today"})
    store_id = fields.Integer(load_default=None, validate=validators.Range(min=1))

    @validates_schema
    def _range(self, data, **kwargs):
        first, last = data.get("from_"), data.get("to")
        if first and last and first > last:
            raise ValidationError("The range ends before it starts.", field_name="from")
        if first and last and (last - first).days >= reports.MAX_DAYS:
            raise ValidationError("A range is at most 366 days.", field_name="from")


@bp.get("/daily")
@bp.auth_required(staff_auth)
@can("reports.read")
@bp.input(DailyQuery, location="query", arg_name="query")
@bp.output(DailyReport)
@bp.doc(summary="Orders, payments, pickups, refunds and GMV per day and per store (my stores; "
                "all for admins and analysts), with the previous period",
        description="Days are Asia/Shanghai calendar days. Past days come from the rollups "
                    "(rebuilt hourly over ANALYTICS_ROLLUP_DAYS, so late payments and refunds "
                    "reach their day); today is live. A refund counts on the day it succeeded.")
def daily(query):
    last = query["to"] or calendar.today()
    first = query["from_"] or last - timedelta(days=29)
    if first > last:  # only `to` given, earlier than the default start: one day
        first = last
    stores = readable_store_ids(current_staff(), query["store_id"])
    return reports.daily(stores, first, last)
