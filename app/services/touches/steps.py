"""Plan steps as the scheduler sees them, and the dates and times they fall on.

Loaded once per batch from ``touch_plan_steps`` (timing parsed into ``timing``'s
specs) so materialising thousands of enrolments parses each plan once; the UTC instant
of a (date, zone, window, preferred time) is cached because a bulk enrolment repeats the
same few combinations millions of times.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models.touches.plan_schemas import TIMING_ADAPTER
from app.models.touches.tables import DEFAULT_VALID_FOR_DAYS, TouchPlan, TouchPlanStep
from app.models.touches.timing import (
    AfterEnrollment,
    MonthlyOnDay,
    NthWeekday,
    ObservanceRelative,
    YearlyDate,
)
from app.services.touches import timing

DONE = date.max  # materialized_until of an enrolment with nothing further to plan


@dataclass(frozen=True)
class StepSpec:
    id: uuid.UUID
    channel: str
    mode: str
    content_kind: str
    timing: AfterEnrollment | MonthlyOnDay | NthWeekday | ObservanceRelative | YearlyDate
    send_time: time | None
    assignee_id: uuid.UUID | None
    valid_for_days: int = DEFAULT_VALID_FOR_DAYS

    def dated(self, day: date) -> date | None:
        """The date the content of an occurrence on ``day`` is about, if it has one.

        A holiday or observance card is about its holiday or observance (``days_before``
        ahead of it; after it, for a negative value, it is about the day it goes out), an
        event invitation about the day it was planned for. Other content has no date.
        """
        if isinstance(self.timing, ObservanceRelative | YearlyDate):
            return max(day + timedelta(days=self.timing.days_before), day)
        if self.channel == "event_invite":
            return day
        return None


@dataclass(frozen=True)
class PlanSpec:
    id: uuid.UUID
    repeat_yearly: bool
    steps: tuple[StepSpec, ...]

    def cycle_end(self, start: date) -> date:
        """Last day of a non-yearly plan's single run (``DONE`` for yearly plans)."""
        if self.repeat_yearly:
            return DONE
        days = [s.timing.days for s in self.steps if isinstance(s.timing, AfterEnrollment)]
        end = start + timedelta(days=max(days, default=0))
        if any(not isinstance(s.timing, AfterEnrollment) for s in self.steps):
            end = max(end, add_years(start, 1) - timedelta(days=1))
        return end

    @property
    def observance_kinds(self) -> set[str]:
        return {
            s.timing.observance_kind for s in self.steps if isinstance(s.timing, ObservanceRelative)
        }


def add_years(day: date, years: int) -> date:
    """The same day ``years`` later; 29 February becomes the 28th in common years."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def step_dates(
    plan: PlanSpec,
    step: StepSpec,
    start: date,
    lo: date,
    hi: date,
    observances: dict[str, tuple[int, int]],
) -> list[date]:
    if isinstance(step.timing, AfterEnrollment) and plan.repeat_yearly:
        found = []
        first = max(0, lo.year - start.year - 11)  # days may reach ten years ahead
        for k in range(first, hi.year - start.year + 1):
            due = add_years(start, k) + timedelta(days=step.timing.days)
            if lo <= due <= hi:
                found.append(due)
        return found
    return timing.occurrences(
        step.timing, start=start, window_start=lo, window_end=hi, observances=observances
    )


@lru_cache(maxsize=65536)
def due_at_cached(day: date, tz: str, start: time, end: time, preferred: time | None) -> datetime:
    try:
        return timing.due_at(day, tz=tz, window_start=start, window_end=end, preferred=preferred)
    except (ValueError, KeyError):  # a zone this host's tzdata does not know: use UTC
        return timing.due_at(day, tz="UTC", window_start=start, window_end=end, preferred=preferred)


def expires_at(step: StepSpec, day: date, due: datetime, tz: str) -> datetime:
    """Until when an occurrence of ``step`` on ``day`` (due at ``due``) may go out:
    ``valid_for_days`` after its due time, and dated content no later than its date's
    end in the contact's zone."""
    expiry = due + timedelta(days=step.valid_for_days)
    about = step.dated(day)
    if about is not None:
        expiry = min(expiry, max(timing.day_end(about, tz), due))
    return expiry


async def load_plans(
    session: AsyncSession, keys: Iterable[tuple[uuid.UUID, uuid.UUID]]
) -> dict[tuple[uuid.UUID, uuid.UUID], PlanSpec]:
    wanted = list(set(keys))
    if not wanted:
        return {}
    plans = await session.execute(
        select(col(TouchPlan.workspace_id), col(TouchPlan.id), col(TouchPlan.repeat_yearly)).where(
            tuple_(col(TouchPlan.workspace_id), col(TouchPlan.id)).in_(wanted)
        )
    )
    steps: dict[tuple[uuid.UUID, uuid.UUID], list[StepSpec]] = {k: [] for k in wanted}
    rows = await session.execute(
        select(TouchPlanStep)
        .where(tuple_(col(TouchPlanStep.workspace_id), col(TouchPlanStep.plan_id)).in_(wanted))
        .order_by(col(TouchPlanStep.position))
    )
    for s in rows.scalars():
        steps[(s.workspace_id, s.plan_id)].append(
            StepSpec(
                id=s.id,
                channel=s.channel,
                mode=s.mode,
                content_kind=s.content_kind,
                timing=TIMING_ADAPTER.validate_python(s.timing),
                send_time=s.send_time,
                assignee_id=s.assignee_id,
                valid_for_days=s.valid_for_days,
            )
        )
    return {
        (p.workspace_id, p.id): PlanSpec(
            p.id, p.repeat_yearly, tuple(steps[(p.workspace_id, p.id)])
        )
        for p in plans
    }
