"""Lapses: contacts with no engagement for longer than the workspace's threshold.

Seed 001: "lapses in active engagement greater than three months are associated with loss
of advocacy and lower probability of referrals". Engagement is ``last_engaged_at`` (kept by
the interaction log and activity attendance), or ``created_at`` for a contact never engaged.

A lapse is marked once: the UPDATE only takes rows whose ``lapsed_at`` is still null, claims
them with ``FOR UPDATE SKIP LOCKED`` and re-checks under the lock, so two replicas running
the job at once emit one ``contact.lapsed`` per lapse between them. Logging a new engagement
clears ``lapsed_at`` (``app.services.contacts.interactions.mark_engaged``); the next
lapse after that
is a new one and fires again.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import TextClause, func, literal, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import Label
from sqlmodel import col

from app.models.contacts import Contact, display_name_sql
from app.models.scores.events import ContactLapsedData
from app.models.scores.schemas import LosingTouchItem
from app.services.platform import (
    PageRequest,
    get_workspace,
    keyset_page,
    record_events,
    where_visible,
)

MARK: TextClause = text(
    """
WITH due AS (
    SELECT c.id
      FROM contacts c
     WHERE c.workspace_id = :ws AND c.lapsed_at IS NULL
       AND coalesce(c.last_engaged_at, c.created_at) < CAST(:cutoff AS timestamptz)
       FOR UPDATE SKIP LOCKED
)
UPDATE contacts c
   SET lapsed_at = CAST(:at AS timestamptz), version = c.version + 1,
       updated_at = CAST(:at AS timestamptz)
  FROM due
 WHERE c.workspace_id = :ws AND c.id = due.id AND c.lapsed_at IS NULL
RETURNING c.id, c.first_name, c.last_name, c.company_name, c.segment, c.primary_email,
          c.last_engaged_at, c.created_at
"""
)

# A lapse ends when the contact is back within the threshold without the interaction log
# having said so: an engagement back-filled by an import, or a longer threshold.
RECOVER: TextClause = text(
    """
UPDATE contacts c
   SET lapsed_at = NULL, version = c.version + 1, updated_at = CAST(:at AS timestamptz)
 WHERE c.workspace_id = :ws AND c.lapsed_at IS NOT NULL
   AND coalesce(c.last_engaged_at, c.created_at) >= CAST(:cutoff AS timestamptz)
"""
)


def _event(row: Any, threshold: int) -> tuple[str, dict[str, Any]]:
    data = ContactLapsedData(
        id=row.id,
        first_name=row.first_name,
        last_name=row.last_name,
        company_name=row.company_name,
        segment=row.segment,
        primary_email=row.primary_email,
        last_engaged_at=row.last_engaged_at,
        lapse_threshold_days=threshold,
    )
    return "contact.lapsed", data.model_dump(mode="json")


async def mark_lapses(
    session: AsyncSession, workspace_id: uuid.UUID, *, at: datetime
) -> tuple[int, int]:
    """Mark new lapses (one event each) and end lapses that no longer hold.

    Returns ``(lapsed, recovered)``.
    """
    threshold = (await get_workspace(session, workspace_id)).lapse_threshold_days
    params = {"ws": workspace_id, "at": at, "cutoff": at - timedelta(days=threshold)}
    recovered = (await session.execute(RECOVER, params)).rowcount  # type: ignore[attr-defined]
    rows = (await session.execute(MARK, params)).all()
    await record_events(session, workspace_id, [_event(r, threshold) for r in rows], at=at)
    return len(rows), int(recovered)


# The same expression as the contacts index ``(workspace_id, coalesce(last_engaged_at,
# '-infinity'), id)``, so the list is an index range scan: never-engaged contacts first.
_ENGAGED = func.coalesce(Contact.last_engaged_at, literal_column("'-infinity'::timestamptz"))


_DISPLAY_NAME: Label[Any] = literal_column(display_name_sql("contacts")).label("display_name")


async def losing_touch(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    page: PageRequest,
    *,
    at: datetime,
    lapsed: bool | None = None,
) -> tuple[list[LosingTouchItem], str | None]:
    """Contacts by time since their last engagement, longest first."""
    since = func.coalesce(Contact.last_engaged_at, Contact.created_at)
    days = func.floor(func.extract("epoch", literal(at) - since) / 86_400)
    stmt = select(
        col(Contact.id),
        _DISPLAY_NAME,
        col(Contact.segment),
        col(Contact.advocacy_stage),
        col(Contact.owner_id),
        col(Contact.last_engaged_at),
        col(Contact.lapsed_at),
        days.label("days"),
    ).where(col(Contact.workspace_id) == workspace_id)
    stmt = where_visible(stmt, Contact.__table__, ["id"])
    if lapsed is not None:
        flag = col(Contact.lapsed_at).is_not(None) if lapsed else col(Contact.lapsed_at).is_(None)
        stmt = stmt.where(flag)
    # asyncpg reads -infinity as datetime.min and writes it back as -infinity, so the
    # cursor of a never-engaged contact resumes exactly where it stopped.
    rows, cursor = await keyset_page(
        session, stmt, keys=[_ENGAGED, col(Contact.id)], page=page, sort="losing-touch"
    )
    return [
        LosingTouchItem(
            contact_id=r.id,
            name=r.display_name,
            segment=r.segment,
            advocacy_stage=r.advocacy_stage,
            owner_id=r.owner_id,
            last_engaged_at=r.last_engaged_at,
            days_since_engagement=max(int(r.days), 0),
            lapsed=r.lapsed_at is not None,
            lapsed_at=r.lapsed_at,
        )
        for r in rows
    ], cursor
