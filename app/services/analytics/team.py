"""Team performance per member (seed 003: performance standards and accountability).

Referral figures are over received referrals the member owns that were received in the
period: time to first contact (first stage change out of ``received``, other than to
``lost``), first contacts later than the follow-up due time, referrals still waiting past it
now, and conversion (closed). Touch figures are over manual touches assigned to the member
that fell due in the period (up to now); "on time" means completed within
``ON_TIME_GRACE_HOURS`` of falling due. Skipped and cancelled touches were never owed.
Agenda dismissals are read from ``agenda_decisions`` (the scores domain's table, named
here in SQL only, as reports name the tables they count) by the member who dismissed.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import TextClause, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models.analytics.people_schemas import MemberPerformance, TeamReport
from app.models.analytics.schemas import PeriodRead
from app.models.platform import Member
from app.services.analytics.formulas import conversion_rate
from app.services.platform import get_workspace, referral_visible_sql, text_binds, visible_sql

ON_TIME_GRACE_HOURS = 24
_AGE = "extract(epoch FROM f.at - r.received_at)"

REFERRALS: TextClause = text(
    f"""
WITH refs AS (
    SELECT r.id, r.owner_id, r.stage, r.received_at, r.follow_up_due_at
      FROM referrals r
     WHERE r.workspace_id = :ws AND r.direction = 'received'
       AND r.received_at >= CAST(:start AS timestamptz)
       AND r.received_at < CAST(:end AS timestamptz)
       AND {referral_visible_sql("r")}
),
first AS (
    SELECT h.referral_id, min(h.at) AS at
      FROM referral_stage_history h JOIN refs r ON r.id = h.referral_id
     WHERE h.workspace_id = :ws AND h.to_stage NOT IN ('received', 'lost')
     GROUP BY h.referral_id
)
SELECT r.owner_id,
       count(*) AS referrals,
       count(f.at) AS contacted,
       avg({_AGE}) / 3600.0 AS avg_hours,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY {_AGE}) / 3600.0 AS median_hours,
       count(*) FILTER (WHERE f.at > r.follow_up_due_at) AS late,
       count(*) FILTER (WHERE r.stage = 'received'
                          AND r.follow_up_due_at < CAST(:now AS timestamptz)) AS overdue,
       count(*) FILTER (WHERE r.stage = 'closed') AS converted
  FROM refs r LEFT JOIN first f ON f.referral_id = r.id
 GROUP BY r.owner_id
"""
)

TOUCHES: TextClause = text(
    f"""
SELECT t.assignee_id,
       count(*) AS due,
       count(*) FILTER (WHERE t.status IN ('completed', 'sent')) AS done,
       count(*) FILTER (WHERE t.status IN ('completed', 'sent')
                          AND t.finished_at <= t.due_at
                              + interval '{ON_TIME_GRACE_HOURS} hours') AS on_time
  FROM touches t
 WHERE t.workspace_id = :ws AND t.mode = 'manual'
   AND t.status NOT IN ('skipped', 'cancelled')
   AND t.due_at >= CAST(:start AS timestamptz) AND t.due_at < CAST(:end AS timestamptz)
   AND t.due_at <= CAST(:now AS timestamptz)
   AND {visible_sql("t.workspace_id", "t.contact_id")}
 GROUP BY t.assignee_id
"""
)


DISMISSED: TextClause = text(
    """
SELECT d.member_id, d.kind, count(*) AS n
  FROM agenda_decisions d
 WHERE d.workspace_id = :ws AND d.decision = 'dismissed'
   AND d.at >= CAST(:start AS timestamptz) AND d.at < CAST(:end AS timestamptz)
   AND (CAST(:viewer_all AS boolean) OR d.member_id = ANY(CAST(:viewer_members AS uuid[])))
 GROUP BY d.member_id, d.kind
"""
)


def _hours(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)


async def team_performance(
    session: AsyncSession, workspace_id: uuid.UUID, period: PeriodRead, *, at: datetime
) -> TeamReport:
    params = {
        "ws": workspace_id,
        "start": period.starts_at,
        "end": period.ends_at,
        "now": at,
        **text_binds(),
    }
    refs = {r.owner_id: r for r in (await session.execute(REFERRALS, params)).all()}
    touches = {r.assignee_id: r for r in (await session.execute(TOUCHES, params)).all()}
    dismissed: dict[uuid.UUID, dict[str, int]] = {}
    for d in (await session.execute(DISMISSED, params)).all():
        dismissed.setdefault(d.member_id, {})[d.kind] = int(d.n)
    stmt = (
        select(col(Member.id), col(Member.name))
        .where(col(Member.workspace_id) == workspace_id)
        .order_by(col(Member.name), col(Member.id))
    )
    people: list[tuple[uuid.UUID | None, str]] = [
        (m.id, m.name) for m in (await session.execute(stmt)).all()
    ]
    if None in refs or None in touches:
        people.append((None, "unassigned"))
    members: list[MemberPerformance] = []
    for member_id, name in people:
        r, t = refs.get(member_id), touches.get(member_id)
        referrals = int(r.referrals) if r else 0
        converted = int(r.converted) if r else 0
        due = int(t.due) if t else 0
        on_time = int(t.on_time) if t else 0
        members.append(
            MemberPerformance(
                member_id=member_id,
                name=name,
                referrals=referrals,
                contacted=int(r.contacted) if r else 0,
                average_hours_to_first_contact=_hours(r.avg_hours) if r else None,
                median_hours_to_first_contact=_hours(r.median_hours) if r else None,
                contacted_late=int(r.late) if r else 0,
                overdue_now=int(r.overdue) if r else 0,
                converted=converted,
                conversion_rate=conversion_rate(converted, referrals),
                touches_due=due,
                touches_completed=int(t.done) if t else 0,
                touches_on_time=on_time,
                on_time_rate=conversion_rate(on_time, due),
                agenda_dismissed=dismissed.get(member_id, {}) if member_id else {},
            )
        )
    workspace = await get_workspace(session, workspace_id)
    return TeamReport(
        period=period, follow_up_hours=workspace.referral_follow_up_hours, members=members
    )
