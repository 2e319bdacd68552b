"""The reporting period every analytics route takes as `from` / `to` query parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from app.deps import ClockDep, ReadAuth, SessionDep
from app.models.analytics.schemas import PeriodRead
from app.models.platform import IsoDate
from app.services.analytics.period import resolve_period


async def reporting_period(
    auth: ReadAuth,
    session: SessionDep,
    clock: ClockDep,
    start: Annotated[
        IsoDate | None,
        Query(alias="from", description="First day (workspace time zone); default: `to` - 364."),
    ] = None,
    end: Annotated[
        IsoDate | None, Query(alias="to", description="Last day, inclusive; default: today.")
    ] = None,
) -> PeriodRead:
    return await resolve_period(session, auth.workspace_id, start, end, at=clock.now())


PeriodDep = Annotated[PeriodRead, Depends(reporting_period)]
