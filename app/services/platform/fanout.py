"""Fan-out: turn freshly recorded events into webhook deliveries, in the same transaction.

Running inside ``record_events`` means an event and its deliveries commit together, so no
event can be lost between "committed" and "queued for delivery", whatever crashes when.
It is one ``INSERT … SELECT`` whatever the number of events and endpoints.

Matching: an empty filter takes every type; otherwise an exact type, or a prefix
``"touch.*"`` matching types that start with ``"touch."``. The webhook machinery's own
events (``webhook.*``) are never fanned out, except ``webhook.test`` to the endpoint it
names: a failing endpoint must not be sent news of its own failures in a loop.

The endpoints read are locked ``FOR KEY SHARE``: one being deleted by a transaction still
open makes the fan-out wait for it and then skip the row, where reading it from the
snapshot would insert a delivery whose foreign key fails at commit, failing the unrelated
write that recorded the event. The lock conflicts only with a delete or a key change;
edits (``FOR NO KEY UPDATE``) and other fan-outs pass.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.platform.event_catalogue import WEBHOOK_TEST


def deliveries_of(events: str, where: str = "TRUE") -> str:
    """The deliveries ``INSERT … SELECT`` for the events of relation ``events`` (columns
    ``workspace_id, id, type, data``) that pass ``where``. ``fan_out`` runs it over the
    events table; ``record_events`` over the rows its own insert returns, in one statement
    with that insert (a data-modifying CTE: one round trip instead of two)."""
    return f"""
    INSERT INTO webhook_deliveries
        (workspace_id, id, endpoint_id, event_id, status, attempt_count,
         next_attempt_at, created_at, updated_at)
    SELECT e.workspace_id, gen_random_uuid(), w.id, e.id, 'pending', 0, :at, :at, :at
    FROM {events} AS e
    JOIN webhook_endpoints AS w ON w.workspace_id = e.workspace_id AND w.enabled
    WHERE {where}
      AND (
        (e.type = :test_type AND e.data ->> 'endpoint_id' = CAST(w.id AS text))
        OR (
          e.type NOT LIKE 'webhook.%'
          AND (
            cardinality(w.event_types) = 0
            OR e.type = ANY(w.event_types)
            OR EXISTS (
              SELECT 1 FROM unnest(w.event_types) AS f(pattern)
              WHERE f.pattern LIKE '%.*'
                AND starts_with(e.type, left(f.pattern, -1))
            )
          )
        )
      )
    FOR KEY SHARE OF w
    ON CONFLICT DO NOTHING
    """


_FAN_OUT = text(
    deliveries_of(
        "events",
        "e.workspace_id = :workspace_id AND e.id = ANY(CAST(:event_ids AS bigint[]))",
    )
)


async def fan_out(
    session: AsyncSession, workspace_id: uuid.UUID, event_ids: Sequence[int], *, at: datetime
) -> int:
    """Create the deliveries of ``event_ids``; returns how many were created."""
    if not event_ids:
        return 0
    result = await session.execute(
        _FAN_OUT,
        {
            "workspace_id": workspace_id,
            "event_ids": list(event_ids),
            "at": at,
            "test_type": WEBHOOK_TEST,
        },
    )
    return int(getattr(result, "rowcount", 0) or 0)
