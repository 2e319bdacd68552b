"""Analytics about people: team performance, allied resources, the satisfaction model, and
engagement against advocacy."""

from __future__ import annotations

from fastapi import Query

from app.deps import ClockDep, ReadAuth, SessionDep
from app.models.analytics.people_schemas import (
    AlliedRanking,
    AlliedReport,
    EngagementAdvocacyReport,
    SatisfactionModel,
    TeamReport,
)
from app.routers.analytics.period import PeriodDep
from app.routers.platform import api_router
from app.services.analytics import engagement as analytics_engagement
from app.services.analytics import partners as analytics_partners
from app.services.analytics import team as analytics_team

router = api_router("analytics")


@router.get("/analytics/team", operation_id="getTeamPerformance", summary="Show team performance")
async def get_team_performance(
    auth: ReadAuth, session: SessionDep, clock: ClockDep, period: PeriodDep
) -> TeamReport:
    """Per member: time to first contact on referrals, late and overdue follow-ups,
    conversion, and manual touches completed on time."""
    return await analytics_team.team_performance(session, auth.workspace_id, period, at=clock.now())


@router.get(
    "/analytics/allied-resources",
    operation_id="getAlliedResources",
    summary="Review allied resources",
)
async def get_allied_resources(
    auth: ReadAuth,
    session: SessionDep,
    period: PeriodDep,
    rank_by: AlliedRanking = Query(
        default="quality",
        description="`quality`: best client ratings first; `received`: most leads sent to us "
        "first; `balance`: partners we owe referrals to first.",
    ),
) -> AlliedReport:
    """Allied resources ranked by service quality (clients' ratings on service records naming
    them) and reciprocity (referrals and value given to them against received from them)."""
    return await analytics_partners.allied_resources(session, auth.workspace_id, period, by=rank_by)


@router.get(
    "/analytics/satisfaction",
    operation_id="getSatisfactionModel",
    summary="Fit the satisfaction model",
)
async def get_satisfaction_model(
    auth: ReadAuth, session: SessionDep, period: PeriodDep
) -> SatisfactionModel:
    """S = alpha*C + beta*Q + gamma*V fitted over the feedback of the period: which factor
    drives satisfaction, with R² and n; "insufficient data" below the minimum n."""
    return await analytics_partners.satisfaction_model(session, auth.workspace_id, period)


@router.get(
    "/analytics/engagement-advocacy",
    operation_id="getEngagementAdvocacy",
    summary="Compare engagement and advocacy",
)
async def get_engagement_advocacy(
    auth: ReadAuth,
    session: SessionDep,
    clock: ClockDep,
    period: PeriodDep,
    gap_days: int | None = Query(
        default=None, ge=1, le=3650, description="Default: the workspace's lapse threshold."
    ),
) -> EngagementAdvocacyReport:
    """Referral rate of contacts whose engagement lapsed against those who stayed engaged,
    with counts and a rate comparison."""
    return await analytics_engagement.engagement_advocacy(
        session, auth.workspace_id, period, gap_days=gap_days, at=clock.now()
    )
