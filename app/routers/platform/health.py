"""Liveness, readiness and metrics: what a load balancer and Prometheus ask."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from app.deps import app_state

router = APIRouter(tags=["operations"])


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
    """Ready when the database answers and its schema is at the latest migration; 503
    within a second otherwise, also while the database hangs."""
    problem = await app_state(request).readiness.problem()
    if problem is not None:
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
