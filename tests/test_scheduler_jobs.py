"""The scheduler's registered jobs: nightly scores once a local night per workspace (also
with two replicas), idle ticks that cost no query, expired idempotency keys purged, and the
scheduler's Prometheus counters."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from prometheus_client import REGISTRY
from sqlalchemy import event, func, select, text, update

from app.clock import Clock, FrozenClock
from app.config import Settings
from app.db import Database
from app.models.platform.event import Event
from app.models.platform.idempotency import IdempotencyRecord
from app.models.platform.workspace import Workspace
from app.models.scores.tables import ScoreRun
from app.services.contacts.interactions import mark_engaged
from app.services.jobs import JOBS
from app.services.platform.idempotency import purge_expired
from app.services.platform.scheduler import Job, run_jobs
from app.services.scores.nightly import NightlyScoresJob
from app.services.touches.jobs import emit_touches
from tests import score_fixtures as f
from tests.conftest import T0, Tenant, make_settings, make_tenant
from tests.test_touch_emit import enrol_8x8

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


def _jobs() -> dict[str, Job]:
    return {job.name: job for job in JOBS}


def test_nightly_scores_and_idempotency_purge_are_registered() -> None:
    jobs = _jobs()
    assert isinstance(jobs["scores.nightly"].run, NightlyScoresJob)
    assert "idempotency.purge_expired" in jobs
    assert list(jobs)[-1] == "scores.nightly"  # the slow one never delays touches


async def _set_zone(db: Database, ws: uuid.UUID, zone: str) -> None:
    async with db.transaction() as s:
        await s.execute(update(Workspace).where(Workspace.id == ws).values(time_zone=zone))


async def _runs(db: Database) -> dict[uuid.UUID, Any]:
    async with db.transaction() as s:
        rows = (await s.execute(select(ScoreRun.workspace_id, ScoreRun.last_run_at))).all()
    return {r.workspace_id: r.last_run_at for r in rows}


async def _tick(db: Database, clock: Clock, job: NightlyScoresJob) -> object:
    results = await run_jobs(db, clock, make_settings(), [Job("scores.nightly", job)])
    return results["scores.nightly"]


async def test_each_workspace_is_scored_once_a_night_at_its_local_two_oclock(
    committed_db: Database,
) -> None:
    london = await make_tenant(committed_db, "London")
    new_york = await make_tenant(committed_db, "New York")
    await _set_zone(committed_db, london.id, "Europe/London")  # UTC+0 in November
    await _set_zone(committed_db, new_york.id, "America/New_York")  # UTC-5 in November
    clock = FrozenClock(T0)  # Monday 23 November 2026, 12:00 UTC
    job = NightlyScoresJob()

    assert await _tick(committed_db, clock, job) == 2  # never scored: both at once
    first = await _runs(committed_db)
    assert first == {london.id: T0, new_york.id: T0}

    # Tick every 30 minutes for three days and note every run the job records.
    runs: list[tuple[str, Any]] = []
    names = {london.id: "london", new_york.id: "new_york"}
    seen = dict(first)
    for _ in range(3 * 48):
        clock.advance(timedelta(minutes=30))
        result = await _tick(committed_db, clock, job)
        assert not isinstance(result, Exception), result
        now = await _runs(committed_db)
        runs += [(names[ws], at) for ws, at in now.items() if at != seen[ws]]
        assert len([1 for ws, at in now.items() if at != seen[ws]]) == result
        seen = now

    day = T0.replace(hour=0)
    assert runs == [
        ("london", day + DAY + 2 * HOUR),
        ("new_york", day + DAY + 7 * HOUR),
        ("london", day + 2 * DAY + 2 * HOUR),
        ("new_york", day + 2 * DAY + 7 * HOUR),
        ("london", day + 3 * DAY + 2 * HOUR),
        ("new_york", day + 3 * DAY + 7 * HOUR),
    ]


async def test_two_replicas_at_the_same_moment_score_each_workspace_once(
    committed_db: Database, committed_url: str
) -> None:
    tenants = [await make_tenant(committed_db, f"Office {n}") for n in range(4)]
    async with committed_db.transaction() as s:
        for t in tenants:
            drifting = await f.contact(s, t.id, "Drifting", created_at=T0 - 200 * DAY)
            await mark_engaged(s, t.id, [drifting], T0 - 120 * DAY, at=T0 - 120 * DAY)
    other_replica = Database.from_url(committed_url, pool_size=5)
    clock = FrozenClock(T0 + DAY)
    try:
        done = await asyncio.gather(
            _tick(committed_db, clock, NightlyScoresJob()),
            _tick(other_replica, clock, NightlyScoresJob()),
        )
    finally:
        await other_replica.dispose()
    assert sum(int(str(n)) for n in done) == 4
    async with committed_db.transaction() as s:
        stmt = select(Event.workspace_id, func.count()).where(Event.type == "contact.lapsed")
        lapses = {r[0]: r[1] for r in (await s.execute(stmt.group_by(Event.workspace_id))).all()}
    assert lapses == {t.id: 1 for t in tenants}  # one lapse event each, not two


async def test_a_workspace_held_by_another_replica_is_retried_on_the_next_tick(
    committed_db: Database,
) -> None:
    tenant = await make_tenant(committed_db)
    job = NightlyScoresJob()
    clock = FrozenClock(T0)
    lock = text("SELECT pg_advisory_lock(hashtextextended('rapport.scores:' || :ws, 0))")
    unlock = text("SELECT pg_advisory_unlock(hashtextextended('rapport.scores:' || :ws, 0))")
    async with committed_db.engine.connect() as holder:
        await holder.execute(lock, {"ws": str(tenant.id)})
        assert await _tick(committed_db, clock, job) == 0
        await holder.execute(unlock, {"ws": str(tenant.id)})
    assert await _tick(committed_db, clock, job) == 1  # not idled away by the contention
    assert await _runs(committed_db) == {tenant.id: T0}


@contextmanager
def _statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)


async def test_ticks_between_nights_send_no_query(committed_db: Database) -> None:
    await make_tenant(committed_db)
    job = NightlyScoresJob()
    clock = FrozenClock(T0)
    assert await _tick(committed_db, clock, job) == 1
    assert job.idle_until[committed_db] == T0.replace(hour=2) + DAY  # UTC workspace
    with _statements(committed_db) as seen:
        for _ in range(20):
            clock.advance(timedelta(minutes=30))
            assert await _tick(committed_db, clock, job) == 0
    assert seen == []
    clock.set(T0.replace(hour=2) + DAY)
    assert await _tick(committed_db, clock, job) == 1


async def _idempotency_record(
    db: Database, tenant: Tenant, key: str, expires_in: timedelta
) -> None:
    async with db.transaction() as s:
        s.add(
            IdempotencyRecord(
                workspace_id=tenant.id,
                key=key,
                request_hash="0" * 64,
                status_code=201,
                headers={},
                body=b"{}",
                created_at=T0,
                expires_at=T0 + expires_in,
            )
        )


async def _keys(db: Database) -> list[str]:
    async with db.transaction() as s:
        return sorted((await s.execute(select(IdempotencyRecord.key))).scalars())


async def test_purge_job_deletes_expired_keys_only(db: Database, tenant: Tenant) -> None:
    for n in range(5):
        await _idempotency_record(db, tenant, f"old-{n}", -HOUR)
    await _idempotency_record(db, tenant, "at-expiry", timedelta(0))
    await _idempotency_record(db, tenant, "live", HOUR)
    async with db.transaction() as s:
        assert await purge_expired(s, at=T0, limit=2) == 2  # bounded batches
    results = await run_jobs(
        db, FrozenClock(T0), make_settings(), [_jobs()["idempotency.purge_expired"]]
    )
    assert results == {"idempotency.purge_expired": 4}
    assert await _keys(db) == ["live"]
    results = await run_jobs(
        db, FrozenClock(T0), make_settings(), [_jobs()["idempotency.purge_expired"]]
    )
    assert results == {"idempotency.purge_expired": 0}


def _sample(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


async def test_ticks_are_counted_per_job_and_result(db: Database) -> None:
    async def fine(_db: Database, _clock: Clock, _settings: Settings) -> int:
        return 1

    async def broken(_db: Database, _clock: Clock, _settings: Settings) -> int:
        raise RuntimeError("boom")

    ok = {"job": "test.fine", "result": "ok"}
    failed = {"job": "test.broken", "result": "error"}
    before = (
        _sample("rapport_scheduler_ticks_total", ok),
        _sample("rapport_scheduler_ticks_total", failed),
    )
    jobs = [Job("test.fine", fine), Job("test.broken", broken)]
    for _ in range(3):
        await run_jobs(db, FrozenClock(T0), make_settings(), jobs)
    after = (
        _sample("rapport_scheduler_ticks_total", ok),
        _sample("rapport_scheduler_ticks_total", failed),
    )
    assert (after[0] - before[0], after[1] - before[1]) == (3.0, 3.0)
    assert _sample("rapport_scheduler_ticks_total", {"job": "test.fine", "result": "error"}) == 0


async def test_emitted_touches_are_counted(db: Database, tenant: Tenant) -> None:
    """Claimed touches count, whatever became of them: week 1's e-mail released, the card
    of the day before the enrolment (caught up) stale by now."""
    await enrol_8x8(db, tenant, T0.date() - timedelta(days=7), catch_up=True)
    before = _sample("rapport_touches_emitted_total")
    assert await emit_touches(db, FrozenClock(T0), make_settings()) == 2
    assert await emit_touches(db, FrozenClock(T0), make_settings()) == 0
    assert _sample("rapport_touches_emitted_total") - before == 2.0
