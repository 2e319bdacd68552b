"""API keys: authentication, scopes, revocation and the resolver cache."""

from __future__ import annotations

import httpx
from sqlalchemy import event

from app.db import Database
from app.services.auth import KeyResolver
from app.services.tokens import new_api_key
from tests.conftest import Tenant


async def test_missing_key_is_401_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/workspace")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    body = response.json()
    assert body["status"] == 401
    assert body["type"].endswith("/unauthenticated")


async def test_malformed_and_unknown_keys_are_401(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for header in ("Bearer nonsense", "Basic abc", f"Bearer {new_api_key(tenant.id)}"):
        response = await client.get("/v1/workspace", headers={"Authorization": header})
        assert response.status_code == 401, header


async def test_created_key_is_shown_once_and_works(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await client.post(
        "/v1/api-keys", json={"name": "reader", "scopes": ["read"]}, headers=tenant.headers
    )
    assert created.status_code == 201
    key = created.json()["key"]
    assert key.startswith("rk_live_")
    listed = await client.get("/v1/api-keys", headers=tenant.headers)
    assert all("key" not in item for item in listed.json()["data"])
    assert key not in listed.text
    ok = await client.get("/v1/workspace", headers={"Authorization": f"Bearer {key}"})
    assert ok.status_code == 200


async def test_missing_scope_is_403(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await client.post(
        "/v1/api-keys", json={"name": "reader", "scopes": ["read"]}, headers=tenant.headers
    )
    reader = {"Authorization": f"Bearer {created.json()['key']}"}
    response = await client.post(
        "/v1/members", json={"name": "X", "email": "x@example.com"}, headers=reader
    )
    assert response.status_code == 403
    assert "write" in response.json()["detail"]
    assert (await client.get("/v1/api-keys", headers=reader)).status_code == 403


async def test_revoked_key_stops_working(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await client.post("/v1/api-keys", json={"name": "temp"}, headers=tenant.headers)
    key_id, key = created.json()["id"], created.json()["key"]
    revoked = await client.delete(f"/v1/api-keys/{key_id}", headers=tenant.headers)
    assert revoked.status_code == 204
    response = await client.get("/v1/workspace", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 401


async def test_unknown_scope_is_422(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/v1/api-keys", json={"name": "x", "scopes": ["root"]}, headers=tenant.headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"][:2] == ["body", "scopes"]


async def test_cannot_revoke_another_workspaces_key(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    created = await client.post("/v1/api-keys", json={"name": "mine"}, headers=tenant.headers)
    key_id = created.json()["id"]
    response = await client.delete(f"/v1/api-keys/{key_id}", headers=other_tenant.headers)
    assert response.status_code == 404
    still = await client.get(
        "/v1/workspace", headers={"Authorization": f"Bearer {created.json()['key']}"}
    )
    assert still.status_code == 200


class FakeTimer:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_resolver_cache_avoids_round_trips_and_expires_within_ttl(
    db: Database, tenant: Tenant
) -> None:
    timer = FakeTimer()
    resolver = KeyResolver(ttl_seconds=5.0, timer=timer)
    lookups: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "FROM api_keys" in statement:
            lookups.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with db.sessionmaker() as session:
            for _ in range(20):
                await resolver.resolve(session, tenant.key)
            assert len(lookups) == 1
            timer.now += 5.1
            await resolver.resolve(session, tenant.key)
            assert len(lookups) == 2
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
