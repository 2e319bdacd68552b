"""Test fixtures: a real PostgreSQL, migrated once, and an app per test.

Without ``DATABASE_URL`` the test run's own embedded server (pgserver) is started under
``.rapport/test/`` and stopped at the end (``tests/session_processes.py``, which also
fails a run that leaves a process behind). A template database is migrated once per
session; ``db`` runs each test
inside a transaction that is rolled back, and ``committed_db`` clones the template for
tests that need real commits (concurrency, crashes, the scheduler).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from app.clock import FrozenClock
from app.config import Settings
from app.db import Database, async_url
from app.main import create_app
from app.migrations import upgrade_async
from app.services.provisioning import provision_workspace
from tests.contract_checks import ContractChecks

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


pytest_plugins = ["tests.session_processes"]


@pytest.fixture(scope="session")
def server_url() -> str:
    """A URL of the server the tests may create databases on."""
    from tests.session_processes import SERVER_URL, TEST_DATA_DIR

    configured = os.environ.get("DATABASE_URL") or os.environ.get(SERVER_URL)
    if configured:
        return configured
    from app.embedded_db import embedded_url

    return embedded_url(TEST_DATA_DIR, "postgres")  # a worker started on its own


async def _admin(server_url: str, sql: str) -> None:
    engine = create_async_engine(
        async_url(_with_database(server_url, "postgres")),
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
    )
    async with engine.connect() as conn:
        await conn.execute(text(sql))
    await engine.dispose()


@pytest.fixture(scope="session")
async def template_url(server_url: str) -> AsyncIterator[str]:
    """A freshly migrated database, used directly and as the template for clones."""
    name = f"rapport_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    url = _with_database(server_url, name)
    await upgrade_async(url)
    yield url
    await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def engine(template_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_async_engine(async_url(template_url), pool_size=5)
    yield eng
    await eng.dispose()


@pytest.fixture
async def db(engine: AsyncEngine) -> AsyncIterator[Database]:
    """A database handle whose every commit is rolled back after the test."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        yield Database.bound_to(conn)
        await outer.rollback()


@pytest.fixture
async def committed_url(
    server_url: str, template_url: str, engine: AsyncEngine
) -> AsyncIterator[str]:
    """A private clone of the migrated template, for tests that need real commits."""
    name = f"rapport_c_{uuid.uuid4().hex[:10]}"
    await engine.dispose()  # a template must have no open connections to be cloned
    template = urlsplit(template_url).path.lstrip("/")
    await _admin(server_url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield _with_database(server_url, name)
    await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def committed_db(committed_url: str) -> AsyncIterator[Database]:
    database = Database.from_url(committed_url, pool_size=5)
    yield database
    await database.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


def make_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "database_url": "postgresql://unused/unused",
        "scheduler_enabled": False,
        "webhooks_enabled": False,
        "webhook_allow_private_networks": True,
        "webhook_allow_http": True,
        "api_key_cache_seconds": 0,
        "session_signing_key": "test-only session signing key, 32+ bytes long",
        "oidc_allow_private_networks": True,
        "oidc_allow_http": True,
        # Tests send thousands of requests at one frozen instant; tests/test_rate_limits.py
        # sets the limits it checks.
        "rate_limit_per_minute": 1_000_000,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
async def client(
    db: Database, clock: FrozenClock, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, database=db, clock=clock)
    transport = httpx.ASGITransport(app=app)
    hooks = {"response": [ContractChecks()]}  # every answer keeps to the document
    async with httpx.AsyncClient(
        transport=transport, base_url="http://rapport.test", event_hooks=hooks
    ) as c:
        yield c


@dataclass
class Tenant:
    id: uuid.UUID
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


async def make_tenant(db: Database, name: str = "Acme Realty", at: datetime = T0) -> Tenant:
    async with db.transaction() as session:
        workspace, _key, token = await provision_workspace(session, name, at=at)
    return Tenant(id=workspace.id, key=token)


@pytest.fixture
async def tenant(db: Database) -> Tenant:
    return await make_tenant(db, "Acme Realty")


@pytest.fixture
async def other_tenant(db: Database) -> Tenant:
    return await make_tenant(db, "Rival Homes")


@pytest.fixture
def project_root() -> Path:
    return ROOT
