"""Operations: liveness, readiness, metrics."""
from __future__ import annotations

from apiflask import APIBlueprint, fields
from flask import current_app

from app import db as database, metrics
from app.extensions import redis_probe
from handlers.schemas import Schema
from models import monitoring

bp = APIBlueprint("ops", __name__, tag="Operations")


class Readiness(Schema):
    status = fields.String(metadata={"enum": ["ok", "unavailable"]})
    checks = fields.Dict(keys=fields.String(), values=fields.String(),
                         metadata={"example": {"database": "ok", "redis": "error: TimeoutError"}})


@bp.get("/healthz")
@bp.doc(summary="The process is up (touches neither the database nor Redis)")
def healthz():
    return {"status": "ok"}


@bp.get("/readyz")
@bp.output(Readiness, description="Both answer")
@bp.doc(summary="The database and Redis answer", responses={503: {
    "description": "A dependency is down or stuck (the same shape: which one)",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}}}})
def readyz():
    # Each probe has its own connection and gives up after READY_TIMEOUT_S (1 s), so a
    # hung dependency is reported within about two seconds, not when its pool gives up.
    checks, timeout_s = {}, current_app.config["READY_TIMEOUT_S"]
    try:
        database.probe(timeout_s)
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means "not ready", never a 500
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        redis_probe().ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503


@bp.get("/metrics")
@bp.doc(hide=True)
def prometheus():
    return metrics.render(monitoring.gauges)
