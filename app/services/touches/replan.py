"""Planning again when what touches depend on changes: a plan edit, a contact's zone.

Only touches still ``scheduled`` and not yet due are dropped and planned afresh, from
now and under the same occurrence keys, so an edit never rewrites or resends what was
already due or sent. A touch planned again under its key keeps its id (``Reuse``): a
member's task announced ahead (``task.assigned``) is the same task after the re-plan.
A task not planned again (its step was removed, it moved before now) is withdrawn
(``task.cancelled``, reason ``replanned``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models.touches.tables import Touch
from app.services.touches.planning import materialize
from app.services.touches.tasks import WITHDRAWN, announce_cancelled


@dataclass
class Dropped:
    """Touches a re-plan dropped: their ids by occurrence (``reuse``) and the tasks."""

    reuse: dict[tuple[uuid.UUID, uuid.UUID, str], uuid.UUID] = field(default_factory=dict)
    tasks: list[Mapping[Any, Any]] = field(default_factory=list)


def _dropped(rows: Any) -> Dropped:
    found = Dropped()
    for r in rows:
        if r.enrollment_id is not None and r.step_id is not None and r.occurrence_key:
            found.reuse[(r.enrollment_id, r.step_id, r.occurrence_key)] = r.id
        if r.mode == "manual":
            found.tasks.append(r._mapping)
    return found


_DROPPED = (*WITHDRAWN, col(Touch.occurrence_key))


async def forget_future(
    session: AsyncSession, workspace_id: uuid.UUID, plan_id: uuid.UUID, *, at: datetime | None
) -> Dropped:
    """Drop a plan's touches still scheduled (due after ``at``; all of them if None);
    returns them, for the re-plan to give their ids back (``withdraw_unplanned``)."""
    stmt = delete(Touch).where(
        col(Touch.workspace_id) == workspace_id,
        col(Touch.plan_id) == plan_id,
        col(Touch.status) == "scheduled",
    )
    if at is not None:
        stmt = stmt.where(col(Touch.due_at) > at)
    return _dropped(await session.execute(stmt.returning(*_DROPPED)))


async def withdraw_unplanned(
    session: AsyncSession, dropped: Dropped, reason: str, *, at: datetime
) -> int:
    """Withdraw (``task.cancelled``) the dropped tasks no re-plan gave back their id."""
    if not dropped.tasks:
        return 0
    ids = [t["id"] for t in dropped.tasks]
    stmt = select(col(Touch.id)).where(
        col(Touch.workspace_id) == dropped.tasks[0]["workspace_id"], col(Touch.id).in_(ids)
    )
    back = set((await session.execute(stmt)).scalars())
    gone = [t for t in dropped.tasks if t["id"] not in back]
    return await announce_cancelled(session, gone, reason, at=at)


async def replan(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    plan_id: uuid.UUID,
    *,
    at: datetime,
    sync_limit: int = 2000,
    dropped: Dropped | None = None,
) -> int:
    """After a plan edit: plan the active enrolments again from today.

    Up to ``sync_limit`` enrolments are planned in the request; any beyond are left with
    their horizon reset, and the top-up job plans them within the next ticks (their
    tasks under new ids: the dropped ones are withdrawn).
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
    dropped = dropped or Dropped()
    await materialize(session, keys, at=at, not_before=at, reuse=dropped.reuse)
    await withdraw_unplanned(session, dropped, "replanned", at=at)
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
    gone = _dropped(dropped)
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
    await materialize(session, keys, at=at, not_before=at, reuse=gone.reuse)
    await withdraw_unplanned(session, gone, "replanned", at=at)
    return len(keys)
