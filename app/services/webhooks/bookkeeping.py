"""The dispatcher's SQL: claim due deliveries with a lease, then record what happened.

Claiming is one short transaction: ``FOR UPDATE SKIP LOCKED`` lets any number of
replicas claim side by side without waiting on or taking each other's rows, and the
lease (``lease_expires_at``, ``leased_by``) lets another replica take over the work of
one that died. Results are written set-based, one statement per kind, and only where
the lease is still ours: a replica that stalled past its lease must not overwrite the
outcome of the replica that took the work over.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# Due work is shared out by workspace before it is taken oldest first: a workspace with a
# backlog (an import of 100,000 contacts into a workspace subscribed to contact.created)
# must not hold every other workspace's deliveries back until it has drained. ``busy``
# walks the workspaces with pending deliveries, one index probe each (a skip scan of
# ``ix_webhook_deliveries_pending_by_workspace``), so the claim's cost grows with them and
# with the batch, never with the backlog; each due one gets an even share of the batch
# (``fair``), and what is left of it goes to the oldest due work, whoever's (``rest``).
_CLAIM = text(
    """
    WITH RECURSIVE lost AS (
        SELECT workspace_id, id FROM webhook_deliveries
        WHERE status = 'delivering' AND lease_expires_at < :now
        ORDER BY lease_expires_at
        LIMIT :batch
        FOR UPDATE SKIP LOCKED
    ), busy AS (
        (SELECT workspace_id FROM webhook_deliveries
         WHERE status = 'pending' ORDER BY workspace_id LIMIT 1)
        UNION ALL
        SELECT (SELECT d.workspace_id FROM webhook_deliveries AS d
                WHERE d.status = 'pending' AND d.workspace_id > busy.workspace_id
                ORDER BY d.workspace_id LIMIT 1)
        FROM busy WHERE busy.workspace_id IS NOT NULL
    ), due_workspaces AS (
        SELECT b.workspace_id FROM busy AS b
        CROSS JOIN LATERAL (
            SELECT d.next_attempt_at FROM webhook_deliveries AS d
            WHERE d.workspace_id = b.workspace_id AND d.status = 'pending'
            ORDER BY d.next_attempt_at LIMIT 1
        ) AS oldest
        WHERE b.workspace_id IS NOT NULL AND oldest.next_attempt_at <= :now
        ORDER BY oldest.next_attempt_at
        LIMIT :batch
    ), fair AS (
        SELECT taken.workspace_id, taken.id FROM due_workspaces AS w
        CROSS JOIN LATERAL (
            SELECT d.workspace_id, d.id FROM webhook_deliveries AS d
            WHERE d.workspace_id = w.workspace_id AND d.status = 'pending'
              AND d.next_attempt_at <= :now
            ORDER BY d.next_attempt_at
            LIMIT GREATEST(1, CAST(:batch AS integer) / (SELECT count(*) FROM due_workspaces))
            FOR UPDATE SKIP LOCKED
        ) AS taken
    ), rest AS (
        SELECT workspace_id, id FROM webhook_deliveries
        WHERE status = 'pending' AND next_attempt_at <= :now
          AND (workspace_id, id) NOT IN (SELECT workspace_id, id FROM fair)
        ORDER BY next_attempt_at
        LIMIT GREATEST(0, CAST(:batch AS integer) - (SELECT count(*) FROM fair))
        FOR UPDATE SKIP LOCKED
    ), picked AS (
        SELECT * FROM lost UNION ALL SELECT * FROM fair UNION ALL SELECT * FROM rest
        LIMIT :batch
    )
    UPDATE webhook_deliveries AS d
    SET status = 'delivering', lease_expires_at = :lease_until, leased_by = :me,
        updated_at = :now
    FROM picked, events AS e, webhook_endpoints AS w
    WHERE d.workspace_id = picked.workspace_id AND d.id = picked.id
      AND e.workspace_id = d.workspace_id AND e.id = d.event_id
      AND w.workspace_id = d.workspace_id AND w.id = d.endpoint_id
    RETURNING d.workspace_id, d.id, d.endpoint_id, d.event_id, d.attempt_count,
              e.event_uid, e.type AS event_type, e.occurred_at, e.data, e.actor,
              w.url, w.enabled, w.secret, w.previous_secret, w.previous_secret_expires_at
    """
)

_FINISH = text(
    """
    UPDATE webhook_deliveries AS d
    SET status = r.status, attempt_count = d.attempt_count + r.tried,
        last_status_code = COALESCE(r.code, d.last_status_code), next_attempt_at = r.next_at,
        lease_expires_at = NULL, updated_at = :now
    FROM unnest(CAST(:ws AS uuid[]), CAST(:ids AS uuid[]), CAST(:statuses AS text[]),
                CAST(:tried AS int[]), CAST(:codes AS int[]), CAST(:next_ats AS timestamptz[]))
         AS r(workspace_id, id, status, tried, code, next_at)
    WHERE d.workspace_id = r.workspace_id AND d.id = r.id
      AND d.status = 'delivering' AND d.leased_by = :me
    RETURNING d.workspace_id, d.id
    """
)

_ATTEMPTS = text(
    """
    INSERT INTO webhook_attempts
        (workspace_id, id, delivery_id, attempted_at, status_code, latency_ms, error,
         response_body)
    SELECT r.workspace_id, gen_random_uuid(), r.id, r.at, r.code, r.latency, r.error, r.body
    FROM unnest(CAST(:ws AS uuid[]), CAST(:ids AS uuid[]), CAST(:ats AS timestamptz[]),
                CAST(:codes AS int[]), CAST(:latencies AS int[]), CAST(:errors AS text[]),
                CAST(:bodies AS text[]))
         AS r(workspace_id, id, at, code, latency, error, body)
    WHERE EXISTS (SELECT 1 FROM webhook_deliveries AS d
                  WHERE d.workspace_id = r.workspace_id AND d.id = r.id)
    """
)


@dataclass(frozen=True)
class Claimed:
    """A delivery this process holds the lease on, with what it needs to send it."""

    workspace_id: uuid.UUID
    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: int
    attempt_count: int
    event_uid: uuid.UUID
    event_type: str
    occurred_at: datetime
    data: dict[str, Any]
    actor: dict[str, Any] | None
    url: str
    enabled: bool
    secret: str
    previous_secret: str | None
    previous_secret_expires_at: datetime | None

    def secrets(self, now: datetime) -> list[str]:
        """The current secret, plus the previous one while the rotation overlap lasts."""
        old, until = self.previous_secret, self.previous_secret_expires_at
        if old and until is not None and now < until:
            return [self.secret, old]
        return [self.secret]

    def __repr__(self) -> str:  # never print secrets in logs or tracebacks
        return f"Claimed(id={self.id}, endpoint_id={self.endpoint_id}, event_id={self.event_id})"


@dataclass(frozen=True)
class Result:
    """How one claimed delivery ends this round; ``status`` is its new status."""

    delivery: Claimed
    status: str  # succeeded | pending | failed | cancelled
    tried: bool
    status_code: int | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None


async def claim(
    session: AsyncSession, *, me: str, now: datetime, lease_seconds: float, batch: int
) -> list[Claimed]:
    rows = await session.execute(
        _CLAIM,
        {
            "now": now,
            "batch": batch,
            "me": me,
            "lease_until": now + timedelta(seconds=lease_seconds),
        },
    )
    return [Claimed(**row) for row in rows.mappings()]


async def finish(
    session: AsyncSession, results: list[Result], *, me: str, now: datetime
) -> set[uuid.UUID]:
    """Write the new state of every delivery still leased to ``me``; returns their ids."""
    if not results:
        return set()
    rows = await session.execute(
        _FINISH,
        {
            "now": now,
            "me": me,
            "ws": [r.delivery.workspace_id for r in results],
            "ids": [r.delivery.id for r in results],
            "statuses": [r.status for r in results],
            "tried": [int(r.tried) for r in results],
            "codes": [r.status_code for r in results],
            "next_ats": [r.next_attempt_at for r in results],
        },
    )
    return {row.id for row in rows}


async def insert_attempts(session: AsyncSession, attempts: list[tuple[Claimed, Any]]) -> None:
    """Every attempt made is history, whoever holds the lease now."""
    if not attempts:
        return
    await session.execute(
        _ATTEMPTS,
        {
            "ws": [d.workspace_id for d, _ in attempts],
            "ids": [d.id for d, _ in attempts],
            "ats": [o.attempted_at for _, o in attempts],
            "codes": [o.status_code for _, o in attempts],
            "latencies": [o.latency_ms for _, o in attempts],
            "errors": [o.error for _, o in attempts],
            "bodies": [o.body for _, o in attempts],
        },
    )
