"""``agenda.ready``: each member's top items, every morning at 07:00 in their zone.

For integrators that e-mail a daily digest. A member's zone is their own, else the
workspace's (``members.time_zone`` null). Each tick claims, per workspace, the active
members whose local clock has passed ``READY_AT`` and who have no digest for their local
day: one ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` into ``agenda_digests`` (the
primary key is ``(workspace, member, day)``, the day computed per member in SQL), so when
two replicas tick together the second waits on the first's rows and inserts none, and
each member gets one event per morning. The claim, the agendas and the events are one
transaction per workspace: a crash before the commit leaves no claim behind, and the next
tick sends the digest. Both statements look up ``agenda_digests`` by its primary key, once
per active member they look at, so a tick costs what the team is, not the digests' history.

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

# Each member's local wall-clock time at :at, in their zone or else the workspace's; the
# statements below join it to ``members m`` and ``workspaces w``.
_LOCAL = """CROSS JOIN LATERAL (
       SELECT CAST(:at AS timestamptz) AT TIME ZONE coalesce(m.time_zone, w.time_zone)
              AS local_at) AS l"""
# Past READY_AT in the member's zone, with no digest for the member's local day.
_WAITING = f"""m.active
   AND l.local_at >= date_trunc('day', l.local_at) + interval '{READY_AT}'
   AND NOT EXISTS (SELECT 1 FROM agenda_digests d
                    WHERE d.workspace_id = m.workspace_id AND d.member_id = m.id
                      AND d.day = CAST(l.local_at AS date))"""

# Workspaces with an active member past READY_AT today (their local day) not yet sent it.
DUE: TextClause = text(
    f"""
SELECT w.id
  FROM workspaces w
 WHERE EXISTS (
       SELECT 1 FROM members m
       {_LOCAL}
        WHERE m.workspace_id = w.id
          AND {_WAITING})
 LIMIT :limit
"""
)

# One workspace's waiting members, each claimed for their own local day.
CLAIM: TextClause = text(
    f"""
INSERT INTO agenda_digests (workspace_id, member_id, day, sent_at)
SELECT m.workspace_id, m.id, CAST(l.local_at AS date), :at
  FROM members m
  JOIN workspaces w ON w.id = m.workspace_id
  {_LOCAL}
 WHERE m.workspace_id = :ws
   AND {_WAITING}
 ORDER BY m.id
 LIMIT :limit
ON CONFLICT DO NOTHING
RETURNING member_id, day
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
    session: AsyncSession, workspace_id: uuid.UUID, *, at: datetime
) -> int:
    """Claim and send the digests of up to ``MEMBER_BATCH`` members, each for their own
    local day; returns how many."""
    params = {"ws": workspace_id, "at": at, "limit": MEMBER_BATCH}
    claimed: dict[uuid.UUID, date] = {
        r.member_id: r.day for r in (await session.execute(CLAIM, params)).all()
    }
    if not claimed:
        return 0
    ids = list(claimed)
    members = (await session.execute(MEMBERS, {"ws": workspace_id, "ids": ids})).all()
    events: list[tuple[str, dict[str, Any]]] = []
    for m in members:
        viewer = viewer_for(m.role, m.visibility, (m.id, *m.assists))
        day = claimed[m.id]
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
    for (workspace_id,) in due:
        while True:
            async with db.transaction() as session:
                n = await send_workspace_digests(session, workspace_id, at=at)
            sent += n
            if n < MEMBER_BATCH:
                break
    if sent:
        log.info("agenda.ready sent", extra={"sent": sent})
    return sent
