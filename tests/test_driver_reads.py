"""Statements run on the asyncpg connection itself (``app.driver.fetch_row``, and writes)
behave like SQLAlchemy's: a connection the server dropped fails one request, then is
replaced, and a write sent first still runs inside the request's transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text

from app.clock import FrozenClock
from app.db import Database
from app.main import create_app
from tests.conftest import make_settings, make_tenant

_KILL_OTHERS = text(
    "SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity "  # waits for exit
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


@pytest.fixture
async def production(committed_url: str) -> AsyncIterator[Database]:
    database = Database.from_url(committed_url, pool_size=1)  # one read connection
    yield database
    await database.dispose()


async def test_a_dropped_read_connection_fails_one_request_then_is_replaced(
    production: Database, committed_url: str, clock: FrozenClock
) -> None:
    tenant = await make_tenant(production)
    # Keys cached: the GET then runs no statement through SQLAlchemy before the read.
    app = create_app(make_settings(api_key_cache_seconds=5), database=production, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        body = {"first_name": "Ada", "last_name": "Lovelace"}
        created = await c.post("/v1/contacts", json=body, headers=tenant.headers)
        assert created.status_code == 201, created.text
        url = f"/v1/contacts/{created.json()['id']}"
        assert (await c.get(url, headers=tenant.headers)).status_code == 200
        admin = Database.from_url(committed_url, pool_size=1)
        try:
            async with admin.transaction() as session:
                assert (await session.execute(_KILL_OTHERS)).scalar_one() >= 1
        finally:
            await admin.dispose()
        failed = await c.get(url, headers=tenant.headers)
        again = await c.get(url, headers=tenant.headers)
    assert failed.status_code == 503  # the database went away under the request
    assert failed.headers["retry-after"] == "5"
    assert again.status_code == 200, again.text  # the dead connection left the pool
    assert again.json()["last_name"] == "Lovelace"


async def test_a_write_on_the_driver_first_runs_inside_the_request_transaction(
    production: Database, clock: FrozenClock
) -> None:
    """With keys cached, a create's one statement is the first of its transaction and goes
    to the driver (``app.driver._begin``): a refused create must roll it back whole, and an
    accepted one must commit with its event."""
    tenant = await make_tenant(production)
    app = create_app(make_settings(api_key_cache_seconds=5), database=production, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        first = {"first_name": "Ada", "external_ids": {"crm": "1"}}
        assert (await c.post("/v1/contacts", json=first, headers=tenant.headers)).status_code == 201
        taken = {"first_name": "Grace", "external_ids": {"erp": "2", "crm": "1"}}
        refused = await c.post("/v1/contacts", json=taken, headers=tenant.headers)
        assert refused.status_code == 409, refused.text
    counts = text(
        "SELECT (SELECT count(*) FROM contacts WHERE workspace_id = :w),"
        " (SELECT count(*) FROM contact_external_ids WHERE workspace_id = :w),"
        " (SELECT count(*) FROM events WHERE workspace_id = :w AND type = 'contact.created')"
    )
    async with production.transaction() as session:
        row = (await session.execute(counts, {"w": tenant.id})).one()
    assert tuple(row) == (1, 1, 1)
