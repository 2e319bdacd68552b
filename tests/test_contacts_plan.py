"""The list queries the API actually runs use the indexes once a workspace is large.

20,000 contacts are generated in one statement and analysed, so the planner decides from
real statistics (no ``enable_seqscan = off``); the statements are captured from real API
calls and explained with their parameters.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

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


@contextmanager
def captured(engine: AsyncEngine) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT CONTACTS.ID"):
            statements.append((statement, params))

    event.listen(engine.sync_engine, "before_cursor_execute", keep)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", keep)


async def _plan_of(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, engine: AsyncEngine, **params: Any
) -> str:
    with captured(engine) as statements:
        response = await client.get("/v1/contacts", params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    statement, bound = statements[-1]
    async with db.sessionmaker() as session:
        conn = await session.connection()
        rows = await conn.exec_driver_sql("EXPLAIN " + statement, bound)
        return "\n".join(r[0] for r in rows)


async def test_search_and_engaged_sort_use_their_indexes(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, engine: AsyncEngine
) -> None:
    async with db.transaction() as session:
        await session.execute(_FILL, {"ws": tenant.id, "t0": T0, "n": ROWS})
        await session.execute(text("ANALYZE contacts"))

    by_name = await _plan_of(client, tenant, db, engine, q="last1234")
    assert "ix_contacts_search" in by_name, by_name

    by_email = await _plan_of(client, tenant, db, engine, q="p777@example", sort="created")
    assert "ix_contacts_search" in by_email, by_email

    cutoff = (T0 - timedelta(days=365)).isoformat()
    losing = await _plan_of(
        client, tenant, db, engine, engaged_before=cutoff, sort="last_engaged", limit=50
    )
    assert "ix_contacts_workspace_id_engaged_id" in losing, losing

    recent_first = await _plan_of(client, tenant, db, engine, sort="-last_engaged", limit=50)
    assert "ix_contacts_workspace_id_engaged_id" in recent_first, recent_first
