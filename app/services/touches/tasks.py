"""Tasks: manual touches, done by a member rather than sent by an outside sender.

A task is announced twice. ``task.assigned`` when it is planned (a plan's manual step
within the planning horizon, or an ad-hoc manual touch), so an integrator can put it in
the member's to-do list ahead of time; ``task.due`` when its date comes (``emit``), with
the instructions rendered and the contact's card. ``touch.due`` is never made for a task:
a mail or SMS sender subscribed to it must never receive a member's instructions.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.services.touches.payloads import EventBatch, rows_of, task_payload

_NOT_YET = {"subject": None, "body": None, "reminder": None}  # rendered when it falls due


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
