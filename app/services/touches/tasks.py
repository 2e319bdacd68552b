"""Tasks: manual touches, done by a member rather than sent by an outside sender.

A task is announced when it is planned, ``task.assigned`` (a plan's manual step within
the planning horizon, or an ad-hoc manual touch), so an integrator can put it in the
member's to-do list ahead of time; ``task.due`` when its date comes (``emit``), with the
instructions rendered and the contact's card. ``touch.due`` is never made for a task: a
mail or SMS sender subscribed to it must never receive a member's instructions.

A task announced ahead may not fall due after all: the contact became do-not-contact,
the enrolment was paused or cancelled, the plan's step was removed, the task went stale.
Each such task is withdrawn with ``task.cancelled`` and a reason, so a to-do list fed by
``task.*`` never keeps a task nobody will be asked to do. A re-plan that gives a task
back its id (``replan``) withdraws nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models.platform import utc_text
from app.models.touches.tables import Touch
from app.services.touches.payloads import EventBatch, rows_of, task_payload

_NOT_YET = {"subject": None, "body": None, "reminder": None}  # rendered when it falls due

#: What ``task.cancelled`` needs of a touch, for ``DELETE``/``UPDATE … RETURNING``.
WITHDRAWN = (
    col(Touch.workspace_id),
    col(Touch.id),
    col(Touch.mode),
    col(Touch.contact_id),
    col(Touch.assignee_id),
    col(Touch.channel),
    col(Touch.content_kind),
    col(Touch.due_at),
    col(Touch.plan_id),
    col(Touch.step_id),
    col(Touch.enrollment_id),
)


def _str(value: Any) -> str | None:
    return str(value) if value is not None else None


def cancelled_payload(row: Mapping[Any, Any], reason: str) -> dict[str, Any]:
    """``task.cancelled``: which task, for whom, and why it will not fall due."""
    return {
        "id": str(row["id"]),
        "reason": reason,
        "channel": row["channel"],
        "mode": row["mode"],
        "content_kind": row["content_kind"],
        "due_at": utc_text(row["due_at"]),
        "assignee_id": _str(row["assignee_id"]),
        "contact_id": str(row["contact_id"]),
        "plan_id": _str(row["plan_id"]),
        "step_id": _str(row["step_id"]),
        "enrollment_id": _str(row["enrollment_id"]),
    }


async def announce_assigned(
    session: AsyncSession, keys: Sequence[tuple[uuid.UUID, uuid.UUID]], *, at: datetime
) -> int:
    """Record ``task.assigned`` for these new manual touches; returns how many."""
    rows = await rows_of(session, keys)
    batch = EventBatch()
    for row in rows:
        data = task_payload(row, "scheduled", _NOT_YET, due_at=row["due_at"])
        batch.add(row["workspace_id"], "task.assigned", data)
    await batch.record(session, at=at)
    return len(rows)


async def announce_cancelled(
    session: AsyncSession, rows: Iterable[Mapping[Any, Any]], reason: str, *, at: datetime
) -> int:
    """Record ``task.cancelled`` for the manual touches among ``rows`` (touches withdrawn
    while announced); returns how many."""
    batch = EventBatch()
    for row in rows:
        if row["mode"] == "manual":
            batch.add(row["workspace_id"], "task.cancelled", cancelled_payload(row, reason))
    await batch.record(session, at=at)
    return len(batch)
