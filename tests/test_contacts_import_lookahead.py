"""The import validates the next batch while the current one writes: what it read ahead is
used only while it is still the next batch, and a stopped run leaves nothing half done."""

from __future__ import annotations

import asyncio
import os
from typing import Any, NoReturn

import httpx
import orjson
import pytest
from sqlalchemy import text

from app.clock import FrozenClock
from app.db import Database
from app.json_codec import to_json
from app.models.contacts.imports import ContactImport
from app.services.contacts.importing import jobs as contacts_import
from app.services.contacts.importing import stage as contacts_import_stage
from app.services.contacts.importing.jobs import import_batch, resume_imports, run_import
from app.services.contacts.importing.parse import iter_rows, read_rows
from app.services.contacts.importing.prepare import Checked, validate_rows
from app.services.contacts.importing.rows import Row
from app.services.contacts.importing.stage import Chunk, Lookahead, chunk_json
from app.services.contacts.importing.statistics import refresh_statistics
from tests.conftest import T0, Tenant, make_settings

SEVEN = "first_name,external_id.crm\nA,1\nB,2\nC,3\nD,4\nE,5\nF,6\nG,7\n"


async def _enqueue(
    db: Database, tenant: Tenant, body: str, ahead: Lookahead | None = None
) -> ContactImport:
    async with db.transaction() as session:
        return await contacts_import.enqueue_import(
            session, tenant.id, "csv", iter_rows(body.encode(), "csv"), at=T0, ahead=ahead
        )


async def _crm_ids(db: Database, tenant: Tenant) -> list[str]:
    async with db.transaction() as session:
        found = await session.execute(
            text(
                "SELECT external_id FROM contact_external_ids WHERE workspace_id = :ws"
                " ORDER BY external_id"
            ),
            {"ws": tenant.id},
        )
        return list(found.scalars())


async def test_rows_read_ahead_are_dropped_when_another_run_imported_them(
    db: Database, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(contacts_import, "BATCH_ROWS", 2)
    job = await _enqueue(db, tenant, SEVEN)
    mine = Lookahead()
    async with db.transaction() as session:  # batch 1; rows 3 and 4 validated ahead
        await import_batch(session, tenant.id, job.id, at=T0, ahead=mine)
    mine.committed()
    async with db.transaction() as session:  # another run imports rows 3 and 4
        await import_batch(session, tenant.id, job.id, at=T0)
    async with db.transaction() as session:  # the rows read ahead are stale: 5 and 6 next
        done = await import_batch(session, tenant.id, job.id, at=T0, ahead=mine)
    assert done is not None
    assert (done.processed_rows, done.created_count) == (6, 6)
    assert await _crm_ids(db, tenant) == ["1", "2", "3", "4", "5", "6"]
    mine.close()


def _refuse(_document: str) -> NoReturn:
    raise AssertionError("validated inline: the chunk was not validated ahead")


async def test_a_job_takes_the_batches_validated_while_it_was_staged(
    db: Database, clock: FrozenClock, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(contacts_import, "BATCH_ROWS", 2)
    monkeypatch.setattr(contacts_import_stage, "PRIMED_CHUNKS", 2)
    monkeypatch.setattr(contacts_import, "validate_chunk", _refuse)
    ahead = Lookahead()
    job = await _enqueue(db, tenant, SEVEN, ahead)  # chunks 1 and 2 of 4 validated ahead
    assert await run_import(db, clock, tenant.id, job.id, ahead=ahead)  # 3 and 4 as it goes
    assert await _crm_ids(db, tenant) == ["1", "2", "3", "4", "5", "6", "7"]
    async with db.transaction() as session:
        done = await contacts_import.get_import(session, tenant.id, job.id)
    assert (done.status, done.total_rows, done.created_count) == ("completed", 7, 7)


async def test_batches_validated_while_staged_are_dropped_once_another_run_moved_on(
    db: Database, clock: FrozenClock, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(contacts_import, "BATCH_ROWS", 2)
    ahead = Lookahead()
    job = await _enqueue(db, tenant, SEVEN, ahead)  # all four chunks validated ahead
    async with db.transaction() as session:  # another run imports rows 1 and 2
        await import_batch(session, tenant.id, job.id, at=T0)
    assert await run_import(db, clock, tenant.id, job.id, ahead=ahead)
    assert await _crm_ids(db, tenant) == ["1", "2", "3", "4", "5", "6", "7"]
    async with db.transaction() as session:
        done = await contacts_import.get_import(session, tenant.id, job.id)
    assert (done.status, done.processed_rows, done.created_count) == ("completed", 7, 7)


async def test_a_run_stopped_between_batches_resumes_without_duplicates(
    client: httpx.AsyncClient,
    db: Database,
    tenant: Tenant,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(contacts_import, "BATCH_ROWS", 2)
    job = await _enqueue(db, tenant, SEVEN)

    def stop(_job: ContactImport) -> None:  # the process shuts down after batch 1
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await run_import(db, clock, tenant.id, job.id, progress=stop)
    url = f"/v1/contacts/imports/{job.id}"
    stopped = (await client.get(url, headers=tenant.headers)).json()
    assert (stopped["status"], stopped["processed_rows"]) == ("running", 2)
    assert await _crm_ids(db, tenant) == ["1", "2"]

    assert await resume_imports(db, clock, make_settings()) == 1
    done = (await client.get(url, headers=tenant.headers)).json()
    assert (done["status"], done["processed_rows"], done["created_count"]) == ("completed", 7, 7)
    assert await _crm_ids(db, tenant) == ["1", "2", "3", "4", "5", "6", "7"]


async def test_rows_validated_in_the_worker_process_are_those_validated_inline() -> None:
    body = SEVEN + "H,8\n,9\nI,not valid\n"  # a row needing a name, an external id refused
    rows = read_rows(body.encode(), "csv")
    chunk = Chunk(rows[0].line, rows[-1].line, len(rows), chunk_json(rows))
    ahead = Lookahead()
    ahead.start(0, chunk)
    taken = await ahead.take(0)
    ahead.close()
    assert taken is not None
    assert taken[0] == chunk
    assert _without_ids(taken[1]) == _without_ids(validate_rows(rows))


def _without_ids(checked: list[Checked]) -> list[Checked]:
    """The rows but for the ids of the contacts they would create (random, made where
    each row is validated), which must still be each one's first column."""
    out: list[Checked] = []
    for row in checked:
        if isinstance(row, Row) and row.columns:
            columns = orjson.loads(row.columns)
            assert columns[0] == row.contact_id
            row = row._replace(contact_id="", columns=to_json(columns[1:]))
        out.append(row)
    return out


def _die(_rows: Any) -> NoReturn:  # run in the worker process: it exits at once
    os._exit(1)


async def test_a_validation_worker_that_died_is_replaced_by_validating_inline(
    db: Database,
    clock: FrozenClock,
    tenant: Tenant,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(contacts_import, "BATCH_ROWS", 2)
    monkeypatch.setattr(contacts_import_stage, "validate_chunk", _die)
    job = await _enqueue(db, tenant, SEVEN)
    assert await run_import(db, clock, tenant.id, job.id)
    assert await _crm_ids(db, tenant) == ["1", "2", "3", "4", "5", "6", "7"]
    assert "validating inline" in caplog.text


async def test_statistics_are_refreshed_when_an_import_outgrows_them(
    db: Database, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    async with db.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO contacts (id, workspace_id, kind, first_name, sort_name, emails,"
                " phones, segment, advocacy_stage, advocacy_stage_manual, family, interests,"
                " tags, custom_fields, consent, do_not_contact, version, created_at, updated_at)"
                " SELECT gen_random_uuid(), :ws, 'person', 'A', 'a', '[]', '[]', 'prospect',"
                " 'seeker', false, '[]', '{}', '{}', '{}', '{}', false, 1, now(), now()"
                " FROM generate_series(1, 300)"
            ),
            {"ws": tenant.id},
        )
    await refresh_statistics(db, 300)
    async with db.transaction() as session:
        estimate = await session.execute(
            text("SELECT reltuples FROM pg_class WHERE oid = 'contacts'::regclass")
        )
        assert estimate.scalar_one() >= 300
    assert "could not refresh statistics" not in caplog.text


async def test_a_file_of_one_batch_is_validated_inline_without_a_worker(
    db: Database, clock: FrozenClock, tenant: Tenant
) -> None:
    ahead = Lookahead()
    job = await _enqueue(db, tenant, SEVEN, ahead)  # seven rows: one chunk of 1,000
    assert ahead.tail() is None  # nothing started: no worker forked for one batch
    assert await run_import(db, clock, tenant.id, job.id, ahead=ahead)
    assert await _crm_ids(db, tenant) == ["1", "2", "3", "4", "5", "6", "7"]
