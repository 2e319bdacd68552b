"""Idempotency-Key on POST: replay, mismatch, in-flight."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel
from sqlalchemy import func, select, text

from app.clock import FrozenClock
from app.db import Database
from app.main import create_app
from app.models.platform.common import secret_fields
from app.models.platform.idempotency import IdempotencyRecord
from app.models.platform.member import Member
from app.services.platform.idempotency import REDACTED
from app.services.webhooks import endpoints as endpoints_service
from tests.conftest import T0, Tenant, make_settings, make_tenant
from tests.log_fixtures import json_logs

BODY = {"name": "Ida", "email": "ida@example.com"}
HOOK_URL = "http://127.0.0.1:9/hooks"


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


async def test_a_replay_after_the_created_resource_was_deleted_is_410(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    """Schemathesis' stateful phase: a create, its delete, the same create and key again.
    The replay answered 201 with a ``Location`` that is a 404; it answers 410 now, and does
    not create twice. Another key's replay and a new key are unaffected."""
    body = {"first_name": "Gone"}
    once = {**tenant.headers, "Idempotency-Key": "0"}
    kept_key = {**tenant.headers, "Idempotency-Key": "kept"}
    created = await client.post("/v1/contacts", json=body, headers=once)
    kept = await client.post("/v1/contacts", json=body, headers=kept_key)
    location = created.headers["location"]
    foreign = await client.delete(location, headers=other_tenant.headers)
    assert foreign.status_code == 404
    assert (await client.post("/v1/contacts", json=body, headers=once)).status_code == 201
    assert (await client.delete(location, headers=tenant.headers)).status_code == 204
    replay = await client.post("/v1/contacts", json=body, headers=once)
    assert replay.status_code == 410, replay.text
    assert replay.headers["idempotent-replayed"] == "true"
    assert "location" not in replay.headers
    problem = replay.json()
    assert problem["type"].endswith("/created-resource-deleted")
    assert problem["instance"] == location
    again = await client.post("/v1/contacts", json=body, headers=kept_key)
    assert again.status_code == 201
    assert again.headers["location"] == kept.headers["location"]
    listed = await client.get("/v1/contacts", headers=tenant.headers)
    assert [c["id"] for c in listed.json()["data"]] == [kept.json()["id"]]  # nothing twice
    fresh = await client.post("/v1/contacts", json=body, headers={**once, "Idempotency-Key": "1"})
    assert fresh.status_code == 201
    assert (await client.get(fresh.headers["location"], headers=tenant.headers)).status_code == 200


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


async def _stored_responses(db: Database, tenant: Tenant) -> list[str]:
    async with db.sessionmaker() as session:
        rows = (
            await session.execute(
                select(IdempotencyRecord.headers, IdempotencyRecord.body).where(
                    IdempotencyRecord.workspace_id == tenant.id
                )
            )
        ).all()
    return [json.dumps(row.headers) + row.body.decode() for row in rows]


async def test_secrets_shown_once_are_not_stored_for_replay(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    def keyed(key: str) -> dict[str, str]:
        return {**tenant.headers, "Idempotency-Key": key}

    api_key = await client.post("/v1/api-keys", json={"name": "sync"}, headers=keyed("key-1"))
    endpoint = await client.post(
        "/v1/webhook-endpoints", json={"url": HOOK_URL}, headers=keyed("hook-1")
    )
    rotate_path = f"/v1/webhook-endpoints/{endpoint.json()['id']}/rotate-secret"
    rotated = await client.post(rotate_path, headers=keyed("rotate-1"))
    member = await client.post("/v1/members", json=BODY, headers=tenant.headers)
    calendar_path = f"/v1/members/{member.json()['id']}/calendar-token"
    calendar = await client.post(calendar_path, headers=keyed("calendar-1"))
    assert api_key.status_code == endpoint.status_code == calendar.status_code == 201
    assert rotated.status_code == 200
    secrets = [
        api_key.json()["key"],
        endpoint.json()["secret"],
        rotated.json()["secret"],
        calendar.json()["token"],
    ]
    assert secrets[0].startswith("rk_live_")
    assert all(s.startswith("whsec_") for s in secrets[1:3])
    assert secrets[3].startswith("rcal_")

    stored = await _stored_responses(db, tenant)
    assert len(stored) == 4
    for text_ in stored:
        assert "whsec_" not in text_
        assert "rcal_" not in text_
        for secret in secrets:  # the key's public prefix (`rk_live_…` 16 chars) may stay
            assert secret[-16:] not in text_


async def test_replay_of_a_secret_answers_it_redacted(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = {**tenant.headers, "Idempotency-Key": "key-replay"}
    first = await client.post("/v1/api-keys", json={"name": "sync"}, headers=headers)
    replay = await client.post("/v1/api-keys", json={"name": "sync"}, headers=headers)
    assert replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.headers["idempotent-redacted"] == "key"
    assert "idempotent-redacted" not in first.headers
    assert replay.json()["key"] == REDACTED
    assert {**first.json(), "key": REDACTED} == replay.json()
    # The key itself was issued once and still works; the replay created nothing new.
    listed = await client.get("/v1/api-keys", headers=tenant.headers)
    assert [k["name"] for k in listed.json()["data"]].count("sync") == 1
    works = await client.get(
        "/v1/workspace", headers={"Authorization": f"Bearer {first.json()['key']}"}
    )
    assert works.status_code == 200


SECRET_LOOKING = re.compile(r"(^|_)(key|secret|token|password)$")
NOT_SECRET = {"builtin_key", "item_key"}  # a built-in touch plan; an agenda item (kind and record)


def test_every_secret_looking_response_field_is_marked_secret() -> None:
    """A new route that shows a secret must mark it, or its replay copy would keep it."""
    routes = [
        (context.path, getattr(context.original_route, "response_model", None))
        for context in iter_route_contexts(create_app(make_settings()).routes)
    ]
    unmarked = [
        f"{path}: {model.__name__}.{name}"
        for path, model in routes
        if isinstance(model, type) and issubclass(model, BaseModel)
        for name in model.model_fields
        if SECRET_LOOKING.search(name) and name not in secret_fields(model) | NOT_SECRET
    ]
    assert unmarked == []
    marked = {(path, name) for path, model in routes for name in secret_fields(model)}
    assert ("/v1/api-keys", "key") in marked
    assert ("/v1/webhook-endpoints/{endpoint_id}/rotate-secret", "secret") in marked
    assert ("/v1/members/{member_id}/calendar-token", "url") in marked


async def test_logs_of_a_failing_request_carry_no_bound_secret(
    committed_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database error after a secret was bound logs the SQL but not its parameters."""
    tenant = await make_tenant(committed_db)
    app = create_app(make_settings(), database=committed_db, clock=FrozenClock(T0))
    real = endpoints_service.create_endpoint
    issued: list[str] = []

    async def fail_after_binding_the_secret(session: Any, *args: Any, **kwargs: Any) -> Any:
        endpoint = await real(session, *args, **kwargs)
        issued.append(endpoint.secret)
        await session.execute(text("SELECT rapport_no_such_function(:s)"), {"s": endpoint.secret})
        return endpoint

    monkeypatch.setattr(endpoints_service, "create_endpoint", fail_after_binding_the_secret)
    with json_logs(logging.DEBUG) as logs:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            response = await client.post(
                "/v1/webhook-endpoints",
                json={"url": HOOK_URL},
                headers={**tenant.headers, "Idempotency-Key": "hook-fails"},
            )
    assert response.status_code == 500
    [secret] = issued
    assert "rapport_no_such_function" in logs.text  # the error was logged, with its SQL
    assert secret not in logs.text
    assert secret not in response.text
