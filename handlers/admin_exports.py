"""Merchant console: exports of orders, order items, payments, refunds, reconciliation
differences, the pickup and stock ledgers, card batches and the daily report, as CSV or
XLSX — a small one answered at once (`GET /api/admin/exports/<kind>.csv|.xlsx`), a large
one made by a background job (`POST /api/admin/exports`, follow it, download it)."""
from __future__ import annotations

from urllib.parse import quote

from apiflask import APIBlueprint, fields, validators
from flask import Response, stream_with_context, url_for
from marshmallow import ValidationError, validates_schema

from app.i18n import current_locale
from handlers.access import can, current_staff, staff_auth
from handlers.schemas import Cursor, Schema, StrictSchema, cursor_int, page, page_of
from models.exports import jobs, streamed
from models.exports.asking import FORMATS, LANGS, MAX_DAYS
from models.exports.kinds import KINDS
from models.exports.tables import ExportStatus
from models.exports.writers import MEDIA_TYPES

bp = APIBlueprint("admin_exports", __name__, url_prefix="/api/admin/exports", tag="Admin: exports")

_FILE = {200: {"description": "the file: CSV (UTF-8 with a BOM) or XLSX",
               "content": {MEDIA_TYPES["csv"]: {}, MEDIA_TYPES["xlsx"]: {}}}}
_RANGE = ("Days are Asia/Shanghai calendar days, both included (default: the last 30 days); a "
          "range is at most 366 days. Times in the file are Asia/Shanghai wall-clock times; "
          "money is in fen and in yuan. A text cell starting with = + - @ (or a tab or carriage "
          "return) gets a leading apostrophe so no spreadsheet runs it as a formula.")


def _check_range(data):
    first, last = data.get("from_"), data.get("to")
    if first and last and first > last:
        raise ValidationError("The range ends before it starts.", field_name="from")
    if first and last and (last - first).days >= MAX_DAYS:
        raise ValidationError("A range is at most 366 days.", field_name="from")


def _store_id(strict: bool) -> fields.Integer:
    return fields.Integer(load_default=None, strict=strict, validate=validators.Range(min=1),
                          metadata={"description": "one store (yours); default: every store you read"})


def _lang() -> fields.String:
    return fields.String(load_default=None, validate=validators.OneOf(LANGS), metadata={
        "description": "the headers' language; default: Accept-Language (zh*: Chinese, else English)"})


class _Range(StrictSchema):
    from_ = fields.Date(data_key="from", load_default=None,
                        metadata={"description": "first day (Asia/Shanghai), default: 29 days before `to`"})
    to = fields.Date(load_default=None, metadata={"description": "last day, default: today"})

    @validates_schema
    def _range(self, data, **kwargs):
        _check_range(data)


class FiltersIn(_Range):
    store_id = _store_id(strict=True)


class ExportQuery(_Range):
    store_id = _store_id(strict=False)  # a query string holds text
    lang = _lang()


class ExportIn(StrictSchema):
    kind = fields.String(required=True, validate=validators.OneOf(list(KINDS)))
    format = fields.String(load_default="csv", validate=validators.OneOf(FORMATS))
    filters = fields.Nested(FiltersIn, load_default=dict)
    lang = _lang()


class ExportFiltersOut(Schema):
    from_ = fields.String(data_key="from", attribute="from", metadata={"format": "date"})
    to = fields.String(metadata={"format": "date"})
    store_id = fields.Integer(allow_none=True)
    lang = fields.String()


class ExportOut(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"enum": list(KINDS)})
    format = fields.String(metadata={"enum": list(FORMATS)})
    status = fields.String(metadata={"enum": [s.value for s in ExportStatus], "description": (
        "queued → running → ready (download it until expires_at) → expired; failed kept nothing "
        "(start a new export)")})
    filters = fields.Nested(ExportFiltersOut)
    rows_total = fields.Integer(allow_none=True, metadata={
        "description": "rows to write, counted when the run began (null before); exact once ready"})
    rows_done = fields.Integer(metadata={"description": "rows written so far (progress)"})
    bytes = fields.Integer(metadata={"description": "the file's size, once ready"})
    downloads = fields.Integer()
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    ready_at = fields.DateTime(allow_none=True)
    expires_at = fields.DateTime(allow_none=True, metadata={"description": "the file is deleted then"})
    downloaded_at = fields.DateTime(allow_none=True)
    expired_at = fields.DateTime(allow_none=True)
    failed_at = fields.DateTime(allow_none=True)
    error = fields.String(allow_none=True)


class ExportsQuery(StrictSchema):
    cursor = Cursor()
    limit = fields.Integer(load_default=20, validate=validators.Range(1, 100))


ExportPage = page_of(ExportOut, "ExportPage")


def _asked(filters: dict, lang: str | None) -> dict:
    return {"first": filters.get("from_"), "last": filters.get("to"), "store_id": filters.get("store_id"),
            "lang": lang or current_locale()}


def _file(body, name: str, local_name: str, media_type: str, extra: dict) -> Response:
    return Response(stream_with_context(body), mimetype=media_type, headers={
        "Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(local_name)}",
        "Cache-Control": "no-store", **extra})


# --- small exports, straight away: one route per kind and format ------------------------------

def _streamed_route(kind, fmt: str) -> None:
    def view(query):
        out = streamed.stream(current_staff(), kind.name, fmt, **_asked(query, query["lang"]))
        return _file(out.body, out.name, out.local_name, out.media_type, {"X-Export-Rows": str(out.rows)})

    view.__name__ = f"export_{kind.name}_{fmt}"
    view = bp.doc(
        summary=f"{kind.summary}, as {fmt.upper()} (at most EXPORT_STREAM_MAX_ROWS rows)",
        description=f"{_RANGE} More rows than EXPORT_STREAM_MAX_ROWS (10 000): 409 "
                    "`export_too_large` — start a background export (POST /api/admin/exports).",
        responses={200: {"description": fmt.upper(), "content": {MEDIA_TYPES[fmt]: {}}},
                   409: "export_too_large: start a background export instead",
                   400: "invalid_request: a bad range, or store_id for an export not kept per store"},
    )(view)
    view = bp.input(ExportQuery, location="query", arg_name="query")(view)
    view = can(kind.ability)(view)
    view = bp.auth_required(staff_auth)(view)
    bp.get(f"/{kind.name}.{fmt}")(view)


for _kind in KINDS.values():
    for _fmt in FORMATS:
        _streamed_route(_kind, _fmt)


# --- background exports ---------------------------------------------------------------------

@bp.post("")
@bp.auth_required(staff_auth)
@can("session.own")
@bp.input(ExportIn, arg_name="body")
@bp.output(ExportOut, status_code=202)
@bp.doc(summary="Start a background export (any size): follow it, then download the file",
        description=f"{_RANGE} The export needs the ability of its rows too (403 without it): "
                    "orders.read (orders, order_items, pickup_ledger), payments.read (payments, refunds, "
                    "reconciliation_differences), stock.read (stock_ledger), cards.read (card_batches), "
                    "reports.read (report_daily). Only you can see and download it; the file is deleted "
                    "EXPORT_TTL_S (24 h) after it is ready.",
        responses={409: "export_busy: EXPORT_MAX_ACTIVE of your exports are queued or running",
                   400: "invalid_request: a bad range, or store_id for an export not kept per store"})
def start_export(body):
    job = jobs.start(current_staff(), body["kind"], body["format"], **_asked(body["filters"], body["lang"]))
    return job, 202, {"Location": url_for(".get_export", export_id=job.id)}


@bp.get("")
@bp.auth_required(staff_auth)
@can("session.own")
@bp.input(ExportsQuery, location="query", arg_name="query")
@bp.output(ExportPage)
@bp.doc(summary="Your background exports, newest first")
def list_exports(query):
    rows = jobs.list_jobs(current_staff(), cursor=cursor_int(query["cursor"]), limit=query["limit"] + 1)
    return page(rows, query["limit"])


@bp.get("/<int:export_id>")
@bp.auth_required(staff_auth)
@can("session.own")
@bp.output(ExportOut)
@bp.doc(summary="A background export's state and progress (only for the one who started it)")
def get_export(export_id):
    return jobs.get_job(current_staff(), export_id)


@bp.get("/<int:export_id>/download")
@bp.auth_required(staff_auth)
@can("session.own")
@bp.doc(summary="The file of a ready export (only for the one who started it), as often as needed",
        responses={**_FILE, 409: "export_not_ready, export_failed", 410: "export_expired"})
def download_export(export_id):
    out = jobs.download(current_staff(), export_id)
    return _file(out.body, out.name, out.local_name, out.media_type, {"Content-Length": str(out.size)})
