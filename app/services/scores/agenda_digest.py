"""``agenda.ready``: each member's top items, every morning at 07:00 in their zone.

For integrators that e-mail a daily digest. Each tick claims, per workspace whose local
clock has passed ``READY_AT``, the active members with no digest for that local day: one
``INSERT ... ON CONFLICT DO NOTHING RETURNING`` into ``agenda_digests`` (the primary key
is ``(workspace, member, day)``), so when two replicas tick together the second waits on
the first's rows and inserts none, and each member gets one event per morning. The
claim, the agendas and the events are one transaction per workspace: a crash before the
commit leaves no claim behind, and the next tick sends the digest.

A member's agenda here is computed as the member would see it (their role and the
workspace's visibility, an assistant's agents), not as the system sees everything.
"""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import Clock
from app.config import Settings
from app.db import Database
from app.models.scores.agenda import AgendaMember, AgendaReadyData
from app.services.platform import SYSTEM, acting_as, record_events, viewer_for
from app.services.scores.agenda import build_agenda

log = logging.getLogger("rapport.agenda")

READY_AT = "07:00"
TOP = 10
#: Workspaces one tick handles, and members one workspace's transaction claims.
WORKSPACE_BATCH = 50
MEMBER_BATCH = 200

# Workspaces past READY_AT today (local) with an active member not yet sent today's digest.
DUE: TextClause = text(
    f"""
SELECT w.id, CAST(CAST(:at AS timestamptz) AT TIME ZONE w.time_zone AS date) AS day
  FROM workspaces w
 WHERE CAST(:at AS timestamptz) AT TIME ZONE w.time_zone
           >= date_trunc('day', CAST(:at AS timestamptz) AT TIME ZONE w.time_zone)
              + interval '{READY_AT}'
   AND EXISTS (
       SELECT 1 FROM members m
        WHERE m.workspace_id = w.id AND m.active
          AND NOT EXISTS (
              SELECT 1 FROM agenda_digests d
               WHERE d.workspace_id = m.workspace_id AND d.member_id = m.id
                 AND d.day = CAST(CAST(:at AS timestamptz) AT TIME ZONE w.time_zone AS date)))
 LIMIT :limit
"""
)

CLAIM: TextClause = text(
    """
INSERT INTO agenda_digests (workspace_id, member_id, day, sent_at)
SELECT m.workspace_id, m.id, :day, :at
  FROM members m
 WHERE m.workspace_id = :ws AND m.active
   AND NOT EXISTS (SELECT 1 FROM agenda_digests d
                    WHERE d.workspace_id = m.workspace_id AND d.member_id = m.id
                      AND d.day = :day)
 ORDER BY m.id
 LIMIT :limit
ON CONFLICT DO NOTHING
RETURNING member_id
"""
)

MEMBERS: TextClause = text(
    """
SELECT m.id, m.name, m.email, m.role, w.visibility,
       ARRAY(SELECT a.agent_id FROM member_assists a
              WHERE a.workspace_id = m.workspace_id AND a.assistant_id = m.id) AS assists
  FROM members m JOIN workspaces w ON w.id = m.workspace_id
 WHERE m.workspace_id = :ws AND m.id = ANY(CAST(:ids AS uuid[]))
 ORDER BY m.id
"""
)


async def send_workspace_digests(
    session: AsyncSession, workspace_id: uuid.UUID, day: date, *, at: datetime
) -> int:
    """Claim and send the digests of up to ``MEMBER_BATCH`` members; returns how many."""
    params = {"ws": workspace_id, "day": day, "at": at, "limit": MEMBER_BATCH}
    claimed = [r.member_id for r in (await session.execute(CLAIM, params)).all()]
    if not claimed:
        return 0
    members = (await session.execute(MEMBERS, {"ws": workspace_id, "ids": claimed})).all()
    events: list[tuple[str, dict[str, Any]]] = []
    for m in members:
        viewer = viewer_for(m.role, m.visibility, (m.id, *m.assists))
        with acting_as(SYSTEM, viewer):
            agenda = await build_agenda(session, workspace_id, m.id, day, at=at, limit=TOP)
        data = AgendaReadyData(
            member=AgendaMember(id=m.id, name=m.name, email=m.email),
            date=agenda.date,
            time_zone=agenda.time_zone,
            currency=agenda.currency,
            total_items=agenda.total_items,
            items=agenda.items,
        )
        events.append(("agenda.ready", data.model_dump(mode="json")))
    await record_events(session, workspace_id, events, at=at)
    return len(events)


async def agenda_ready_job(db: Database, clock: Clock, settings: Settings) -> int:
    """The scheduler's entry: each due workspace in its own transaction."""
    at = clock.now()
    async with db.transaction() as session:
        due = (await session.execute(DUE, {"at": at, "limit": WORKSPACE_BATCH})).all()
    sent = 0
    for workspace_id, day in due:
        while True:
            async with db.transaction() as session:
                n = await send_workspace_digests(session, workspace_id, day, at=at)
            sent += n
            if n < MEMBER_BATCH:
                break
    if sent:
        log.info("agenda.ready sent", extra={"sent": sent})
    return sent
