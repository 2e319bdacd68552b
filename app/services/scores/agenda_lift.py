"""The probability lift of a touch: the workspace's setting, or measured from its own
lapses once there are enough of them.

Measured as the difference in the share of lapsed contacts who came back (an inbound or
two-way interaction within ``RETURN_DAYS`` of the lapse) between those the team reached
out to within ``TOUCH_DAYS`` of the lapse and those it did not. Only lapses whose return
window has closed count, the latest ``SAMPLE`` of them; with fewer than ``MIN_LAPSES``,
or a group empty, the setting stands (too few to tell a lift from chance). A measured
lift is kept within ``[MIN_LIFT, 1]``: a team whose touches seem not to help still gets
agendas ranked by relationship value rather than all zeros.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.platform import Workspace

MIN_LAPSES = 30
SAMPLE = 2000
TOUCH_DAYS = 14
RETURN_DAYS = 90
MIN_LIFT = 0.01

LiftSource = Literal["setting", "measured"]

MEASURE: TextClause = text(
    f"""
WITH lapses AS (
    SELECT CAST(e.data ->> 'id' AS uuid) AS contact_id, e.occurred_at AS at
      FROM events e
     WHERE e.workspace_id = :ws AND e.type = 'contact.lapsed' AND e.occurred_at < :settled
     ORDER BY e.occurred_at DESC
     LIMIT {SAMPLE}
), judged AS (
    SELECT EXISTS (SELECT 1 FROM interactions i
                    WHERE i.workspace_id = :ws AND i.contact_id = l.contact_id
                      AND i.direction = 'outbound' AND i.occurred_at >= l.at
                      AND i.occurred_at < l.at + interval '{TOUCH_DAYS} days') AS touched,
           EXISTS (SELECT 1 FROM interactions i
                    WHERE i.workspace_id = :ws AND i.contact_id = l.contact_id
                      AND i.direction IN ('inbound', 'two_way') AND i.occurred_at > l.at
                      AND i.occurred_at < l.at + interval '{RETURN_DAYS} days') AS returned
      FROM lapses l
)
SELECT count(*) FILTER (WHERE touched) AS touched,
       count(*) FILTER (WHERE touched AND returned) AS touched_returned,
       count(*) FILTER (WHERE NOT touched) AS untouched,
       count(*) FILTER (WHERE NOT touched AND returned) AS untouched_returned
  FROM judged
"""
)


async def touch_lift(
    session: AsyncSession, workspace: Workspace, *, at: datetime
) -> tuple[float, LiftSource]:
    params = {"ws": workspace.id, "settled": at - timedelta(days=RETURN_DAYS)}
    row = (await session.execute(MEASURE, params)).one()
    touched, untouched = int(row.touched), int(row.untouched)
    if touched + untouched < MIN_LAPSES or not touched or not untouched:
        return workspace.agenda_touch_lift, "setting"
    lift = int(row.touched_returned) / touched - int(row.untouched_returned) / untouched
    return round(min(max(lift, MIN_LIFT), 1.0), 4), "measured"
