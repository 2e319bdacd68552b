"""A real service killed in the middle of an import: what it committed stays, whole
batches only, and the scheduler of the replicas started after it finishes the import
without importing a row twice."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.db import Database
from app.models.contacts.imports import ContactImport
from app.models.contacts.tables import Contact, ContactExternalId
from app.models.platform.event import Event
from app.services.contacts.importing.jobs import BATCH_ROWS
from tests.conftest import Tenant, make_tenant
from tests.webhook_process import Service

ROWS = 12 * BATCH_ROWS


@pytest.fixture
def services() -> Iterator[list[Service]]:
    started: list[Service] = []
    yield started
    for service in started:
        service.stop()


def crm_export(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["first_name", "last_name", "email", "phone", "segment", "external_id.crm"])
    for i in range(rows):
        phone = f"(415) {200 + i % 700:03d}-{i % 10000:04d}"
        writer.writerow(["Ana", f"Lee{i}", f"ana.lee{i}@example.com", phone, "client", f"C{i:06d}"])
    return out.getvalue().encode()


async def job_state(db: Database, tenant: Tenant) -> ContactImport:
    async with db.transaction() as session:
        stmt = select(ContactImport).where(ContactImport.workspace_id == tenant.id)
        return (await session.execute(stmt)).scalar_one()


async def counts(db: Database, tenant: Tenant) -> dict[str, int]:
    """What the workspace holds: contacts, their external ids, contact.created events."""
    async with db.transaction() as session:

        async def count(model: Any, *where: Any) -> int:
            stmt = select(func.count()).select_from(model).where(*where)
            return int((await session.execute(stmt)).scalar_one())

        return {
            "contacts": await count(Contact, Contact.workspace_id == tenant.id),
            "external_ids": await count(
                ContactExternalId, ContactExternalId.workspace_id == tenant.id
            ),
            "created_events": await count(
                Event, Event.workspace_id == tenant.id, Event.type == "contact.created"
            ),
        }


async def test_kill_9_mid_import_keeps_whole_batches_and_the_replicas_finish_it(
    committed_url: str, committed_db: Database, services: list[Service], tmp_path: Path
) -> None:
    first = Service(committed_url, tmp_path)  # scheduler off: only its own run imports
    services.append(first)
    first.wait_ready()
    tenant = await make_tenant(committed_db)
    async with httpx.AsyncClient(base_url=first.base_url, timeout=30) as client:
        answer = await client.post(
            "/v1/contacts/imports",
            content=crm_export(ROWS),
            headers={**tenant.headers, "Content-Type": "text/csv"},
        )
        assert answer.status_code == 202, answer.text
        location = answer.headers["location"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            shown = (await client.get(location, headers=tenant.headers)).json()
            if shown["processed_rows"] >= 2 * BATCH_ROWS:
                break
            await asyncio.sleep(0.02)
    first.kill()

    job = await job_state(committed_db, tenant)
    held = await counts(committed_db, tenant)
    assert 2 * BATCH_ROWS <= job.processed_rows < ROWS, "the kill must land mid-import"
    assert job.status == "running"
    assert job.processed_rows % BATCH_ROWS == 0  # whole batches, nothing of the one in flight
    assert held == dict.fromkeys(held, job.processed_rows)

    # Two replicas with their schedulers on: the resume job carries the import on,
    # one batch at a time under the job's row lock, whichever replica takes it.
    for _ in range(2):
        services.append(
            Service(
                committed_url, tmp_path, scheduler_enabled="true", scheduler_interval_seconds="0.5"
            )
        )
    for service in services[1:]:
        service.wait_ready()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = await job_state(committed_db, tenant)
        if job.status != "running":
            break
        await asyncio.sleep(0.2)

    assert (job.status, job.processed_rows, job.created_count, job.error_count) == (
        "completed",
        ROWS,
        ROWS,
        0,
    )
    assert await counts(committed_db, tenant) == {
        "contacts": ROWS,
        "external_ids": ROWS,
        "created_events": ROWS,
    }
