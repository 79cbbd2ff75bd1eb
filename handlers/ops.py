"""Operations: liveness, readiness, metrics."""
from __future__ import annotations

from apiflask import APIBlueprint
from sqlalchemy import text

from app import metrics
from app.extensions import db, rds

bp = APIBlueprint("ops", __name__, tag="Operations")


@bp.get("/healthz")
@bp.doc(summary="The process is up")
def healthz():
    return {"status": "ok"}


@bp.get("/readyz")
@bp.doc(summary="The database and Redis answer", responses={503: "A dependency is down"})
def readyz():
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means "not ready", never a 500
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        rds().ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503


@bp.get("/metrics")
@bp.doc(hide=True)
def prometheus():
    return metrics.render()
