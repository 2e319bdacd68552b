"""The period an analytics report covers, and small helpers shared by the reports.

Periods are whole days in the workspace's time zone, because "March" means the firm's
March: a referral received at 23:30 in New York on the 31st belongs to it even though it
is already April in UTC. Internally a period is the half-open UTC range [starts_at, ends_at).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import ValidationFailed
from app.models.analytics.schemas import PeriodRead
from app.services.platform import get_workspace

DEFAULT_DAYS = 365
MAX_DAYS = 3660
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def money(value: Decimal | int | None) -> Decimal:
    return Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_EVEN)


async def resolve_period(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    start: date | None,
    end: date | None,
    *,
    at: datetime,
) -> PeriodRead:
    """Defaults: the last 365 days up to today (inclusive) in the workspace's zone."""
    zone_name = (await get_workspace(session, workspace_id)).time_zone
    zone = ZoneInfo(zone_name)
    end = end or at.astimezone(zone).date()
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise ValidationFailed.on(["query", "from"], "`from` must not be after `to`")
    if (end - start).days >= MAX_DAYS:
        raise ValidationFailed.on(["query", "from"], f"a period is at most {MAX_DAYS} days")
    starts_at = datetime.combine(start, time(0), zone).astimezone(UTC)
    ends_at = datetime.combine(end + timedelta(days=1), time(0), zone).astimezone(UTC)
    return PeriodRead(
        start_date=start,
        end_date=end,
        time_zone=zone_name,
        starts_at=starts_at,
        ends_at=ends_at,
    )
