"""Reads run without a transaction and cannot write; writes keep their transaction.

``TransactionalRoute`` gives GET requests a session of ``Database.read_session``: in
production a read-only autocommit connection (no BEGIN/ROLLBACK round trips), in tests
a read-only savepoint of the test's transaction. Probe routes look at the session a
request really gets.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import text

from app.clock import FrozenClock
from app.db import Database
from app.deps import ReadAuth, SessionDep, WriteAuth
from app.main import create_app
from app.routers.platform.route import TransactionalRoute
from tests.conftest import Tenant, make_settings, make_tenant

# A transaction-local setting made by one statement is still there for the next one
# only when both run in one transaction.
_MARK = text("SELECT set_config('rapport.probe', 'set', true)")
_SEEN = text(
    "SELECT coalesce(current_setting('rapport.probe', true), '') = '' AS alone, "
    "current_setting('transaction_read_only') AS ro"
)
_WRITE = text("UPDATE workspaces SET name = name || '!'")


def _probes() -> APIRouter:
    router = APIRouter(route_class=TransactionalRoute)

    @router.get("/probe/session")
    async def read_session(_auth: ReadAuth, session: SessionDep) -> dict[str, Any]:
        await session.execute(_MARK)
        row = (await session.execute(_SEEN)).one()
        return {"alone": row.alone, "read_only": row.ro}

    @router.post("/probe/session")
    async def write_session(_auth: WriteAuth, session: SessionDep) -> dict[str, Any]:
        await session.execute(_MARK)
        row = (await session.execute(_SEEN)).one()
        return {"alone": row.alone, "read_only": row.ro}

    @router.get("/probe/write")
    async def write_in_read(_auth: ReadAuth, session: SessionDep) -> dict[str, Any]:
        await session.execute(_WRITE)
        return {}

    return router


def _app(database: Database, clock: FrozenClock) -> FastAPI:
    app = create_app(make_settings(), database=database, clock=clock)
    app.include_router(_probes())
    return app


@pytest.fixture
async def production(committed_url: str) -> AsyncIterator[Database]:
    database = Database.from_url(committed_url, pool_size=2)
    yield database
    await database.dispose()


async def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_a_read_runs_each_statement_alone_on_a_read_only_connection(
    production: Database, clock: FrozenClock
) -> None:
    tenant = await make_tenant(production)
    async with await _client(_app(production, clock)) as c:
        read = await c.get("/probe/session", headers=tenant.headers)
        write = await c.post("/probe/session", headers=tenant.headers)
    assert read.json() == {"alone": True, "read_only": "on"}
    assert write.json() == {"alone": False, "read_only": "off"}


async def test_a_read_that_writes_fails_and_changes_nothing(
    production: Database, clock: FrozenClock
) -> None:
    tenant = await make_tenant(production, "Acme")
    async with await _client(_app(production, clock)) as c:
        response = await c.get("/probe/write", headers=tenant.headers)
    assert response.status_code == 500
    async with production.transaction() as session:
        assert (await session.execute(text("SELECT name FROM workspaces"))).scalar() == "Acme"


async def test_in_a_test_transaction_reads_are_read_only_too(
    db: Database, tenant: Tenant, clock: FrozenClock
) -> None:
    async with await _client(_app(db, clock)) as c:
        read = await c.get("/probe/session", headers=tenant.headers)
        failed = await c.get("/probe/write", headers=tenant.headers)
        write = await c.post("/probe/session", headers=tenant.headers)
        workspace = await c.get("/v1/workspace", headers=tenant.headers)
    assert read.json() == {"alone": False, "read_only": "on"}  # one savepoint, as before
    assert failed.status_code == 500
    assert write.json()["read_only"] == "off"  # the savepoint's setting did not leak
    assert workspace.json()["name"] == "Acme Realty"
