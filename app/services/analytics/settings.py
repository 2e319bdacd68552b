"""Analytics settings: read with defaults when a workspace never set them, and update."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models.analytics.settings import (
    AnalyticsSettings,
    AnalyticsSettingsRead,
    AnalyticsSettingsUpdate,
)
from app.services.platform import check_version

_DEFAULTS = AnalyticsSettings(
    currency="USD",
    touch_costs={},
    tracking_cost_per_referral=Decimal("0.00"),
    over_reliance_share=Decimal("0.5000"),
    score_window_days=365,
    core_advocate_referrals=3,
    version=0,
)


def _read(row: AnalyticsSettings, *, stored: bool) -> AnalyticsSettingsRead:
    return AnalyticsSettingsRead(
        currency=row.currency,
        touch_costs={k: Decimal(v) for k, v in row.touch_costs.items()},
        tracking_cost_per_referral=row.tracking_cost_per_referral,
        over_reliance_share=row.over_reliance_share,
        score_window_days=row.score_window_days,
        core_advocate_referrals=row.core_advocate_referrals,
        version=row.version if stored else 0,
        updated_at=row.updated_at if stored else None,
    )


async def get_settings(session: AsyncSession, workspace_id: uuid.UUID) -> AnalyticsSettingsRead:
    """The stored settings, or the defaults (version 0) for a workspace that has none."""
    stmt = select(AnalyticsSettings).where(col(AnalyticsSettings.workspace_id) == workspace_id)
    row = (await session.execute(stmt)).scalar_one_or_none()
    return _read(row, stored=True) if row is not None else _read(_DEFAULTS, stored=False)


async def update_settings(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    changes: AnalyticsSettingsUpdate,
    *,
    expected_version: int | None,
    at: datetime,
) -> AnalyticsSettingsRead:
    """Create the row on first write (an upsert, so two first writers cannot collide)."""
    await session.execute(
        insert(AnalyticsSettings)
        .values(
            workspace_id=workspace_id,
            currency=_DEFAULTS.currency,
            touch_costs={},
            tracking_cost_per_referral=_DEFAULTS.tracking_cost_per_referral,
            over_reliance_share=_DEFAULTS.over_reliance_share,
            score_window_days=_DEFAULTS.score_window_days,
            core_advocate_referrals=_DEFAULTS.core_advocate_referrals,
            version=0,
            updated_at=at,
        )
        .on_conflict_do_nothing(index_elements=["workspace_id"])
    )
    stmt = (
        select(AnalyticsSettings)
        .where(col(AnalyticsSettings.workspace_id) == workspace_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    row = (await session.execute(stmt)).scalar_one()
    check_version(row.version, expected_version)
    values = changes.model_dump(exclude_unset=True)
    for field, value in values.items():
        if value is None:
            continue
        if field == "touch_costs":
            value = {channel: str(amount) for channel, amount in value.items()}
        setattr(row, field, value)
    row.version += 1
    row.updated_at = at
    await session.flush()
    await session.refresh(row)  # amounts as stored (their scale), as a later GET reads them
    return _read(row, stored=True)
