"""Idempotency-Key on POST: replay, mismatch, in-flight."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy import func, select, text

from app.clock import FrozenClock
from app.db import Database
from app.main import create_app
from app.models.member import Member
from tests.conftest import T0, Tenant, make_settings, make_tenant

BODY = {"name": "Ida", "email": "ida@example.com"}


async def test_same_key_and_body_replays_the_first_response(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    headers = {**tenant.headers, "Idempotency-Key": "create-ida-1"}
    first = await client.post("/v1/members", json=BODY, headers=headers)
    second = await client.post("/v1/members", json=BODY, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert second.headers["location"] == first.headers["location"]
    async with db.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(Member).where(Member.workspace_id == tenant.id)
        )
    assert count == 1


async def test_same_key_other_body_is_422(client: httpx.AsyncClient, tenant: Tenant) -> None:
    headers = {**tenant.headers, "Idempotency-Key": "k-1"}
    await client.post("/v1/members", json=BODY, headers=headers)
    other = await client.post(
        "/v1/members", json={**BODY, "email": "other@example.com"}, headers=headers
    )
    assert other.status_code == 422
    assert other.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]


async def test_keys_are_per_workspace(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    key = {"Idempotency-Key": "shared-key"}
    a = await client.post("/v1/members", json=BODY, headers={**tenant.headers, **key})
    b = await client.post("/v1/members", json=BODY, headers={**other_tenant.headers, **key})
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]
    assert "idempotent-replayed" not in b.headers


async def test_failed_request_is_not_remembered(client: httpx.AsyncClient, tenant: Tenant) -> None:
    headers = {**tenant.headers, "Idempotency-Key": "k-2"}
    bad = await client.post("/v1/members", json={"name": "x"}, headers=headers)
    assert bad.status_code == 422
    good = await client.post("/v1/members", json={"name": "x"} | BODY, headers=headers)
    assert good.status_code == 201


async def test_key_expires_after_24_hours(
    client: httpx.AsyncClient, tenant: Tenant, clock: FrozenClock
) -> None:
    headers = {**tenant.headers, "Idempotency-Key": "k-3"}
    await client.post("/v1/members", json=BODY, headers=headers)
    clock.advance(timedelta(hours=25))
    again = await client.post("/v1/members", json=BODY, headers=headers)
    assert again.status_code == 409  # a new attempt: the email now exists
    assert "idempotent-replayed" not in again.headers


async def test_concurrent_request_with_key_in_flight_is_409(committed_db: Database) -> None:
    tenant = await make_tenant(committed_db)
    app = create_app(make_settings(), database=committed_db, clock=FrozenClock(T0))
    headers = {**tenant.headers, "Idempotency-Key": "in-flight"}
    lock_key = f"idem:{tenant.id}:in-flight"
    async with committed_db.engine.connect() as holder:
        # Another request holding the key: its transaction holds this advisory lock.
        await holder.execute(
            text("SELECT pg_advisory_lock(hashtextextended(:k, 0))"), {"k": lock_key}
        )
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            blocked = await client.post("/v1/members", json=BODY, headers=headers)
            assert blocked.status_code == 409
            assert (
                "in flight" in blocked.json()["detail"] or "processed" in blocked.json()["detail"]
            )
            await holder.execute(
                text("SELECT pg_advisory_unlock(hashtextextended(:k, 0))"), {"k": lock_key}
            )
            results = await asyncio.gather(
                *[client.post("/v1/members", json=BODY, headers=headers) for _ in range(4)]
            )
    statuses = sorted(r.status_code for r in results)
    assert 201 in statuses
    assert set(statuses) <= {201, 409}
    async with committed_db.sessionmaker() as session:
        count = await session.scalar(select(func.count()).select_from(Member))
    assert count == 1
