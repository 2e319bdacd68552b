"""The database stopped, then paused, under load from real HTTP clients of a real service.

A private PostgreSQL (``tests/private_postgres.py``) serves one ``rapport serve`` process
with its scheduler and webhook dispatcher on, while clients create contacts as fast as
they are answered and a prober asks ``/readyz``. The database is stopped (connections
refused) or paused (SIGSTOP: connections hang) for several statement timeouts, then
brought back. What an operator needs from that:

- every answer is 201 or 503 ``service-unavailable`` with ``Retry-After``, never a 500,
  and no request waits much past the timeouts;
- ``/readyz`` answers 503 within about a second throughout;
- one warning line in the log for the outage, no stack trace;
- afterwards, with nothing done by hand: every contact confirmed by a 201 is stored, and
  its ``contact.created`` event reaches the webhook receiver.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from app.db import Database
from app.migrations import upgrade_async
from tests.conftest import _admin, _with_database, make_tenant
from tests.private_postgres import PrivatePostgres
from tests.test_webhooks_processes import register
from tests.webhook_process import Service
from tests.webhook_receiver import Receiver, running

TIMEOUT_MS = 2000
OUTAGE_SECONDS = 3 * TIMEOUT_MS / 1000  # several timeouts long
# The slowest answer allowed during an outage: a pooled connection waited for, then a
# statement or a new connection that does not answer, each cut at the timeout.
SLOWEST_ANSWER = 2 * TIMEOUT_MS / 1000 + 1.5
READY_ANSWER = 1.5  # /readyz answers within a second, plus a loaded machine's slack
CLIENTS = 8


@dataclass
class Answer:
    sent: float
    took: float
    status: int
    headers: httpx.Headers
    body: dict[str, object]


@pytest.fixture(scope="module")
def postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
async def database_url(postgres: PrivatePostgres) -> AsyncIterator[str]:
    if not (postgres.pgdata / "postmaster.pid").exists():
        postgres.start()  # a test that failed midway left it stopped
    postgres.resume()
    name = f"rapport_{uuid.uuid4().hex[:8]}"
    await _admin(postgres.url(), f'CREATE DATABASE "{name}"')
    url = _with_database(postgres.url(), name)
    await upgrade_async(url)
    yield url
    await _admin(postgres.url(), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[Service]:
    started = Service(
        database_url,
        tmp_path,
        db_statement_timeout_ms=str(TIMEOUT_MS),
        scheduler_enabled="true",
        scheduler_interval_seconds="1",
        log_level="INFO",
    )
    try:
        started.wait_ready()
        yield started
    finally:
        started.stop()


async def _create_until(
    stop: asyncio.Event, base_url: str, headers: dict[str, str]
) -> list[Answer]:
    answers: list[Answer] = []
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as client:
        while not stop.is_set():
            sent = time.monotonic()
            body = {"first_name": "Out", "last_name": f"Age {uuid.uuid4().hex[:12]}"}
            response = await client.post("/v1/contacts", json=body)
            answers.append(
                Answer(
                    sent,
                    time.monotonic() - sent,
                    response.status_code,
                    response.headers,
                    response.json(),
                )
            )
    return answers


async def _probe_until(stop: asyncio.Event, base_url: str) -> list[Answer]:
    answers: list[Answer] = []
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        while not stop.is_set():
            sent = time.monotonic()
            response = await client.get("/readyz")
            answers.append(
                Answer(
                    sent,
                    time.monotonic() - sent,
                    response.status_code,
                    response.headers,
                    response.json(),
                )
            )
            await asyncio.sleep(0.2)  # the prober's own pace, not a wait for the app
    return answers


async def _under_load(
    service: Service,
    headers: dict[str, str],
    break_it: Callable[[], None],
    mend_it: Callable[[], None],
) -> tuple[list[Answer], list[Answer], float, float]:
    """Load, then ``break_it`` for ``OUTAGE_SECONDS``, then ``mend_it``, until creates
    succeed again; returns the creates, the probes and when the outage began and ended."""
    stop = asyncio.Event()
    creates = [
        asyncio.create_task(_create_until(stop, service.base_url, headers)) for _ in range(CLIENTS)
    ]
    probes = asyncio.create_task(_probe_until(stop, service.base_url))
    await asyncio.sleep(1.0)  # load before the outage
    broke = time.monotonic()
    await asyncio.to_thread(break_it)
    await asyncio.sleep(OUTAGE_SECONDS)
    mended = time.monotonic()  # from now on an answer may come from the mended database
    await asyncio.to_thread(mend_it)
    await asyncio.sleep(3.0)  # load after it
    stop.set()
    answers = [a for task in creates for a in await task]
    return answers, await probes, broke, mended


async def _stored_ids(url: str) -> set[str]:
    db = Database.from_url(url, pool_size=1)
    try:
        async with db.transaction() as session:
            rows = await session.execute(text("SELECT id::text FROM contacts"))
            return {row[0] for row in rows}
    finally:
        await db.dispose()


def _delivered_contact_ids(receiver: Receiver) -> set[str]:
    with receiver.lock:
        bodies = [json.loads(r.body) for r in receiver.received]
    return {b["data"]["id"] for b in bodies if b["type"] == "contact.created"}


def _wait_delivered(receiver: Receiver, ids: set[str], timeout: float) -> set[str]:
    deadline = time.monotonic() + timeout
    while not ids <= (delivered := _delivered_contact_ids(receiver)):
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return delivered


async def _check_outage(
    service: Service,
    database_url: str,
    receiver: Receiver,
    result: tuple[list[Answer], list[Answer], float, float],
) -> None:
    answers, probes, broke, mended = result
    statuses = {a.status for a in answers}
    assert statuses <= {201, 503}, [a.body for a in answers if a.status not in (201, 503)][:3]
    refused = [a for a in answers if a.status == 503]
    created = [a for a in answers if a.status == 201]
    assert refused, "the outage must have been met"
    assert any(a.sent > mended for a in created), "creates must succeed again afterwards"
    for answer in refused:
        assert answer.headers["retry-after"] == "5"
        assert answer.headers["content-type"] == "application/problem+json"
        assert str(answer.body["type"]).endswith("/service-unavailable")
    slowest = max(a.took for a in refused)
    assert slowest <= SLOWEST_ANSWER, f"a 503 took {slowest:.1f} s"

    during = [p for p in probes if broke + 0.5 < p.sent and p.sent + p.took < mended]
    assert during, "readiness must have been asked during the outage"
    assert {p.status for p in during} == {503}
    assert max(p.took for p in during) <= READY_ANSWER

    stored = await _stored_ids(database_url)
    confirmed = {str(a.body["id"]) for a in created}
    assert confirmed <= stored, "a contact confirmed by a 201 was lost"

    # The dispatcher delivers on its own after the outage: the receiver is polled for it.
    delivered = await asyncio.to_thread(_wait_delivered, receiver, confirmed, 60)
    assert confirmed <= delivered, "a created contact was not announced"

    log = service.log_path.read_text()
    warnings = [line for line in log.splitlines() if "database unavailable" in line]
    assert len(warnings) == 1, warnings
    back = [line for line in log.splitlines() if "database available again" in line]
    assert len(back) == 1, back
    assert "maximum number of running instances" not in log  # no warning per tick
    assert "Traceback" not in log
    assert '"unhandled error' not in log


async def test_a_stopped_database_answers_503_then_loses_nothing(
    postgres: PrivatePostgres, database_url: str, service: Service
) -> None:
    db = Database.from_url(database_url, pool_size=1)
    try:
        tenant = await make_tenant(db)
    finally:
        await db.dispose()
    with running() as receiver:
        register(service, tenant, receiver)
        result = await _under_load(service, tenant.headers, postgres.stop, postgres.start)
        await _check_outage(service, database_url, receiver, result)


async def test_a_hung_database_answers_503_within_the_timeout_then_loses_nothing(
    postgres: PrivatePostgres, database_url: str, service: Service
) -> None:
    db = Database.from_url(database_url, pool_size=1)
    try:
        tenant = await make_tenant(db)
    finally:
        await db.dispose()
    with running() as receiver:
        register(service, tenant, receiver)
        result = await _under_load(service, tenant.headers, postgres.pause, postgres.resume)
        await _check_outage(service, database_url, receiver, result)
