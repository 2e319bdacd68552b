"""Settling: a touch released but never reported becomes ``unconfirmed`` after the grace.

Senders report outcomes (``POST /v1/touches/{id}/outcome``), but some never do. Each
workspace gives them ``outcome_grace_days`` (default 14) after a touch's due time; a
touch still ``due`` then is ``unconfirmed``, and its enrolment completes once nothing
else is left (``enrollment.completed`` counts the unconfirmed touches). A late report is
still taken (``outreach.OUTCOMES``).

The claim visits each workspace once (a lateral index probe on the partial index of
touches still ``due``), so a batch costs the workspaces plus the touches settled, not
the touches stored.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.services.touches.enrollment_status import complete_finished

_SETTLE = text(
    """
    WITH picked AS (
        SELECT late.workspace_id, late.id
        FROM workspaces AS w
        CROSS JOIN LATERAL (
            SELECT t.workspace_id, t.id FROM touches AS t
            WHERE t.workspace_id = w.id AND t.status = 'due'
              AND t.due_at < CAST(:now AS timestamptz)
                             - make_interval(days => w.outcome_grace_days)
            ORDER BY t.due_at
            LIMIT :limit
            FOR UPDATE SKIP LOCKED
        ) AS late
        LIMIT :limit
    )
    UPDATE touches AS t
    SET status = 'unconfirmed', finished_at = :now, updated_at = :now, version = t.version + 1
    FROM picked
    WHERE t.workspace_id = picked.workspace_id AND t.id = picked.id
    RETURNING t.workspace_id, t.enrollment_id
    """
)


async def settle_unreported(session: AsyncSession, *, at: datetime, limit: int = 1000) -> int:
    """Mark up to ``limit`` touches past their grace ``unconfirmed``; returns how many."""
    rows = (await session.execute(_SETTLE, {"now": at, "limit": limit})).all()
    enrolments = sorted({(r.workspace_id, r.enrollment_id) for r in rows if r.enrollment_id})
    await complete_finished(session, enrolments, at=at)
    return len(rows)
