"""Migration 0006i: rows an unfinished import staged one per row move into chunks, and the
import then finishes from them; the downgrade gives the rows back as they were."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from alembic import command
from sqlalchemy import column, insert, table, text

from app.clock import FrozenClock
from app.db import Database
from app.json_codec import to_json
from app.migrations import alembic_config
from app.models.contacts.imports import ContactImport
from app.models.platform.workspace import Workspace
from app.services.contacts.importing.jobs import run_import
from tests.conftest import T0, Tenant, _admin, _with_database

ROWS = 2500  # three chunks: 1000, 1000 and 500 rows
BROKEN = 7  # the line staged with a parse error


@pytest.fixture
async def old_url(server_url: str) -> AsyncIterator[str]:
    """A database migrated to the revision before the chunks."""
    name = f"rapport_migration_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    url = _with_database(server_url, name)
    await asyncio.to_thread(command.upgrade, alembic_config(url), "0005s")
    yield url
    await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _staged(line: int) -> tuple[dict[str, Any], list[dict[str, Any]] | None]:
    if line == BROKEN:
        return {"first_name": "Broken"}, [{"loc": ["emails"], "msg": "not valid here"}]
    return {"first_name": f"P{line}", "external_ids": {"crm": f"C{line}"}}, None


async def _staged_rows(db: Database, job_id: uuid.UUID) -> list[tuple[Any, ...]]:
    async with db.transaction() as session:
        found = await session.execute(
            text(
                "SELECT line, data, errors FROM contact_import_rows WHERE import_id = :job"
                " ORDER BY line"
            ),
            {"job": job_id},
        )
        return [tuple(r) for r in found]


async def _old_tenant(db: Database) -> Tenant:
    """A workspace as the schema at 0005s holds it: today's model's defaults, only for the
    columns that schema has (later revisions added more)."""
    workspace = Workspace(name="Old Realty", created_at=T0, updated_at=T0)
    async with db.transaction() as session:
        found = await session.execute(
            text(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = 'workspaces'"
            )
        )
        columns = set(found.scalars())
        values = {k: v for k, v in workspace.model_dump().items() if k in columns}
        old = table("workspaces", *(column(name) for name in values))  # no later defaults
        await session.execute(insert(old).values(values))
    return Tenant(id=workspace.id, key="")


async def test_staged_rows_become_chunks_and_the_import_finishes(old_url: str) -> None:
    db = Database.from_url(old_url)
    try:
        tenant = await _old_tenant(db)
        job_id = uuid.uuid4()
        async with db.transaction() as session:
            # The job as 0005s stores it: the model has columns later revisions add.
            await session.execute(
                text(
                    "INSERT INTO contact_imports (workspace_id, id, status, format, total_rows,"
                    " processed_rows, created_count, updated_count, error_count, errors,"
                    " attempts, created_at)"
                    " VALUES (:ws, :job, 'running', 'csv', :total, 0, 0, 0, 0, '[]', 0, :at)"
                ),
                {"ws": tenant.id, "job": job_id, "total": ROWS, "at": T0},
            )
            lines = list(range(2, ROWS + 2))
            await session.execute(
                text(
                    "INSERT INTO contact_import_rows (workspace_id, import_id, line, data, errors)"
                    " SELECT :ws, :job, x.line, CAST(x.data AS jsonb), CAST(x.errors AS jsonb)"
                    " FROM unnest(CAST(:lines AS integer[]), CAST(:datas AS text[]),"
                    " CAST(:errors AS text[])) AS x(line, data, errors)"
                ),
                {
                    "ws": tenant.id,
                    "job": job_id,
                    "lines": lines,
                    "datas": [to_json(_staged(n)[0]) for n in lines],
                    "errors": [None if (e := _staged(n)[1]) is None else to_json(e) for n in lines],
                },
            )
        before = await _staged_rows(db, job_id)
        await db.dispose()

        await asyncio.to_thread(command.upgrade, alembic_config(old_url), "head")
        async with db.transaction() as session:
            chunks = (
                await session.execute(
                    text(
                        "SELECT line, last_line, row_count FROM contact_import_chunks"
                        " WHERE import_id = :job ORDER BY line"
                    ),
                    {"job": job_id},
                )
            ).all()
        expected = [(2, 1001, 1000), (1002, 2001, 1000), (2002, 2501, 500)]
        assert [tuple(c) for c in chunks] == expected
        await db.dispose()

        await asyncio.to_thread(command.downgrade, alembic_config(old_url), "0005s")
        assert await _staged_rows(db, job_id) == before  # errors null where there were none
        await db.dispose()

        await asyncio.to_thread(command.upgrade, alembic_config(old_url), "head")
        assert await run_import(db, FrozenClock(T0), tenant.id, job_id)
        async with db.transaction() as session:
            done = await session.get(ContactImport, (tenant.id, job_id))
            assert done is not None
            assert (done.status, done.processed_rows) == ("completed", ROWS)
            assert (done.created_count, done.error_count) == (ROWS - 1, 1)
            assert done.errors[0]["line"] == BROKEN
            ids = await session.execute(
                text("SELECT count(DISTINCT external_id) FROM contact_external_ids"),
            )
            assert ids.scalar_one() == ROWS - 1
    finally:
        await db.dispose()
