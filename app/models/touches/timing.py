"""When a plan step falls, as the API states it: the timing rules of touch plan steps.

Each rule is a tagged object (``kind``) validated once here, for the API, the stored plans
and the scheduler alike; ``app.services.touches.timing`` computes the dates they give.
The two calendar facts the rules themselves need (a 29 February observance in a common
year, the Nth weekday of a month) live here too, so a rule can name its own date.
"""

from __future__ import annotations

import calendar
from datetime import date
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.models.platform import require_tag

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
        return nth_weekday(year, self.month, self.weekday, self.nth)


Timing = Annotated[
    AfterEnrollment | MonthlyOnDay | NthWeekday | ObservanceRelative | YearlyDate,
    Field(discriminator="kind"),
]


def observance_date(month: int, day: int, year: int) -> date:
    """Date of a yearly observance in ``year``.

    A 29 February observance is celebrated on the last day of February (the 28th) in
    non-leap years: it must not disappear for three years, and sending it on 1 March would
    arrive after the day has passed.
    """
    if month == 2 and day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return date(year, month, day)


def nth_weekday(year: int, month: int, weekday: int, nth: int) -> date:
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
