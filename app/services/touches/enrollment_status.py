"""What changes an enrolment's course from outside: replies, completion.

Kept apart from ``enrollments`` (creating and listing) because touches, the scheduler and
the contacts feature call these, and they must not pull in enrolment creation. The
contact's own wishes (do-not-contact, consent) are ``holds``'.

* ``pause_on_reply``: an inbound reply pauses enrolments whose plan asks for it.
* ``complete_finished``: an enrolment is completed when its plan is fully planned and no
  touch is left to do or to hear back about (``enrollment.completed``, with how its
  touches ended: a touch never reported is ``unconfirmed`` once the workspace's grace
  period is over, see ``settling``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models.touches.events import EnrollmentCompleted
from app.models.touches.tables import Enrollment, Touch, TouchPlan
from app.services.platform import record_events
from app.services.touches.steps import DONE
from app.services.touches.tasks import WITHDRAWN, announce_cancelled

#: How an enrolment's touches can end, counted in ``enrollment.completed``.
SETTLED = ("completed", "sent", "skipped", "failed", "cancelled", "unconfirmed")
_COUNTS = (
    "SELECT "
    + ", ".join(f"count(*) FILTER (WHERE t.status = '{s}') AS {s}" for s in SETTLED)
    + " FROM touches AS t WHERE t.workspace_id = k.ws AND t.enrollment_id = k.id"
)


async def drop_scheduled(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    enrollment_ids: Sequence[uuid.UUID],
    *,
    reason: str,
    at: datetime,
) -> None:
    """Drop the enrolments' touches not yet due (planned again on resume, under new ids);
    their announced tasks are withdrawn (``task.cancelled``)."""
    dropped = await session.execute(
        delete(Touch)
        .where(
            col(Touch.workspace_id) == workspace_id,
            col(Touch.enrollment_id).in_(list(enrollment_ids)),
            col(Touch.status) == "scheduled",
        )
        .returning(*WITHDRAWN)
    )
    await announce_cancelled(session, (r._mapping for r in dropped), reason, at=at)


async def cancel_scheduled(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    enrollment_ids: Sequence[uuid.UUID],
    reason: str,
    *,
    at: datetime,
) -> None:
    cancelled = await session.execute(
        update(Touch)
        .where(
            col(Touch.workspace_id) == workspace_id,
            col(Touch.enrollment_id).in_(list(enrollment_ids)),
            col(Touch.status) == "scheduled",
        )
        .values(status="cancelled", reason=reason, finished_at=at, updated_at=at)
        .returning(*WITHDRAWN)
    )
    await announce_cancelled(session, (r._mapping for r in cancelled), reason, at=at)


async def pause_on_reply(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID, at: datetime
) -> int:
    """An inbound reply pauses the contact's enrolments in plans with ``pause_on_reply``."""
    stmt = (
        update(Enrollment)
        .where(
            col(Enrollment.workspace_id) == workspace_id,
            col(Enrollment.contact_id) == contact_id,
            col(Enrollment.status) == "active",
            col(Enrollment.plan_id).in_(
                select(col(TouchPlan.id)).where(
                    col(TouchPlan.workspace_id) == workspace_id,
                    col(TouchPlan.pause_on_reply).is_(True),
                )
            ),
        )
        .values(
            status="paused",
            reason="reply",
            paused_at=at,
            updated_at=at,
            version=col(Enrollment.version) + 1,
        )
        .returning(col(Enrollment.id))
    )
    ids = [r.id for r in await session.execute(stmt)]
    if ids:
        await drop_scheduled(session, workspace_id, ids, reason="reply", at=at)
    return len(ids)


async def complete_finished(
    session: AsyncSession, enrollment_keys: Sequence[tuple[uuid.UUID, uuid.UUID]], *, at: datetime
) -> int:
    """Complete enrolments whose plan is fully planned and has no touch left to do.

    Called for the enrolments a change touched (a touch skipped, sent, completed, settled
    as unconfirmed; the last dates planned), so the check costs what changed. Records
    ``enrollment.completed`` for each, with its touches counted by how they ended.
    """
    if not enrollment_keys:
        return 0
    result = await session.execute(
        text(
            f"""
            UPDATE enrollments AS e
            SET status = 'completed', completed_at = :at, updated_at = :at,
                version = e.version + 1
            FROM unnest(CAST(:ws AS uuid[]), CAST(:ids AS uuid[])) AS k(ws, id)
            CROSS JOIN LATERAL ({_COUNTS}) AS n
            WHERE e.workspace_id = k.ws AND e.id = k.id
              AND e.status = 'active' AND e.materialized_until = :done
              AND NOT EXISTS (
                SELECT 1 FROM touches AS t
                WHERE t.workspace_id = e.workspace_id AND t.enrollment_id = e.id
                  AND t.status IN ('scheduled', 'due')
              )
            RETURNING e.workspace_id, e.id, e.contact_id, e.plan_id, n.*
            """
        ),
        {
            "at": at,
            "ws": [k[0] for k in enrollment_keys],
            "ids": [k[1] for k in enrollment_keys],
            "done": DONE,
        },
    )
    by_workspace: dict[uuid.UUID, list[tuple[str, dict[str, Any]]]] = {}
    for r in result:
        done = EnrollmentCompleted.model_validate(
            {
                "id": r.id,
                "contact_id": r.contact_id,
                "plan_id": r.plan_id,
                "completed_at": at,
                "touches": {name: getattr(r, name) for name in SETTLED},
            }
        )
        data = done.model_dump(mode="json")
        by_workspace.setdefault(r.workspace_id, []).append(("enrollment.completed", data))
    for workspace_id, items in by_workspace.items():
        await record_events(session, workspace_id, items, at=at)
    return sum(len(v) for v in by_workspace.values())
