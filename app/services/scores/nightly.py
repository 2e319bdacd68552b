"""The nightly recompute: lapses, then suggested stages, then scores, per workspace.

Order matters: a lapse lowers the suggested stage, so lapses are marked first. Each
workspace is one transaction under an advisory lock; the scheduler job runs every tick but
only picks workspaces whose last run (``score_runs``) is older than their latest local
``NIGHTLY_AT``, so every workspace is scored once a night, in its own time zone, by
whichever replica gets there first (the others fail the try-lock or find the run already
recorded). ``NIGHTLY_AT`` is the one source of truth for the hour: a per-workspace local
night keeps lapse and stage events out of the team's working day wherever it is.

Ticks where nothing is due cost no query at all: after a sweep that left nothing behind,
the job remembers (per process and database) the next moment any workspace's local
``NIGHTLY_AT`` comes round and does nothing until then. The memory is only an
optimisation; what has run is decided by ``score_runs`` under the lock.
"""

from __future__ import annotations

import logging
import time
import uuid
import weakref
from datetime import datetime, timedelta

from sqlalchemy import TextClause, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.clock import Clock
from app.config import Settings
from app.db import Database
from app.models.platform import Workspace
from app.models.scores.schemas import RecomputeResult
from app.models.scores.tables import ScoreRun
from app.services.scores.advocacy import apply_suggestions
from app.services.scores.lapses import mark_lapses
from app.services.scores.strength import recompute_scores
from app.services.scores.strength_sql import LOCK_KEY

log = logging.getLogger("rapport.scores")

NIGHTLY_AT = "02:00"
#: Workspaces one tick may pick; the rest wait for the next tick.
DUE_BATCH = 100

# Workspaces whose last run is older than the most recent NIGHTLY_AT in their time zone.
DUE: TextClause = text(
    f"""
WITH local AS (
    SELECT w.id, w.time_zone,
           (date_trunc('day', CAST(:at AS timestamptz) AT TIME ZONE w.time_zone)
               + interval '{NIGHTLY_AT}') AS today_run
      FROM workspaces w
     WHERE CAST(:ws AS uuid) IS NULL OR w.id = CAST(:ws AS uuid)
)
SELECT l.id
  FROM local l
  LEFT JOIN score_runs r ON r.workspace_id = l.id
 WHERE r.last_run_at IS NULL
    OR r.last_run_at < (CASE WHEN CAST(:at AS timestamptz) AT TIME ZONE l.time_zone >= l.today_run
                             THEN l.today_run ELSE l.today_run - interval '1 day' END)
                       AT TIME ZONE l.time_zone
 ORDER BY r.last_run_at NULLS FIRST
 LIMIT :limit
"""
)
TRY_LOCK: TextClause = text(f"SELECT pg_try_advisory_xact_lock({LOCK_KEY})")

# The next local NIGHTLY_AT after :at, over every time zone a workspace uses.
NEXT_DUE: TextClause = text(
    f"""
WITH zones AS (
    SELECT DISTINCT w.time_zone AS tz FROM workspaces w
), local AS (
    SELECT tz, date_trunc('day', CAST(:at AS timestamptz) AT TIME ZONE tz)
               + interval '{NIGHTLY_AT}' AS today_run
      FROM zones
)
SELECT min((CASE WHEN CAST(:at AS timestamptz) AT TIME ZONE tz < today_run THEN today_run
                 ELSE today_run + interval '1 day' END) AT TIME ZONE tz)
  FROM local
"""
)


async def recompute_workspace(
    session: AsyncSession, workspace_id: uuid.UUID, *, at: datetime
) -> RecomputeResult:
    started = time.perf_counter()
    lapsed, recovered = await mark_lapses(session, workspace_id, at=at)
    stages = await apply_suggestions(session, workspace_id, at=at)
    scored, history = await recompute_scores(session, workspace_id, at=at)
    duration_ms = int((time.perf_counter() - started) * 1000)
    await session.execute(
        insert(ScoreRun)
        .values(workspace_id=workspace_id, last_run_at=at, scored=scored, duration_ms=duration_ms)
        .on_conflict_do_update(
            index_elements=["workspace_id"],
            set_={"last_run_at": at, "scored": scored, "duration_ms": duration_ms},
        )
    )
    return RecomputeResult(
        lapsed=lapsed,
        recovered=recovered,
        stages_changed=stages,
        scored=scored,
        history_rows=history,
        computed_at=at,
        duration_ms=duration_ms,
    )


async def recompute_all(session: AsyncSession, at: datetime) -> dict[uuid.UUID, RecomputeResult]:
    """Every workspace in the caller's transaction (operations, tests); the scheduler uses
    :func:`nightly_scores`, which commits workspace by workspace."""
    ids = (
        (await session.execute(select(col(Workspace.id)).order_by(col(Workspace.id))))
        .scalars()
        .all()
    )
    return {ws: await recompute_workspace(session, ws, at=at) for ws in ids}


async def _claim_and_recompute(db: Database, workspace_id: uuid.UUID, at: datetime) -> bool | None:
    """Recompute one due workspace in its own transaction.

    Returns True when this call did the run, False when it was already done, None when
    another replica holds the workspace right now (its run may still fail and roll back).
    """
    async with db.transaction() as session:
        if not (await session.execute(TRY_LOCK, {"ws": workspace_id})).scalar_one():
            return None
        still_due = await session.execute(DUE, {"at": at, "ws": workspace_id, "limit": 1})
        if still_due.first() is None:
            return False  # another replica finished it since we looked
        await recompute_workspace(session, workspace_id, at=at)
        return True


async def nightly_scores(
    db: Database, clock: Clock, *, budget_seconds: float | None = None
) -> tuple[int, bool]:
    """Recompute the workspaces that are due, one transaction each.

    Returns ``(recomputed, finished)``: ``finished`` is true when nothing due was left
    behind (none held by another replica, none postponed for lack of time), which is
    when the caller may stop looking until the next ``NIGHTLY_AT``. A workspace whose
    recompute fails does not stop the others; the first failure is raised at the end so
    the tick is counted and logged as failed, and the workspace is retried next tick.
    """
    at = clock.now()
    deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
    async with db.transaction() as session:
        params = {"at": at, "ws": None, "limit": DUE_BATCH}
        due = (await session.execute(DUE, params)).scalars().all()
    done, finished = 0, len(due) < DUE_BATCH
    failure: Exception | None = None
    for workspace_id in due:
        if deadline is not None and time.monotonic() > deadline:
            finished = False  # the rest wait for the next tick
            break
        try:
            outcome = await _claim_and_recompute(db, workspace_id, at)
        except Exception as exc:  # one broken workspace must not starve the others
            log.exception("nightly recompute failed", extra={"workspace_id": str(workspace_id)})
            failure = failure or exc
            continue
        if outcome is None:
            finished = False
        done += outcome is True
    if failure is not None:
        raise failure
    return done, finished


async def next_due_at(db: Database, at: datetime) -> datetime:
    """The next local ``NIGHTLY_AT`` of any workspace after ``at`` (a day on when none)."""
    async with db.transaction() as session:
        nxt = (await session.execute(NEXT_DUE, {"at": at})).scalar_one()
    return nxt if nxt is not None else at + timedelta(days=1)


class NightlyScoresJob:
    """The scheduler job around :func:`nightly_scores`, idle between local nights.

    ``idle_until`` is kept per :class:`Database` (a weak mapping), so one process serving
    several databases (tests) never carries one database's calm over to another.
    """

    def __init__(self) -> None:
        self.idle_until: weakref.WeakKeyDictionary[Database, datetime] = weakref.WeakKeyDictionary()

    async def __call__(self, db: Database, clock: Clock, settings: Settings) -> int:
        at = clock.now()
        idle = self.idle_until.get(db)
        if idle is not None and at < idle:
            return 0
        budget = max(1.0, settings.scheduler_interval_seconds * 0.8)
        done, finished = await nightly_scores(db, clock, budget_seconds=budget)
        if finished:
            self.idle_until[db] = await next_due_at(db, at)
        else:
            self.idle_until.pop(db, None)
        return done
