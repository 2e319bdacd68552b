"""Liveness, readiness and metrics: what a load balancer and Prometheus ask."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from app.deps import app_state
from app.services.platform import health

router = APIRouter(tags=["operations"])
log = logging.getLogger("rapport.health")


class Health(BaseModel):
    status: str
    detail: str | None = None


@router.get("/healthz", operation_id="healthz", summary="Check liveness")
async def healthz() -> Health:
    """The process is alive and serving; says nothing about the database."""
    return Health(status="ok")


@router.get(
    "/readyz",
    operation_id="readyz",
    summary="Check readiness",
    responses={503: {"model": Health, "description": "Not ready to take traffic."}},
)
async def readyz(request: Request) -> JSONResponse:
    """Ready when the database answers and its schema is at the latest migration."""
    state = app_state(request)
    problem = await health.readiness_problem(state.db)
    if problem is not None:
        log.warning("not ready: %s", problem)
        return JSONResponse(Health(status="unavailable", detail=problem).model_dump(), 503)
    return JSONResponse(Health(status="ok").model_dump())


@router.get(
    "/metrics",
    operation_id="metrics",
    summary="Read Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}},
)
async def metrics() -> Response:
    """Prometheus metrics: request counts, latency histogram, in-flight gauge, workers."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
