"""Date rules for touch plan steps: on which days a step falls.

Kept free of the database and of FastAPI so the scheduler, the API and the tests share one
definition of "when is this step due" and so the rules can be checked exhaustively. The
local time of day (send window, DST) is ``touch_window``'s, re-exported here.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from types import MappingProxyType
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.models.platform.common import require_tag
from app.services.touches.window import business_day_after as business_day_after
from app.services.touches.window import due_at as due_at
from app.services.touches.window import next_window_open as next_window_open
from app.services.touches.window import within_window as within_window

ObservanceKind = Literal[
    "birthday", "anniversary", "home_anniversary", "closing_anniversary", "custom"
]


class AfterEnrollment(BaseModel):
    """A one-off step, e.g. the weekly touches of the 8x8 plan."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=require_tag)

    kind: Literal["after_enrollment"] = "after_enrollment"
    days: int = Field(ge=0, le=3660)


class MonthlyOnDay(BaseModel):
    """Every N months on a day of the month; short months use their last day instead."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=require_tag)

    kind: Literal["monthly_day"] = "monthly_day"
    every_months: int = Field(ge=1, le=12)
    day: int = Field(ge=1, le=31)
    start_offset_months: int = Field(default=0, ge=0, le=120)


class NthWeekday(BaseModel):
    """Every N months on e.g. the 3rd Monday; nth=5 falls back to the last such weekday."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=require_tag)

    kind: Literal["nth_weekday"] = "nth_weekday"
    every_months: int = Field(ge=1, le=12)
    weekday: int = Field(ge=0, le=6, description="Monday=0 ... Sunday=6")
    nth: Literal[1, 2, 3, 4, 5, -1] = Field(description="1..5, or -1 for the last one")
    start_offset_months: int = Field(default=0, ge=0, le=120)


class ObservanceRelative(BaseModel):
    """Yearly, relative to one of the contact's observances (cards must arrive before it)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=require_tag)

    kind: Literal["observance"] = "observance"
    observance_kind: ObservanceKind
    days_before: int = Field(ge=-60, le=60, description="negative means after the observance")


class YearlyDate(BaseModel):
    """Every year on one calendar date, the same for every contact: a fixed day (4 July)
    or the Nth weekday of a month (Thanksgiving: the 4th Thursday of November).

    ``days_before`` moves the touch ahead of the date so a card arrives in time.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra=require_tag)

    kind: Literal["yearly_date"] = "yearly_date"
    month: int = Field(ge=1, le=12)
    day: int | None = Field(
        default=None,
        ge=1,
        le=31,
        description="a fixed day; 29 February is the 28th in common years",
    )
    weekday: int | None = Field(
        default=None, ge=0, le=6, description="with nth: Monday=0 ... Sunday=6"
    )
    nth: Literal[1, 2, 3, 4, 5, -1] | None = Field(
        default=None,
        description="with weekday: 1..5 (5 falls back to the last), or -1 for the last",
    )
    days_before: int = Field(default=0, ge=-60, le=60, description="negative means after the date")

    @model_validator(mode="after")
    def _one_rule(self) -> Self:
        by_weekday = self.weekday is not None or self.nth is not None
        if by_weekday == (self.day is not None):
            raise ValueError("give either day, or weekday and nth")
        if by_weekday and (self.weekday is None or self.nth is None):
            raise ValueError("weekday and nth go together")
        # Checked against a leap year: 29 February is a valid yearly date.
        if self.day is not None and self.day > calendar.monthrange(2024, self.month)[1]:
            raise ValueError(f"month {self.month} has no day {self.day}")
        return self

    def on(self, year: int) -> date:
        """The date itself in ``year`` (before ``days_before`` is applied)."""
        if self.day is not None:
            return observance_date(self.month, self.day, year)
        assert self.weekday is not None
        assert self.nth is not None
        return _nth_weekday(year, self.month, self.weekday, self.nth)


Timing = Annotated[
    AfterEnrollment | MonthlyOnDay | NthWeekday | ObservanceRelative | YearlyDate,
    Field(discriminator="kind"),
]

_NO_OBSERVANCES: Mapping[str, tuple[int, int]] = MappingProxyType({})
_LAST_MONTH_INDEX = 9999 * 12 + 11  # December of date.max.year


def observance_date(month: int, day: int, year: int) -> date:
    """Date of a yearly observance in ``year``.

    A 29 February observance is celebrated on the last day of February (the 28th) in
    non-leap years: it must not disappear for three years, and sending it on 1 March would
    arrive after the day has passed.
    """
    if month == 2 and day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return date(year, month, day)


def _month_index(d: date) -> int:
    return d.year * 12 + d.month - 1


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> date:
    """The ``nth`` such weekday of the month (-1: the last; no 5th: the last one)."""
    last = calendar.monthrange(year, month)[1]
    if nth == -1:
        last_weekday = date(year, month, last).weekday()
        return date(year, month, last - (last_weekday - weekday) % 7)
    first_weekday = date(year, month, 1).weekday()
    day = 1 + (weekday - first_weekday) % 7 + 7 * (nth - 1)
    while day > last:  # no 5th such weekday this month: use the last one
        day -= 7
    return date(year, month, day)


def _day_in_month(index: int, timing: MonthlyOnDay | NthWeekday) -> date:
    year, month0 = divmod(index, 12)
    month = month0 + 1
    if isinstance(timing, MonthlyOnDay):
        return date(year, month, min(timing.day, calendar.monthrange(year, month)[1]))
    return _nth_weekday(year, month, timing.weekday, timing.nth)


def _yearly(lo: date, hi: date, days_before: int, on: Callable[[int], date]) -> list[date]:
    """Dates ``on(year) - days_before`` within ``[lo, hi]``.

    ``days_before`` may move a date across New Year, so look one year either side.
    """
    shift = timedelta(days=days_before)
    found: list[date] = []
    for year in range(max(lo.year - 1, 1), min(hi.year + 1, 9999) + 1):
        try:
            due = on(year) - shift
        except OverflowError:
            continue
        if lo <= due <= hi:
            found.append(due)
    return found


def occurrences(
    timing: Timing,
    *,
    start: date,
    window_start: date,
    window_end: date,
    observances: Mapping[str, tuple[int, int]] = _NO_OBSERVANCES,
) -> list[date]:
    """Dates in ``[window_start, window_end]`` on which the step falls, ascending.

    Nothing is ever scheduled before the enrolment ``start``: a monthly day already past in
    the start month is simply skipped rather than sent late.
    """
    lo = max(start, window_start)
    if lo > window_end:
        return []
    if isinstance(timing, AfterEnrollment):
        try:
            due = start + timedelta(days=timing.days)
        except OverflowError:
            return []
        return [due] if lo <= due <= window_end else []
    if isinstance(timing, ObservanceRelative):
        if timing.observance_kind not in observances:
            return []  # the contact has no such date: the step does not apply to them
        month, day = observances[timing.observance_kind]
        return _yearly(
            lo, window_end, timing.days_before, lambda year: observance_date(month, day, year)
        )
    if isinstance(timing, YearlyDate):
        return _yearly(lo, window_end, timing.days_before, timing.on)
    first = _month_index(start) + timing.start_offset_months
    step = timing.every_months
    index = first + step * max(0, math.ceil((_month_index(lo) - first) / step))
    found: list[date] = []
    while index <= min(_month_index(window_end), _LAST_MONTH_INDEX):
        due = _day_in_month(index, timing)
        if lo <= due <= window_end:
            found.append(due)
        index += step
    return found


def first_occurrence_on_or_after(
    timing: Timing,
    *,
    start: date,
    after: date,
    observances: Mapping[str, tuple[int, int]] = _NO_OBSERVANCES,
) -> date | None:
    """Next date the step falls on, used to schedule one touch at a time.

    Every recurrence repeats at least yearly, so two years past the first eligible month is
    always enough to find the next one; ``None`` means the step never falls (again).
    """
    search_from = max(start, after)
    if isinstance(timing, AfterEnrollment):
        found = occurrences(timing, start=start, window_start=search_from, window_end=date.max)
        return found[0] if found else None
    if isinstance(timing, MonthlyOnDay | NthWeekday):
        first_month = _month_index(start) + timing.start_offset_months
        if first_month > _LAST_MONTH_INDEX:
            return None
        year, month0 = divmod(first_month, 12)
        search_from = max(search_from, date(year, month0 + 1, 1))
    try:
        search_to = search_from + timedelta(days=2 * 366)
    except OverflowError:
        search_to = date.max
    found = occurrences(
        timing,
        start=start,
        window_start=search_from,
        window_end=search_to,
        observances=observances,
    )
    return found[0] if found else None
