"""Merge hooks for what a contact accumulates over time: plans, touches, scores, arms.

Re-pointing these can collide with a unique key, so each hook decides which row survives:

* enrolments: a contact is on a plan at most once at a time. Where both contacts are on
  the same plan (active or paused), the kept contact's enrolment continues and the merged
  contact's is cancelled (reason ``merged``) with its touches not yet due; the cancelled
  enrolment still moves, so the plan's history stays whole. Every other enrolment moves
  as it is.
* experiment assignments: the kept contact keeps their own arm where both were assigned,
  elsewhere they inherit the merged contact's arm.
* touches all move, sent and completed ones included, so ``interactions.touch_id`` keeps
  pointing at a touch of the contact that logged it.
* ``contact_scores`` holds one row per contact: the kept contact's row wins, the merged
  contact's is moved only when the kept one has none (the nightly recompute reads the
  merged interactions anyway). Score history moves except for points the kept contact
  already has at the same ``computed_at`` (both scored in one run: the kept point wins).

Stage history has no unique key and is a plain ``MERGE_REFERENCES`` entry.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models.referrals import ExperimentAssignment

_CANCEL_DUPLICATE_ENROLMENTS = text(
    """
    WITH dup AS (
        UPDATE enrollments AS o
           SET status = 'cancelled', reason = 'merged', cancelled_at = :at, paused_at = NULL,
               updated_at = :at, version = o.version + 1
         WHERE o.workspace_id = :ws AND o.contact_id = :other
           AND o.status IN ('active', 'paused')
           AND EXISTS (
               SELECT 1 FROM enrollments AS k
                WHERE k.workspace_id = :ws AND k.contact_id = :keep
                  AND k.plan_id = o.plan_id AND k.status IN ('active', 'paused'))
        RETURNING o.id
    )
    UPDATE touches AS t
       SET status = 'cancelled', reason = 'merged', finished_at = :at, updated_at = :at,
           version = t.version + 1
      FROM dup
     WHERE t.workspace_id = :ws AND t.enrollment_id = dup.id AND t.status = 'scheduled'
    """
)
_MOVE_ENROLMENTS = text(
    """
    UPDATE enrollments SET contact_id = :keep, updated_at = :at, version = version + 1
     WHERE workspace_id = :ws AND contact_id = :other
    """
)
_MOVE_TOUCHES = text(
    """
    UPDATE touches SET contact_id = :keep, updated_at = :at, version = version + 1
     WHERE workspace_id = :ws AND contact_id = :other
    """
)
_MOVE_SCORE = text(
    """
    UPDATE contact_scores SET contact_id = :keep
     WHERE workspace_id = :ws AND contact_id = :other
       AND NOT EXISTS (
           SELECT 1 FROM contact_scores WHERE workspace_id = :ws AND contact_id = :keep)
    """
)
_MOVE_SCORE_HISTORY = text(
    """
    UPDATE contact_score_history AS h SET contact_id = :keep
     WHERE h.workspace_id = :ws AND h.contact_id = :other
       AND NOT EXISTS (
           SELECT 1 FROM contact_score_history AS k
            WHERE k.workspace_id = :ws AND k.contact_id = :keep
              AND k.computed_at = h.computed_at)
    """
)


async def merge_enrollments(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    keep_id: uuid.UUID,
    other_id: uuid.UUID,
    at: datetime,
) -> None:
    """Merge hook: move enrolments and touches; one open enrolment per plan survives."""
    params = {"ws": workspace_id, "keep": keep_id, "other": other_id, "at": at}
    for stmt in (_CANCEL_DUPLICATE_ENROLMENTS, _MOVE_ENROLMENTS, _MOVE_TOUCHES):
        await session.execute(stmt, params)


async def merge_scores(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    keep_id: uuid.UUID,
    other_id: uuid.UUID,
    at: datetime,
) -> None:
    """Merge hook: keep the kept contact's current score, move the other's history."""
    params = {"ws": workspace_id, "keep": keep_id, "other": other_id}
    for stmt in (_MOVE_SCORE, _MOVE_SCORE_HISTORY):
        await session.execute(stmt, params)


async def merge_assignments(
    session: AsyncSession, workspace_id: uuid.UUID, keep_id: uuid.UUID, other_id: uuid.UUID
) -> None:
    """Contact-merge hook: the kept contact keeps their own arm where both were assigned
    (their referrals already used it); elsewhere they inherit the merged contact's arm."""
    mine = ExperimentAssignment
    keeps = select(col(mine.experiment_id)).where(
        col(mine.workspace_id) == workspace_id, col(mine.contact_id) == keep_id
    )
    await session.execute(
        delete(mine).where(
            col(mine.workspace_id) == workspace_id,
            col(mine.contact_id) == other_id,
            col(mine.experiment_id).in_(keeps),
        )
    )
    await session.execute(
        update(mine)
        .where(col(mine.workspace_id) == workspace_id, col(mine.contact_id) == other_id)
        .values(contact_id=keep_id)
    )
