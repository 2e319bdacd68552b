"""The list queries the API actually runs use the indexes once a workspace is large.

20,000 contacts are generated in one statement and analysed, so the planner decides from
real statistics (no ``enable_seqscan = off``); the statements are captured from real API
calls and explained with their parameters.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import text

from app.db import Database
from tests.conftest import T0, Tenant

ROWS = 20_000

_FILL = text(
    """
    INSERT INTO contacts (workspace_id, id, kind, first_name, last_name, sort_name, emails,
        phones, primary_email, email_search, segment, advocacy_stage, advocacy_stage_manual,
        family, interests, tags, custom_fields, consent, do_not_contact, last_engaged_at,
        version, created_at, updated_at)
    SELECT :ws, gen_random_uuid(), 'person', 'First' || i, 'Last' || i,
        lower('last' || i || ' first' || i),
        jsonb_build_array(jsonb_build_object('address', 'p' || i || '@example.com',
            'type', 'other', 'primary', true)),
        '[]', 'p' || i || '@example.com', 'p' || i || '@example.com',
        (ARRAY['prospect','client','advocate','core_advocate'])[1 + i % 4], 'seeker', false,
        '[]', '{}', '{}', '{}', '{}', false,
        CASE WHEN i % 10 = 0 THEN NULL ELSE CAST(:t0 AS timestamptz) - i * interval '1 hour' END,
        1, :t0, :t0
    FROM generate_series(1, :n) AS i
    """
)


@asynccontextmanager
async def captured(db: Database) -> AsyncIterator[list[tuple[str, tuple[Any, ...]]]]:
    """The contact list statements run on the test's connection, with their arguments.

    Read on the driver (asyncpg's query logger): the list runs there, not through
    SQLAlchemy's cursor, and the test's sessions all share one connection.
    """
    statements: list[tuple[str, tuple[Any, ...]]] = []

    def keep(record: Any) -> None:
        if record.query.lstrip().upper().startswith("SELECT CAST(JSON_BUILD_OBJECT('ID'"):
            statements.append((record.query, tuple(record.args)))

    async with db.sessionmaker() as session:
        driver = (await (await session.connection()).get_raw_connection()).driver_connection
        assert driver is not None
        driver.add_query_logger(keep)
        try:
            yield statements
            await asyncio.sleep(0)  # plain loggers are called soon after the query
        finally:
            driver.remove_query_logger(keep)


async def _plan_of(client: httpx.AsyncClient, tenant: Tenant, db: Database, **params: Any) -> str:
    async with captured(db) as statements:
        response = await client.get("/v1/contacts", params=params, headers=tenant.headers)
        assert response.status_code == 200, response.text
    statement, bound = statements[-1]
    async with db.sessionmaker() as session:
        conn = await session.connection()
        rows = await conn.exec_driver_sql("EXPLAIN " + statement, bound)
        return "\n".join(r[0] for r in rows)


async def test_search_and_engaged_sort_use_their_indexes(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    async with db.transaction() as session:
        await session.execute(_FILL, {"ws": tenant.id, "t0": T0, "n": ROWS})
        await session.execute(text("ANALYZE contacts"))

    by_name = await _plan_of(client, tenant, db, q="last1234")
    assert "ix_contacts_search" in by_name, by_name

    by_email = await _plan_of(client, tenant, db, q="p777@example", sort="created")
    assert "ix_contacts_search" in by_email, by_email

    cutoff = (T0 - timedelta(days=365)).isoformat()
    losing = await _plan_of(
        client, tenant, db, engaged_before=cutoff, sort="last_engaged", limit=50
    )
    assert "ix_contacts_workspace_id_engaged_id" in losing, losing

    recent_first = await _plan_of(client, tenant, db, sort="-last_engaged", limit=50)
    assert "ix_contacts_workspace_id_engaged_id" in recent_first, recent_first
