"""Liveness, readiness, metrics, request ids."""

from __future__ import annotations

import socket

import httpx
from sqlalchemy import text

from app.db import Database
from app.main import create_app
from tests.conftest import make_settings


async def test_healthz_answers_without_auth(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "detail": None}


async def test_readyz_is_ok_on_a_migrated_database(committed_db: Database) -> None:
    app = create_app(make_settings(), database=committed_db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await c.get("/readyz")
    assert response.status_code == 200, response.text


async def test_readyz_is_503_when_schema_is_not_at_head(committed_db: Database) -> None:
    async with committed_db.transaction() as session:
        await session.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    app = create_app(make_settings(), database=committed_db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await c.get("/readyz")
    assert response.status_code == 503
    assert "older" in response.json()["detail"]


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    echoed = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    generated = await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert len(generated.headers["x-request-id"]) == 32


async def test_metrics_count_requests_by_route(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    body = (await client.get("/metrics")).text
    assert 'rapport_http_requests_total{method="GET",route="/healthz",status="200"}' in body
    assert "rapport_http_request_duration_seconds_bucket" in body
    assert "rapport_http_requests_in_flight" in body


async def test_docs_are_served_without_internet(client: httpx.AsyncClient) -> None:
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "/static-offline-docs/swagger-ui-bundle.js" in docs.text
    asset = await client.get("/static-offline-docs/swagger-ui-bundle.js")
    assert asset.status_code == 200
    assert len(asset.content) > 100_000
    redoc = await client.get("/redoc")
    assert "/static-offline-docs/redoc.standalone.js" in redoc.text
    assert (await client.get("/static-offline-docs/redoc.standalone.js")).status_code == 200


def _closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on: bound, then released, never listened to."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_readyz_is_503_when_the_database_is_unreachable() -> None:
    unreachable = Database.from_url(
        f"postgresql://rapport:unused@127.0.0.1:{_closed_port()}/rapport", pool_size=1
    )
    app = create_app(make_settings(), database=unreachable)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as c:
            response = await c.get("/readyz")
            alive = await c.get("/healthz")
    finally:
        await unreachable.dispose()
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert "database unreachable" in response.json()["detail"]
    assert alive.status_code == 200  # liveness does not depend on the database
