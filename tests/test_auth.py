"""API keys: authentication, scopes, revocation and the resolver cache."""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import event

from app import main
from app.clock import FrozenClock
from app.db import Database
from app.services.platform import auth
from app.services.platform.auth import CredentialResolver as KeyResolver
from app.services.platform.principals import AuthContext
from app.services.platform.tokens import new_api_key
from tests.conftest import Tenant, make_settings


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
    response = await client.post("/v1/contacts", json={"first_name": "X"}, headers=reader)
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
        for _ in range(20):
            await resolver.resolve(db, tenant.key)
        assert len(lookups) == 1
        timer.now += 5.1
        await resolver.resolve(db, tenant.key)
        assert len(lookups) == 2
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)


@pytest.fixture
def timer(monkeypatch: pytest.MonkeyPatch) -> FakeTimer:
    """The monotonic time of every KeyResolver the app builds from now on."""
    fake = FakeTimer()
    monkeypatch.setattr(auth, "CredentialResolver", functools.partial(KeyResolver, timer=fake))
    return fake


@pytest.fixture
async def cached_client(
    db: Database, clock: FrozenClock, timer: FakeTimer
) -> AsyncIterator[httpx.AsyncClient]:
    """The app as deployed: the key cache on, at the settings' 5 s."""
    app = main.create_app(make_settings(api_key_cache_seconds=5.0), database=db, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://rapport.test") as c:
        yield c


@contextmanager
def key_lookups(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "FROM api_keys" in statement:
            seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)


async def test_cached_key_costs_no_lookup_on_later_requests(
    cached_client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    with key_lookups(db) as lookups:
        first = await cached_client.get("/v1/workspace", headers=tenant.headers)
        assert first.status_code == 200
        assert len(lookups) == 1
        for _ in range(5):
            again = await cached_client.get("/v1/members", headers=tenant.headers)
            assert again.status_code == 200
        assert len(lookups) == 1


async def test_revoked_key_stops_working_at_once_here_and_within_the_ttl_elsewhere(
    cached_client: httpx.AsyncClient, tenant: Tenant, db: Database, timer: FakeTimer
) -> None:
    """The replica that revokes forgets the key after the commit; another replica (its own
    cache, same database) may accept it from its cache for the 5 s the TTL bounds."""
    other_app = main.create_app(make_settings(api_key_cache_seconds=5.0), database=db)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=other_app), base_url="http://replica-2.test"
    ) as other:
        created = await cached_client.post(
            "/v1/api-keys", json={"name": "t"}, headers=tenant.headers
        )
        key_id, key = created.json()["id"], created.json()["key"]
        bearer = {"Authorization": f"Bearer {key}"}
        for replica in (cached_client, other):
            assert (await replica.get("/v1/workspace", headers=bearer)).status_code == 200
        revoked = await cached_client.delete(f"/v1/api-keys/{key_id}", headers=tenant.headers)
        assert revoked.status_code == 204
        here = await cached_client.get("/v1/workspace", headers=bearer)
        assert here.status_code == 401
        assert here.json()["detail"] == "unknown or revoked API key"
        timer.now += 4.9
        assert (await other.get("/v1/workspace", headers=bearer)).status_code == 200
        timer.now += 0.11  # 5.01 s after the key was cached
        elsewhere = await other.get("/v1/workspace", headers=bearer)
        assert elsewhere.status_code == 401


def test_forget_key_drops_only_that_keys_entries() -> None:
    resolver = KeyResolver(ttl_seconds=5)
    kept, dropped = uuid.uuid4(), uuid.uuid4()
    cache = resolver._cache
    assert cache is not None
    ws = uuid.uuid4()
    forever = float("inf")
    cache["a"] = (AuthContext(workspace_id=ws, key_id=kept, scopes=frozenset({"read"})), forever)
    cache["b"] = (AuthContext(workspace_id=ws, key_id=dropped, scopes=frozenset({"read"})), forever)
    cache["c"] = (None, forever)  # an unknown key, refused
    resolver.forget_key(dropped)
    assert sorted(cache) == ["a", "c"]


async def test_unknown_key_is_cached_as_refused_too(
    cached_client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    """Hammering with a made-up key costs one lookup per TTL, not one per request."""
    bogus = {"Authorization": f"Bearer {new_api_key(tenant.id)}"}
    with key_lookups(db) as lookups:
        for _ in range(3):
            assert (await cached_client.get("/v1/workspace", headers=bogus)).status_code == 401
    assert len(lookups) == 1
