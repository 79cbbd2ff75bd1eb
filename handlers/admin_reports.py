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
from models.analytics.flow import FUNNEL
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
    "pickup_visits": "hand-overs at the counter", "partial_visits": "of which left something to collect later",
    "new_buyers": "shoppers whose first paid order it was (per day)",
    "returning_buyers": "shoppers who had paid before (per day)",
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


def day_range(query) -> tuple:
    """The days asked for; by default the 30 days to today."""
    last = query["to"] or calendar.today()
    first = query["from_"] or last - timedelta(days=29)
    return min(first, last), last  # only `to` given, before the default start: that one day


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
    first, last = day_range(query)
    return reports.daily(readable_store_ids(current_staff(), query["store_id"]), first, last)


_STEP_FIELDS = {
    "samples": fields.Integer(metadata={"description": "orders that completed the step in the range"}),
    "p50_s": fields.Integer(allow_none=True, metadata={"description": "median seconds (±4.9 %)"}),
    "p90_s": fields.Integer(allow_none=True, metadata={"description": "90th percentile seconds (±4.9 %)"}),
}
StepStore = Schema.from_dict({
    "store_id": fields.Integer(), **_STEP_FIELDS,
    "usual_p90_s": fields.Integer(allow_none=True, metadata={
        "description": "what the p90 is compared with: the stores' median p90 (vs_stores) or the "
                       "store's own over the 28 days before (otherwise); null without enough samples"}),
    "bottleneck": fields.String(allow_none=True, metadata={
        "description": "vs_stores | vs_own_past: p90 over twice the usual; null: not flagged"}),
}, name="ReportStepStore")
StepOut = Schema.from_dict({
    "step": fields.String(metadata={"description": "pay | ready | pickup | ship | deliver"}),
    **_STEP_FIELDS, "by_store": fields.Nested(StepStore, many=True)}, name="ReportStep")
_FUNNEL_FIELDS = {name: fields.Integer() for name in FUNNEL}
FunnelOut = Schema.from_dict(_FUNNEL_FIELDS, name="ReportFunnel")
FunnelStore = Schema.from_dict({"store_id": fields.Integer(), **_FUNNEL_FIELDS}, name="ReportFunnelStore")


class FunnelReport(Schema):
    totals = fields.Nested(FunnelOut)
    by_store = fields.Nested(FunnelStore, many=True)


class FlowReport(Schema):
    from_ = fields.Date(data_key="from", attribute="from")
    to = fields.Date()
    as_of = fields.DateTime()
    steps = fields.Nested(StepOut, many=True)
    funnel = fields.Nested(FunnelReport, metadata={"description": "the orders placed in the range, by what became of them"})


@bp.get("/flow")
@bp.auth_required(staff_auth)
@can("reports.read")
@bp.input(DailyQuery, location="query", arg_name="query")
@bp.output(FlowReport)
@bp.doc(summary="Time in each step (p50, p90; bottleneck stores flagged) and the funnel of the "
                "orders placed in the range (my stores; all for admins and analysts)",
        description="Steps: pay (placed → paid), ready (paid → ready), pickup (ready → picked up), "
                    "ship (paid → shipped), deliver (shipped → delivered), counted on the day the "
                    "step completed. Percentiles come from log-bucketed digests, within ±4.9 % of "
                    "the exact value. Funnel: placed, paid, prepared, collected, kept; lost_unpaid, "
                    "lost_expired, lost_refunded; the rest are still on their way.")
def flow(query):
    first, last = day_range(query)
    return reports.flow(readable_store_ids(current_staff(), query["store_id"]), first, last)


class ProductsQuery(DailyQuery):
    sort = fields.String(load_default="units", validate=validators.OneOf(reports.PRODUCT_SORTS))
    limit = fields.Integer(load_default=50, validate=validators.Range(1, 200))


ProductRow = Schema.from_dict({
    "sku_id": fields.Integer(), "name": fields.String(allow_none=True), "spec": fields.String(allow_none=True),
    "orders": fields.Integer(metadata={"description": "paid orders with the SKU"}),
    "units": fields.Integer(metadata={"description": "units in those orders"}),
    "gmv_fen": fields.Integer(metadata={"description": "its share of what they paid (split exactly over the lines)"}),
    "refunded_fen": fields.Integer(metadata={"description": "its share of the refunds that succeeded in the range"}),
    "refund_rate": fields.Integer(metadata={"description": "refunded_fen ÷ gmv_fen, per mille"}),
    "closed_s": fields.Integer(metadata={"description": "seconds closed for online ordering at the stores, summed"}),
    "alerts": fields.Integer(metadata={"description": "stock alerts (into red, closed or critical)"}),
}, name="ReportProduct")


class ProductsReport(Schema):
    from_ = fields.Date(data_key="from", attribute="from")
    to = fields.Date()
    as_of = fields.DateTime()
    sort = fields.String()
    items = fields.Nested(ProductRow, many=True)


@bp.get("/products")
@bp.auth_required(staff_auth)
@can("reports.read")
@bp.input(ProductsQuery, location="query", arg_name="query")
@bp.output(ProductsReport)
@bp.doc(summary="SKUs ranked by units, GMV, refund rate or hours closed for online ordering, with "
                "their stock alerts (my stores; all for admins and analysts)")
def products(query):
    first, last = day_range(query)
    return reports.products(readable_store_ids(current_staff(), query["store_id"]), first, last,
                            sort=query["sort"], limit=query["limit"])


class CustomersQuery(StrictSchema):
    store_id = fields.Integer(load_default=None, validate=validators.Range(min=1))


HOLDING = {
    "units_held": fields.Integer(metadata={"description": "units of open pickup orders not yet collected"}),
    "card_units_held": fields.Integer(metadata={
        "description": "goods left on active pickup cards they redeemed from (units left × each unit's quantity)"}),
}
SegmentOut = Schema.from_dict({
    "segment": fields.String(metadata={"description": "dormant | new | champions | loyal | at_risk | regular"}),
    "customers": fields.Integer(), "monetary_fen": fields.Integer(metadata={"description": "what they paid in the window"}),
    "reachable": fields.Integer(metadata={"description": "of them, with a subscribe grant left"}),
    **HOLDING,
}, name="ReportSegment")
StyleOut = Schema.from_dict({
    "style": fields.String(metadata={"description": "stocks_up (several visits, or a card over weeks) | at_once | none"}),
    "customers": fields.Integer(), "pickup_orders": fields.Integer(), "visits": fields.Integer(),
    **HOLDING,
}, name="ReportPickupStyle")
CohortOut = Schema.from_dict({
    "month": fields.String(metadata={"description": "the month of the first paid order, YYYY-MM"}),
    "customers": fields.Integer(), "repeat": fields.Integer(metadata={"description": "with two or more paid orders"}),
    "repeat_rate": fields.Integer(metadata={"description": "repeat ÷ customers, per mille"}),
}, name="ReportCohort")
ScopeOut = Schema.from_dict({
    "store_id": fields.Integer(metadata={"description": "0: every store"}),
    "computed_at": fields.DateTime(allow_none=True, metadata={"description": "when the nightly job scored them"}),
    "segments": fields.Nested(SegmentOut, many=True), "pickup_styles": fields.Nested(StyleOut, many=True),
    "cohorts": fields.Nested(CohortOut, many=True),
}, name="ReportCustomerScope")
CustomersReport = Schema.from_dict({"scopes": fields.Nested(ScopeOut, many=True)}, name="CustomersReport")


@bp.get("/customers")
@bp.auth_required(staff_auth)
@can("reports.read")
@bp.input(CustomersQuery, location="query", arg_name="query")
@bp.output(CustomersReport)
@bp.doc(summary="Customer segments (RFM over ANALYTICS_RFM_DAYS, scored nightly), how many can be "
                "reached, pickup styles, repeat purchase by first-order month (every store for "
                "admins and analysts; each of my stores for managers)")
def customers(query):
    return reports.customers(readable_store_ids(current_staff(), query["store_id"]))
