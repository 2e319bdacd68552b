"""Analytics: settings, referral value and ROI, the referral funnel, the lead-source mix."""

from __future__ import annotations

from fastapi import Query, Response

from app.deps import AdminAuth, ClockDep, IfMatchDep, ReadAuth, SessionDep
from app.models.analytics.schemas import (
    FunnelReport,
    LeadSourceMix,
    MixDimension,
    ValueDimension,
    ValueReport,
)
from app.models.analytics.settings import AnalyticsSettingsRead, AnalyticsSettingsUpdate
from app.problems import PRECONDITION
from app.routers.analytics.period import PeriodDep
from app.routers.platform import api_router, set_etag
from app.services.analytics import funnel as analytics_funnel
from app.services.analytics import settings as analytics_settings
from app.services.analytics import value as analytics_value
from app.services.platform import MAX_LIMIT

router = api_router("analytics")


@router.get(
    "/analytics/settings", operation_id="getAnalyticsSettings", summary="Get analytics settings"
)
async def get_analytics_settings(
    auth: ReadAuth, session: SessionDep, response: Response
) -> AnalyticsSettingsRead:
    """Costs and thresholds the reports use (defaults until first changed: version 0)."""
    read = await analytics_settings.get_settings(session, auth.workspace_id)
    set_etag(response, read.version)
    return read


@router.patch(
    "/analytics/settings",
    operation_id="updateAnalyticsSettings",
    summary="Change analytics settings",
    responses=PRECONDITION,
)
async def update_analytics_settings(
    body: AnalyticsSettingsUpdate,
    auth: AdminAuth,
    session: SessionDep,
    clock: ClockDep,
    expected: IfMatchDep,
    response: Response,
) -> AnalyticsSettingsRead:
    """Change costs and thresholds; send `If-Match` with the ETag you read."""
    read = await analytics_settings.update_settings(
        session, auth.workspace_id, body, expected_version=expected, at=clock.now()
    )
    set_etag(response, read.version)
    return read


@router.get(
    "/analytics/referral-value",
    operation_id="getReferralValue",
    summary="Show referral value and ROI",
)
async def get_referral_value(
    auth: ReadAuth,
    session: SessionDep,
    period: PeriodDep,
    by: ValueDimension = Query(default="source", description="What each row is."),
    limit: int = Query(default=50, ge=1, le=MAX_LIMIT, description="Rows returned, best first."),
) -> ValueReport:
    """Referral value RV = (C x CR x AV) - (AC + TC) and ROI per source contact, segment,
    touch plan, reward program or engagement activity, each row with its inputs."""
    return await analytics_value.referral_value_report(
        session, auth.workspace_id, period, by=by, limit=limit
    )


@router.get(
    "/analytics/funnel", operation_id="getReferralFunnel", summary="Show the referral funnel"
)
async def get_referral_funnel(
    auth: ReadAuth, session: SessionDep, period: PeriodDep
) -> FunnelReport:
    """Referrals received in the period: how far they got, conversion per stage, time in
    each stage, and where the lost ones were lost."""
    return await analytics_funnel.funnel(session, auth.workspace_id, period)


@router.get(
    "/analytics/lead-sources", operation_id="getLeadSourceMix", summary="Show the lead-source mix"
)
async def get_lead_source_mix(
    auth: ReadAuth,
    session: SessionDep,
    period: PeriodDep,
    by: MixDimension = Query(default="source", description="Referrer, or referrer's segment."),
) -> LeadSourceMix:
    """Share of new business (referrals closed in the period) by source, with a warning for
    each source above the over-reliance threshold."""
    return await analytics_funnel.lead_source_mix(session, auth.workspace_id, period, by=by)
