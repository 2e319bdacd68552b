"""Date and time rules for touch plan steps.

Kept free of the database and of FastAPI so the scheduler, the API and the tests share one
definition of "when is this step due" and so the rules can be checked exhaustively.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

ObservanceKind = Literal[
    "birthday", "anniversary", "home_anniversary", "closing_anniversary", "custom"
]


class AfterEnrollment(BaseModel):
    """A one-off step, e.g. the weekly touches of the 8x8 plan."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["after_enrollment"] = "after_enrollment"
    days: int = Field(ge=0, le=3660)


class MonthlyOnDay(BaseModel):
    """Every N months on a day of the month; short months use their last day instead."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["monthly_day"] = "monthly_day"
    every_months: int = Field(ge=1, le=12)
    day: int = Field(ge=1, le=31)
    start_offset_months: int = Field(default=0, ge=0, le=120)


class NthWeekday(BaseModel):
    """Every N months on e.g. the 3rd Monday; nth=5 falls back to the last such weekday."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["nth_weekday"] = "nth_weekday"
    every_months: int = Field(ge=1, le=12)
    weekday: int = Field(ge=0, le=6, description="Monday=0 ... Sunday=6")
    nth: Literal[1, 2, 3, 4, 5, -1] = Field(description="1..5, or -1 for the last one")
    start_offset_months: int = Field(default=0, ge=0, le=120)


class ObservanceRelative(BaseModel):
    """Yearly, relative to one of the contact's observances (cards must arrive before it)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["observance"] = "observance"
    observance_kind: ObservanceKind
    days_before: int = Field(ge=-60, le=60, description="negative means after the observance")


Timing = Annotated[
    AfterEnrollment | MonthlyOnDay | NthWeekday | ObservanceRelative,
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


def _day_in_month(index: int, timing: MonthlyOnDay | NthWeekday) -> date:
    year, month0 = divmod(index, 12)
    month = month0 + 1
    last = calendar.monthrange(year, month)[1]
    if isinstance(timing, MonthlyOnDay):
        return date(year, month, min(timing.day, last))
    if timing.nth == -1:
        last_weekday = date(year, month, last).weekday()
        return date(year, month, last - (last_weekday - timing.weekday) % 7)
    first_weekday = date(year, month, 1).weekday()
    day = 1 + (timing.weekday - first_weekday) % 7 + 7 * (timing.nth - 1)
    while day > last:  # no 5th such weekday this month: use the last one
        day -= 7
    return date(year, month, day)


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
        shift = timedelta(days=timing.days_before)
        found: list[date] = []
        # days_before may move a date across New Year, so look one year either side.
        for year in range(max(lo.year - 1, 1), min(window_end.year + 1, 9999) + 1):
            try:
                due = observance_date(month, day, year) - shift
            except OverflowError:
                continue
            if lo <= due <= window_end:
                found.append(due)
        return found
    first = _month_index(start) + timing.start_offset_months
    step = timing.every_months
    index = first + step * max(0, math.ceil((_month_index(lo) - first) / step))
    found = []
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


def _check_window(window_start: time, window_end: time) -> None:
    # Mirrors the workspace setting, which only allows same-day windows.
    if not window_start < window_end:
        raise ValueError("send window must open before it closes on the same day")


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("instant must be timezone-aware")
    return instant


def _offset_change(lo: datetime, hi: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant in ``(lo, hi]`` where the zone switches to ``hi``'s offset.

    zoneinfo does not expose its transitions, so bisect over whole seconds (tzdata
    transitions are on whole seconds); callers pass spans holding a single transition.
    """
    target = hi.astimezone(zone).utcoffset()
    low, high = math.floor(lo.timestamp()), math.ceil(hi.timestamp())
    while high - low > 1:
        mid = (low + high) // 2
        if datetime.fromtimestamp(mid, zone).utcoffset() == target:
            high = mid
        else:
            low = mid
    return datetime.fromtimestamp(high, UTC)


def within_window(instant: datetime, *, tz: str, window_start: time, window_end: time) -> bool:
    """Whether the contact's wall clock reads inside the half-open send window."""
    _check_window(window_start, window_end)
    local = _aware(instant).astimezone(ZoneInfo(tz)).time()
    return window_start <= local < window_end


def next_window_open(
    instant: datetime, *, tz: str, window_start: time, window_end: time
) -> datetime:
    """First instant at or after ``instant`` inside the send window, in UTC.

    Walks from one UTC-offset change to the next: between changes the wall clock moves in
    step with UTC, and a change may jump the clock over the opening time (spring forward)
    or back into the window (fall back).
    """
    _check_window(window_start, window_end)
    zone = ZoneInfo(tz)
    current = _aware(instant).astimezone(UTC)
    for _ in range(16):  # each pass either answers or crosses one offset change
        local = current.astimezone(zone)
        if window_start <= local.time() < window_end:
            return current
        opens_on = local.date() if local.time() < window_start else local.date() + timedelta(1)
        offset = local.utcoffset()
        assert offset is not None
        candidate = datetime.combine(opens_on, window_start, tzinfo=UTC) - offset
        if candidate.astimezone(zone).utcoffset() == offset:
            return candidate
        current = _offset_change(current, candidate, zone)
    raise ValueError(f"send window never opens in {tz}")  # pragma: no cover


def due_at(
    day: date,
    *,
    tz: str,
    window_start: time,
    window_end: time,
    preferred: time | None = None,
) -> datetime:
    """UTC instant at which a touch for ``day`` is due, at the contact's local time.

    A preferred time outside the window is pulled into it (at or after closing means the
    last minute before closing). A wall time skipped by a DST change moves to the first
    instant after the gap; a repeated one uses its first occurrence so the touch is not
    held back an hour. Should a gap swallow the rest of the window, the touch goes to the
    next window opening, so the result always lies inside the window.
    """
    _check_window(window_start, window_end)
    wanted = preferred if preferred is not None else window_start
    if wanted >= window_end:
        last_minute = datetime.combine(day, window_end) - timedelta(minutes=1)
        wanted = last_minute.time() if last_minute.date() == day else window_start
    wanted = max(wanted, window_start)
    zone = ZoneInfo(tz)
    local = datetime.combine(day, wanted, tzinfo=zone)  # fold=0: first occurrence
    result = local.astimezone(UTC)
    if result.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        # Nonexistent: fold=0 and fold=1 map to either side of the gap.
        other = local.replace(fold=1).astimezone(UTC)
        result = _offset_change(min(result, other), max(result, other), zone)
    return next_window_open(result, tz=tz, window_start=window_start, window_end=window_end)


def business_day_after(instant: datetime, *, tz: str, days: int = 1) -> date:
    """Local date ``days`` business days (Mon-Fri) after the instant's local date.

    Counted on the contact's calendar, so a referral logged late Friday in UTC but already
    Saturday locally still gets its thank-you on Monday. Public holidays are not known
    here. ``days=0`` gives the date itself, or the next business day if it is a weekend.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    current = _aware(instant).astimezone(ZoneInfo(tz)).date()
    if days == 0:
        while current.weekday() >= 5:
            current += timedelta(days=1)
    for _ in range(days):
        current += timedelta(days=1)
        while current.weekday() >= 5:
            current += timedelta(days=1)
    return current
