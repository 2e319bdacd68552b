"""The workspace-wide figures behind agenda values, computed once and kept for a while.

A segment's referral rate, the value per referral, the close rate, the funnel's usual
time in each stage, the touch lift and each referrer's history describe a year of the
whole team's work: they read every contact and referral of the workspace, yet barely move
within minutes (a referral received now counts in its referrer's value within 10). So each
process keeps them per workspace and day for ``TTL_SECONDS`` (keyed also by the
workspace's version and the reporting currency, so a changed setting is seen at once),
and a member's agenda costs only the rows of their own day. They are the team's figures,
computed as a viewer who sees everything: statistics, not records, and the same for every
member, so an item's value does not depend on who asks.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.platform import Workspace
from app.services import analytics
from app.services.platform import EVERYTHING, acting_as, current_actor
from app.services.scores.agenda_lift import LiftSource, touch_lift
from app.services.scores.agenda_value import WorkspaceFigures

TTL_SECONDS = 600.0
_MAX_ENTRIES = 1000
STALL_STAGES = ("contacted", "meeting", "agreement")

#: The workspace's last year of received referrals: value per referral and close rate.
WORKSPACE: TextClause = text(
    """
SELECT count(*) AS received,
       count(*) FILTER (WHERE r.stage = 'closed') AS closed,
       coalesce(sum(r.actual_value) FILTER (WHERE r.stage = 'closed'), 0) AS closed_value
  FROM referrals r
 WHERE r.workspace_id = :ws AND r.direction = 'received' AND r.currency = :cur
   AND r.received_at >= :year_ago AND r.received_at < :until
"""
)

SEGMENT_CONTACTS: TextClause = text(
    "SELECT segment, count(*) AS n FROM contacts WHERE workspace_id = :ws GROUP BY segment"
)

#: Referrals each segment's contacts sent in the last year (the referrer's segment now).
SEGMENT_REFERRALS: TextClause = text(
    """
SELECT c.segment, count(*) AS n
  FROM referrals r
  JOIN contacts c ON c.workspace_id = r.workspace_id AND c.id = r.source_contact_id
 WHERE r.workspace_id = :ws AND r.direction = 'received'
   AND r.received_at >= :year_ago AND r.received_at < :until
 GROUP BY c.segment
"""
)


#: Each referrer's history: referrals sent in the last year, all of them in the reporting
#: currency, and what those closed for.
REFERRERS: TextClause = text(
    """
SELECT r.source_contact_id AS id,
       count(*) FILTER (WHERE r.received_at >= :year_ago AND r.received_at < :until) AS n_year,
       count(*) FILTER (WHERE r.currency = :cur) AS n_cur,
       coalesce(sum(r.actual_value) FILTER (WHERE r.stage = 'closed' AND r.currency = :cur), 0)
           AS closed_value
  FROM referrals r
 WHERE r.workspace_id = :ws AND r.direction = 'received' AND r.source_contact_id IS NOT NULL
 GROUP BY r.source_contact_id
"""
)


@dataclass(frozen=True)
class Referrer:
    last_year: int
    sent: int  # in the reporting currency
    closed_value: Decimal


NO_HISTORY = Referrer(0, 0, Decimal(0))


@dataclass(frozen=True)
class TeamFigures:
    workspace: WorkspaceFigures
    segment_contacts: dict[str, int]
    segment_referrals: dict[str, int]
    referrers: dict[uuid.UUID, Referrer]
    stall_hours: dict[str, float]
    lift: float
    lift_source: LiftSource

    @property
    def stall_json(self) -> str:
        return json.dumps(self.stall_hours)


_CACHE: dict[tuple[uuid.UUID, int, str, date], tuple[float, TeamFigures]] = {}


async def _stall_hours(
    session: AsyncSession, workspace: Workspace, day: date, at: datetime
) -> dict[str, float]:
    """Hours after which a referral is stalled in a stage: the funnel's average time in
    that stage over the last year, times the workspace's factor (unmeasured: no rule)."""
    period = await analytics.resolve_period(
        session, workspace.id, day - timedelta(days=364), day, at=at
    )
    report = await analytics.funnel_report(session, workspace.id, period)
    return {
        s.stage: s.average_hours_in_stage * workspace.agenda_stall_factor
        for s in report.stages
        if s.stage in STALL_STAGES and s.average_hours_in_stage is not None
    }


async def _compute(
    session: AsyncSession, workspace: Workspace, currency: str, day: date, at: datetime
) -> TeamFigures:
    params = {
        "ws": workspace.id,
        "cur": currency,
        "year_ago": at - timedelta(days=365),
        "until": at,
    }
    row = (await session.execute(WORKSPACE, params)).one()
    contacts = {r.segment: int(r.n) for r in (await session.execute(SEGMENT_CONTACTS, params))}
    referrals = {r.segment: int(r.n) for r in (await session.execute(SEGMENT_REFERRALS, params))}
    referrers = {
        r.id: Referrer(int(r.n_year), int(r.n_cur), Decimal(r.closed_value))
        for r in await session.execute(REFERRERS, params)
    }
    lift, source = await touch_lift(session, workspace, at=at)
    return TeamFigures(
        workspace=WorkspaceFigures(int(row.received), int(row.closed), Decimal(row.closed_value)),
        segment_contacts=contacts,
        segment_referrals=referrals,
        referrers=referrers,
        stall_hours=await _stall_hours(session, workspace, day, at),
        lift=lift,
        lift_source=source,
    )


async def team_figures(
    session: AsyncSession, workspace: Workspace, currency: str, day: date, *, at: datetime
) -> TeamFigures:
    key = (workspace.id, workspace.version, currency, day)
    now = time.monotonic()
    hit = _CACHE.get(key)
    if hit is not None and now - hit[0] < TTL_SECONDS:
        return hit[1]
    with acting_as(current_actor(), EVERYTHING):
        figures = await _compute(session, workspace, currency, day, at)
    if len(_CACHE) >= _MAX_ENTRIES:
        _CACHE.clear()
    _CACHE[key] = (now, figures)
    return figures


def forget() -> None:
    """Drop every kept figure (tests that change a workspace's history between reads)."""
    _CACHE.clear()
