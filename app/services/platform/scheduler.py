"""The periodic scheduler: one APScheduler tick that runs every registered job in turn.

Jobs do no heavy lifting themselves: each opens short transactions and calls a service
(``planning.top_up``, ``emit.emit_due_touches``...). Business time comes
from the injected clock, so tests call a job function directly with a ``FrozenClock``
instead of waiting for APScheduler. Every replica may run the scheduler: the services
claim their work with ``FOR UPDATE SKIP LOCKED``, so replicas share it, never repeat it.

The jobs themselves belong to their domains (``touches.emit_touches``,
``referrals.follow_up_job``...); the list a tick runs, in order, is
``app.services.jobs.JOBS``. A job is an async callable ``job(db, clock, settings)``; a
failing job is logged and does not stop the jobs after it, nor the next tick. A database
that is unavailable ends the tick instead (the next jobs would only fail the same way),
logged once per outage (``app.outages``), and the next tick tries again.

The scheduler's jobs run on connections of their own, whose statements may run for
``RAPPORT_SCHEDULER_STATEMENT_TIMEOUT_MS`` (a big workspace's nightly scores take
seconds) where a request's are cut at ``RAPPORT_DB_STATEMENT_TIMEOUT_MS``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import Clock
from app.config import Settings
from app.db import Database
from app.metrics import SCHEDULER_TICKS
from app.outages import outages, unavailable_cause

log = logging.getLogger("rapport.scheduler")

JobFn = Callable[[Database, Clock, Settings], Awaitable[object]]
STOP_GRACE_SECONDS = 30.0


@dataclass(frozen=True)
class Job:
    name: str
    run: JobFn


def _budget(settings: Settings) -> float:
    """Seconds a job may keep looping: most of one interval, so ticks do not pile up."""
    return max(1.0, settings.scheduler_interval_seconds * 0.8)


async def in_batches(
    db: Database,
    settings: Settings,
    batch: Callable[[AsyncSession], Awaitable[int]],
    limit: int,
    counter: Counter | None = None,
) -> int:
    """Run ``batch`` a transaction at a time until it does less than ``limit`` or the
    tick's budget runs out; returns the rows done. Counting per committed batch means a
    later failure loses no count."""
    deadline = time.monotonic() + _budget(settings)
    total = 0
    while True:
        async with db.transaction() as session:
            n = await batch(session)
        if counter is not None:
            counter.inc(n)
        total += n
        if n < limit or time.monotonic() > deadline:
            return total


async def run_jobs(
    db: Database, clock: Clock, settings: Settings, jobs: Sequence[Job]
) -> dict[str, object]:
    """One tick: every job once, in order; returns each job's result (or its error).

    Each run counts in ``rapport_scheduler_ticks_total{job, result="ok"|"error"}``.
    """
    results: dict[str, object] = {}
    for job in jobs:
        began = time.perf_counter()
        try:
            results[job.name] = await job.run(db, clock, settings)
        except Exception as exc:  # one broken job must not starve the others
            results[job.name] = exc
            SCHEDULER_TICKS.labels(job=job.name, result="error").inc()
            cause = unavailable_cause(exc)
            if cause is not None:  # the others would fail the same way: try next tick
                outages.failed(cause, where=f"scheduler job {job.name}", began=began)
                return results
            log.exception("scheduler job failed", extra={"job": job.name})
        else:
            SCHEDULER_TICKS.labels(job=job.name, result="ok").inc()
    return results


class Scheduler:
    """The lifespan's worker: starts APScheduler, and ``stop()`` waits for a running tick."""

    def __init__(self, db: Database, clock: Clock, settings: Settings, jobs: Sequence[Job]) -> None:
        self.db, self.clock, self.settings, self.jobs = db, clock, settings, jobs
        self._aps = AsyncIOScheduler(timezone=UTC)
        self._running: asyncio.Task[dict[str, object]] | None = None

    async def tick(self) -> None:
        """Start one tick, unless the last one is still running (a database that hangs,
        a long night's scores): then this one is skipped, quietly, where APScheduler's
        own ``max_instances`` logged a warning at every interval of an outage.

        The tick runs as a task of its own rather than as APScheduler's job, so
        APScheduler's shutdown, which cancels its running jobs, cannot cut it off:
        ``stop()`` waits for it (up to ``STOP_GRACE_SECONDS``) and its transactions
        commit.
        """
        if self._running is not None:
            log.debug("tick skipped: the previous tick is still running")
            return
        running = asyncio.ensure_future(run_jobs(self.db, self.clock, self.settings, self.jobs))
        self._running = running
        running.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[dict[str, object]]) -> None:
        if self._running is task:
            self._running = None
        if not task.cancelled() and task.exception() is not None:  # run_jobs catches all
            log.error("scheduler tick failed", exc_info=task.exception())

    def start(self) -> None:
        self._aps.add_job(
            self.tick,
            "interval",
            seconds=self.settings.scheduler_interval_seconds,
            next_run_time=datetime.now(UTC),  # APScheduler runs on wall time: tick at once
            max_instances=1,
            coalesce=True,
            id="rapport.tick",
        )
        self._aps.start()

    async def stop(self) -> None:
        self._aps.shutdown(wait=False)
        running = self._running
        if running is not None:
            try:
                async with asyncio.timeout(STOP_GRACE_SECONDS):
                    await asyncio.shield(running)
            except TimeoutError:
                running.cancel()  # its transaction rolls back; the next replica redoes it
