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
from sqlalchemy import text

from app.clock import FrozenClock
from app.db import Database
from app.json_codec import to_json
from app.migrations import alembic_config
from app.models.contacts.imports import ContactImport
from app.services.contacts.importing.jobs import run_import
from tests.conftest import T0, _admin, _with_database

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


async def test_staged_rows_become_chunks_and_the_import_finishes(old_url: str) -> None:
    db = Database.from_url(old_url)
    try:
        workspace_id = uuid.uuid4()
        async with db.transaction() as session:
            # As it was at 0005s (today's table model has columns added since).
            await session.execute(
                text(
                    "INSERT INTO workspaces (id, name, time_zone, send_window_start, "
                    "send_window_end, lapse_threshold_days, referral_follow_up_hours, "
                    "weight_communication, weight_reciprocity, weight_appreciation, version) "
                    "VALUES (:id, 'Acme Realty', 'UTC', '09:00', '20:00', 90, 24, "
                    "0.4, 0.35, 0.25, 1)"
                ),
                {"id": workspace_id},
            )
            job = ContactImport(
                workspace_id=workspace_id,
                format="csv",
                status="running",
                total_rows=ROWS,
                errors=[],
                created_at=T0,
            )
            session.add(job)
            await session.flush()
            job_id = job.id
            lines = list(range(2, ROWS + 2))
            await session.execute(
                text(
                    "INSERT INTO contact_import_rows (workspace_id, import_id, line, data, errors)"
                    " SELECT :ws, :job, x.line, CAST(x.data AS jsonb), CAST(x.errors AS jsonb)"
                    " FROM unnest(CAST(:lines AS integer[]), CAST(:datas AS text[]),"
                    " CAST(:errors AS text[])) AS x(line, data, errors)"
                ),
                {
                    "ws": workspace_id,
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
        assert await run_import(db, FrozenClock(T0), workspace_id, job_id)
        async with db.transaction() as session:
            done = await session.get(ContactImport, (workspace_id, job_id))
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
