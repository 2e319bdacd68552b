"""Planning again when what touches depend on changes: a plan edit, a contact's zone.

Only touches still ``scheduled`` and not yet due are dropped and planned afresh, from
now and under the same occurrence keys, so an edit never rewrites or resends what was
already due or sent. A touch planned again under its key keeps its id (``Reuse``): a
member's task announced ahead (``task.assigned``) is the same task after the re-plan.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models.touches.tables import Touch
from app.services.touches.planning import Reuse, materialize


def _dropped(rows: Any) -> dict[tuple[uuid.UUID, uuid.UUID, str], uuid.UUID]:
    return {
        (r.enrollment_id, r.step_id, r.occurrence_key): r.id
        for r in rows
        if r.enrollment_id is not None and r.step_id is not None and r.occurrence_key
    }


_DROPPED = (
    col(Touch.enrollment_id),
    col(Touch.step_id),
    col(Touch.occurrence_key),
    col(Touch.id),
)


async def forget_future(
    session: AsyncSession, workspace_id: uuid.UUID, plan_id: uuid.UUID, *, at: datetime | None
) -> Reuse:
    """Drop a plan's touches still scheduled (due after ``at``; all of them if None);
    returns their ids by occurrence, for the re-plan to give back."""
    stmt = delete(Touch).where(
        col(Touch.workspace_id) == workspace_id,
        col(Touch.plan_id) == plan_id,
        col(Touch.status) == "scheduled",
    )
    if at is not None:
        stmt = stmt.where(col(Touch.due_at) > at)
    return _dropped(await session.execute(stmt.returning(*_DROPPED)))


async def replan(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    plan_id: uuid.UUID,
    *,
    at: datetime,
    sync_limit: int = 2000,
    reuse: Reuse | None = None,
) -> int:
    """After a plan edit: plan the active enrolments again from today.

    Up to ``sync_limit`` enrolments are planned in the request; any beyond are left with
    their horizon reset, and the top-up job plans them within the next ticks.
    """
    reset = await session.execute(
        text(
            "UPDATE enrollments "
            "SET materialized_until = GREATEST(start_date, CAST(:today AS date)) - 1 "
            "WHERE workspace_id = :ws AND plan_id = :plan AND status = 'active' "
            "RETURNING id"
        ),
        {"ws": workspace_id, "plan": plan_id, "today": at.date()},
    )
    ids = [r.id for r in reset]
    keys = [(workspace_id, i) for i in ids[:sync_limit]]
    await materialize(session, keys, at=at, not_before=at, reuse=reuse)
    return len(ids)


async def replan_contact(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID, *, at: datetime
) -> int:
    """The contact's time zone or yearly dates changed: plan their future touches again.

    Touches already due keep their time; scheduled ones are dropped and planned afresh
    from now (same occurrence keys, so nothing already sent comes back).
    """
    return await replan_contacts(session, workspace_id, [contact_id], at=at)


async def replan_contacts(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    contact_ids: Sequence[uuid.UUID],
    *,
    at: datetime,
) -> int:
    """``replan_contact`` for many contacts with one statement per step (bulk imports)."""
    if not contact_ids:
        return 0
    dropped = await session.execute(
        delete(Touch)
        .where(
            col(Touch.workspace_id) == workspace_id,
            col(Touch.contact_id).in_(list(contact_ids)),
            col(Touch.enrollment_id).is_not(None),
            col(Touch.status) == "scheduled",
            col(Touch.due_at) > at,
        )
        .returning(*_DROPPED)
    )
    reuse = _dropped(dropped)
    reset = await session.execute(
        text(
            "UPDATE enrollments "
            "SET materialized_until = GREATEST(start_date, CAST(:today AS date)) - 1 "
            "WHERE workspace_id = :ws AND contact_id = ANY(:contacts) AND status = 'active' "
            "RETURNING id"
        ),
        {"ws": workspace_id, "contacts": list(contact_ids), "today": at.date()},
    )
    keys = [(workspace_id, r.id) for r in reset]
    await materialize(session, keys, at=at, not_before=at, reuse=reuse)
    return len(keys)
