"""The agenda's dated items in the member's calendar feed (``/v1/calendar.ics``).

The feed already holds the member's touches (so their tasks) and their contacts' yearly
dates; the agenda adds what only it knows: follow-ups, reconnects, rewards to approve and
referrers to thank, each an all-day entry on its due day in the member's zone (today for
what is overdue), titled with its value and described by its reason. The feed has no API
key, so the agenda is read as the token's member would see it (role, visibility, an
assistant's agents).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.services import touches
from app.services.platform import SYSTEM, Viewer, acting_as, viewer_for
from app.services.scores.agenda import build_agenda

FEED_KINDS = ("follow_up", "reconnect", "approve", "thank")

VIEWER: TextClause = text(
    """
SELECT m.role, w.visibility,
       ARRAY(SELECT a.agent_id FROM member_assists a
              WHERE a.workspace_id = m.workspace_id AND a.assistant_id = m.id) AS assists
  FROM members m JOIN workspaces w ON w.id = m.workspace_id
 WHERE m.workspace_id = :ws AND m.id = :member
"""
)


async def member_viewer(
    session: AsyncSession, workspace_id: uuid.UUID, member_id: uuid.UUID
) -> Viewer:
    row = (await session.execute(VIEWER, {"ws": workspace_id, "member": member_id})).one()
    return viewer_for(row.role, row.visibility, (member_id, *row.assists))


async def agenda_entries(
    session: AsyncSession, workspace_id: uuid.UUID, member_id: uuid.UUID, at: datetime
) -> list[touches.FeedEntry]:
    viewer = await member_viewer(session, workspace_id, member_id)
    with acting_as(SYSTEM, viewer):
        agenda = await build_agenda(session, workspace_id, member_id, None, at=at)
    zone = ZoneInfo(agenda.time_zone)  # the member's, else the workspace's
    entries = []
    for item in agenda.items:
        if item.kind not in FEED_KINDS:
            continue
        name = item.contact.name if item.contact else "someone"
        entries.append(
            touches.FeedEntry(
                uid=f"agenda-{item.key}@rapport",
                day=max(item.due_at.astimezone(zone).date(), agenda.date),
                summary=f"{item.kind.replace('_', ' ')}: {name} ({agenda.currency} {item.value:,})",
                description=item.reason,
                categories=("agenda", item.kind),
            )
        )
    return entries


touches.add_feed_source(agenda_entries)
