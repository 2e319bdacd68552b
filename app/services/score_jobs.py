"""The nightly recompute: lapses, then suggested stages, then scores, per workspace.

Order matters: a lapse lowers the suggested stage, so lapses are marked first. Each
workspace is one transaction under an advisory lock; the scheduler job runs every tick but
only picks workspaces whose last run is older than their latest local ``NIGHTLY_AT``, so
every workspace is scored once a night, in its own time zone, by whichever replica gets
there first (the others fail the try-lock or find the run already recorded).
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime

from sqlalchemy import TextClause, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import Clock
from app.config import Settings
from app.db import Database
from app.models.score import ScoreRun
from app.models.score_schemas import RecomputeResult
from app.models.workspace import Workspace
from app.services.advocacy import apply_suggestions
from app.services.lapses import mark_lapses
from app.services.score_sql import LOCK_KEY
from app.services.scores import recompute_scores

NIGHTLY_AT = "02:00"

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
    ids = (await session.execute(select(Workspace.id).order_by(Workspace.id))).scalars().all()
    return {ws: await recompute_workspace(session, ws, at=at) for ws in ids}


async def nightly_scores(db: Database, clock: Clock, settings: Settings) -> int:
    """Scheduler job: recompute the workspaces that are due, one transaction each."""
    done = 0
    at = clock.now()
    async with db.transaction() as session:
        due = (await session.execute(DUE, {"at": at, "ws": None, "limit": 100})).scalars().all()
    for workspace_id in due:
        async with db.transaction() as session:
            if not (await session.execute(TRY_LOCK, {"ws": workspace_id})).scalar_one():
                continue  # another replica is on it
            still_due = await session.execute(DUE, {"at": at, "ws": workspace_id, "limit": 1})
            if still_due.first() is None:
                continue  # another replica finished it since we looked
            await recompute_workspace(session, workspace_id, at=at)
            done += 1
    return done
