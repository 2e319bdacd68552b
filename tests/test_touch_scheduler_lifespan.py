"""The app's lifespan owns the scheduler: started when enabled, stopped on shutdown.

Ticks are observed through ``run_jobs`` (wrapped to signal an event), never by sleeping;
business time is a ``FrozenClock`` set when the 8x8 plan's first touches are due.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.clock import Clock, FrozenClock
from app.config import Settings
from app.db import Database
from app.main import create_app
from app.models.touches.tables import Touch
from app.services.platform import scheduler
from app.services.platform.scheduler import Job, Scheduler
from app.state import AppState
from tests.conftest import T0, make_settings, make_tenant
from tests.test_touch_emit import enrol_8x8, events_of

DUE_AT = T0 + timedelta(days=1)  # enrolled at T0: the week-1 card is due the next morning
TIMEOUT = 20.0


def _app(db: Database, **settings: Any) -> FastAPI:
    return create_app(make_settings(**settings), database=db, clock=FrozenClock(DUE_AT))


def _schedulers(app: FastAPI) -> list[Scheduler]:
    state: AppState = app.state.rapport
    return [w for w in state.background if isinstance(w, Scheduler)]


async def _statuses(db: Database, tenant_id: uuid.UUID) -> list[str]:
    async with db.transaction() as session:
        stmt = select(Touch.status).where(Touch.workspace_id == tenant_id, Touch.due_at <= DUE_AT)
        return list((await session.execute(stmt)).scalars())


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """What an ASGI server does: run startup, serve, run shutdown."""
    async with app.router.lifespan_context(app):
        yield


@pytest.fixture
def ticks(monkeypatch: pytest.MonkeyPatch) -> list[asyncio.Event]:
    """One event per finished tick, set after ``run_jobs`` returns."""
    finished: list[asyncio.Event] = [asyncio.Event()]
    original = scheduler.run_jobs

    async def run_jobs(
        db: Database, clock: Clock, settings: Settings, jobs: list[Job] | None = None
    ) -> dict[str, object]:
        results = await original(db, clock, settings, jobs)
        finished[-1].set()
        finished.append(asyncio.Event())
        return results

    monkeypatch.setattr(scheduler, "run_jobs", run_jobs)
    return finished


async def test_enabled_scheduler_ticks_at_startup_and_emits_due_touches(
    committed_db: Database, ticks: list[asyncio.Event]
) -> None:
    tenant = await make_tenant(committed_db)
    await enrol_8x8(committed_db, tenant, T0.date())
    assert await _statuses(committed_db, tenant.id) == ["scheduled"]
    app = _app(committed_db, scheduler_enabled=True, scheduler_interval_seconds=3600)
    async with _lifespan(app):
        (worker,) = _schedulers(app)
        async with asyncio.timeout(TIMEOUT):
            await ticks[0].wait()
        assert await _statuses(committed_db, tenant.id) == ["due"]
        assert worker._aps.running
    assert await _stopped(worker)
    (due,) = await events_of(committed_db, tenant.id, "task.due")  # the card: a task
    assert due["channel"] == "card"
    assert due["id"] == str(await _due_id(committed_db, tenant.id))
    assert due["due_at"] == DUE_AT.isoformat().replace("+00:00", "Z")  # released at the tick


async def _stopped(worker: Scheduler) -> bool:
    """AsyncIOScheduler.shutdown runs on the loop's next turn (``call_soon_threadsafe``)."""
    for _ in range(10):
        if not worker._aps.running:
            return worker._running is None and worker._aps.get_jobs() == []
        await asyncio.sleep(0)
    return False


async def _due_id(db: Database, tenant_id: uuid.UUID) -> Any:
    async with db.transaction() as session:
        stmt = select(Touch.id).where(Touch.workspace_id == tenant_id, Touch.status == "due")
        return (await session.execute(stmt)).scalar_one()


async def test_disabled_scheduler_is_not_started(
    committed_db: Database, ticks: list[asyncio.Event], monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[Scheduler] = []
    monkeypatch.setattr(Scheduler, "start", _recorder(started, Scheduler.start))
    tenant = await make_tenant(committed_db)
    await enrol_8x8(committed_db, tenant, T0.date())
    app = _app(committed_db, scheduler_enabled=False)
    async with _lifespan(app):
        assert _schedulers(app) == []
    assert started == []
    assert not ticks[0].is_set()
    assert await _statuses(committed_db, tenant.id) == ["scheduled"]


def _recorder(calls: list[Scheduler], start: Callable[[Scheduler], None]) -> Any:
    def record(self: Scheduler) -> None:
        calls.append(self)
        start(self)

    return record


async def test_shutdown_stops_the_scheduler_and_lets_the_running_tick_finish(
    committed_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shutdown during a tick: the tick's work is committed, not cut off, and no tick
    follows (APScheduler is shut down, the job is gone)."""
    inside, release = asyncio.Event(), asyncio.Event()
    original = scheduler.run_jobs

    async def slow_tick(
        db: Database, clock: Clock, settings: Settings, jobs: list[Job] | None = None
    ) -> dict[str, object]:
        inside.set()
        await release.wait()
        return await original(db, clock, settings, jobs)

    monkeypatch.setattr(scheduler, "run_jobs", slow_tick)
    tenant = await make_tenant(committed_db)
    await enrol_8x8(committed_db, tenant, T0.date())
    app = _app(committed_db, scheduler_enabled=True, scheduler_interval_seconds=3600)
    lifespan = _lifespan(app)
    await lifespan.__aenter__()
    (worker,) = _schedulers(app)
    async with asyncio.timeout(TIMEOUT):
        await inside.wait()
    shutdown = asyncio.ensure_future(lifespan.__aexit__(None, None, None))
    for _ in range(20):  # let shutdown run as far as it can without the tick
        await asyncio.sleep(0)
    assert not shutdown.done()  # it waits for the tick in flight
    release.set()
    async with asyncio.timeout(TIMEOUT):
        await asyncio.wait([shutdown])
    assert not shutdown.cancelled()
    assert shutdown.exception() is None
    assert await _stopped(worker)
    assert await _statuses(committed_db, tenant.id) == ["due"]
