"""``/healthz`` (the process answers) and ``/readyz`` (its deployments are warm and its
database answers); no key needed."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from podium.api.deps import installation

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    warmup = getattr(request.app.state, "warmup", None)
    if warmup is not None and not warmup.ready:
        return JSONResponse({"status": "warming", "serving": "loading models"}, status_code=503)
    inst = installation(request)
    try:
        with inst.db.read() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        body = {"status": "unavailable", "database": str(exc).splitlines()[0]}
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "ready", "database": inst.db.engine.dialect.name})
