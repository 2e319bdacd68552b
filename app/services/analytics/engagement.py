"""Engagement and advocacy: do contacts whose engagement lapsed refer less?

Seed 001: "lapses in active engagement greater than three months are associated with loss
of advocacy and lower probability of referrals". The report tests that on the firm's data.

Cohort: contacts created before the period. Engagement is counted exactly as for
``last_engaged_at`` and the lapse rule (``app.services.scores.lapses``): interactions in an
engaging direction (``ENGAGING_DIRECTIONS``: inbound and two-way; an outbound message we
send is not the contact engaging), activities attended, and the stored ``last_engaged_at``
itself, which an import may have set without a logged interaction. A contact *lapsed* in
the period when some pause between engagements (counting from the last one before the
period, or from creation, up to the end of the period or now) was longer than ``gap_days``;
the others *stayed engaged*. So with the default ``gap_days`` (the lapse threshold), a
contact the lapse rule would call lapsed at the end of the period is lapsed here too.

Each group's referral rate is the referrals received from it in the period per contact;
:func:`app.services.analytics.stats.compare_rates` compares the two rates.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.analytics.people_schemas import (
    CohortFigures,
    EngagementAdvocacyReport,
    RateComparisonRead,
)
from app.models.analytics.schemas import PeriodRead
from app.models.contacts import ENGAGING_DIRECTIONS
from app.services.analytics.formulas import conversion_rate
from app.services.analytics.stats import compare_rates
from app.services.platform import contact_row_sql, get_workspace, text_binds

_DIRECTIONS = ", ".join(f"'{d}'" for d in sorted(ENGAGING_DIRECTIONS))

COHORTS: TextClause = text(
    f"""
WITH cohort AS (
    SELECT c.id, c.created_at FROM contacts c
     WHERE c.workspace_id = :ws AND c.created_at < CAST(:start AS timestamptz)
       AND {contact_row_sql("c")}
),
ev AS (
    SELECT i.contact_id, i.occurred_at AS t FROM interactions i
     WHERE i.workspace_id = :ws AND i.direction IN ({_DIRECTIONS})
       AND i.occurred_at < CAST(:stop AS timestamptz)
    UNION ALL
    SELECT p.contact_id, coalesce(p.attended_at, CAST(a.date AS timestamptz))
      FROM engagement_participants p
      JOIN engagement_activities a ON a.workspace_id = p.workspace_id AND a.id = p.activity_id
     WHERE p.workspace_id = :ws AND p.status = 'attended'
    UNION ALL
    SELECT c.id, c.last_engaged_at FROM contacts c
     WHERE c.workspace_id = :ws AND c.last_engaged_at < CAST(:stop AS timestamptz)
),
before AS (
    SELECT contact_id, max(t) AS t FROM ev
     WHERE t < CAST(:start AS timestamptz) GROUP BY contact_id
),
pts AS (
    SELECT c.id AS contact_id, coalesce(b.t, c.created_at) AS t
      FROM cohort c LEFT JOIN before b ON b.contact_id = c.id
    UNION ALL
    SELECT e.contact_id, e.t FROM ev e JOIN cohort c ON c.id = e.contact_id
     WHERE e.t >= CAST(:start AS timestamptz) AND e.t < CAST(:stop AS timestamptz)
    UNION ALL
    SELECT c.id, CAST(:stop AS timestamptz) FROM cohort c
),
gaps AS (
    SELECT contact_id, t - lag(t) OVER (PARTITION BY contact_id ORDER BY t) AS gap FROM pts
),
flag AS (
    SELECT contact_id,
           coalesce(max(gap), interval '0') > make_interval(days => CAST(:gap_days AS int))
               AS lapsed
      FROM gaps GROUP BY contact_id
),
refs AS (
    SELECT source_contact_id AS contact_id, count(*) AS n FROM referrals
     WHERE workspace_id = :ws AND direction = 'received'
       AND received_at >= CAST(:start AS timestamptz) AND received_at < CAST(:stop AS timestamptz)
     GROUP BY source_contact_id
)
SELECT f.lapsed, count(*) AS contacts, coalesce(sum(r.n), 0) AS referrals,
       count(r.n) AS referring
  FROM flag f LEFT JOIN refs r ON r.contact_id = f.contact_id
 GROUP BY f.lapsed
"""
)


def _figures(row: object | None) -> CohortFigures:
    contacts = int(getattr(row, "contacts", 0))
    referrals = int(getattr(row, "referrals", 0))
    referring = int(getattr(row, "referring", 0))
    return CohortFigures(
        contacts=contacts,
        referrals=referrals,
        referring_contacts=referring,
        referrals_per_contact=round(referrals / contacts, 4) if contacts else None,
        share_referring=conversion_rate(referring, contacts),
    )


async def engagement_advocacy(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    period: PeriodRead,
    *,
    gap_days: int | None,
    at: datetime,
) -> EngagementAdvocacyReport:
    """``gap_days`` defaults to the workspace's lapse threshold."""
    if gap_days is None:
        gap_days = (await get_workspace(session, workspace_id)).lapse_threshold_days
    stop = min(period.ends_at, at)
    params = {
        "ws": workspace_id,
        "start": period.starts_at,
        "stop": stop,
        "gap_days": gap_days,
        **text_binds(),
    }
    rows = {r.lapsed: r for r in (await session.execute(COHORTS, params)).all()}
    lapsed, engaged = _figures(rows.get(True)), _figures(rows.get(False))
    cmp = compare_rates(lapsed.referrals, lapsed.contacts, engaged.referrals, engaged.contacts)
    return EngagementAdvocacyReport(
        period=period,
        gap_days=gap_days,
        definition=(
            f"lapsed: contacts created before the period whose engagement paused more than "
            f"{gap_days} days at some point in it; engaged: the others"
        ),
        lapsed=lapsed,
        engaged=engaged,
        comparison=RateComparisonRead(
            rate_ratio=cmp.rate_ratio,
            ci_low=cmp.ci_low,
            ci_high=cmp.ci_high,
            p_value=cmp.p_value,
            sufficient=cmp.sufficient,
            reason=cmp.reason,
        ),
    )
