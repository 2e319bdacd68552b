"""Date rules for touch plan steps: on which days a step falls.

Kept free of the database and of FastAPI so the scheduler, the API and the tests share one
definition of "when is this step due" and so the rules can be checked exhaustively. The
local time of day (send window, DST) is ``window``'s, re-exported here.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from types import MappingProxyType

from app.models.touches.timing import AfterEnrollment as AfterEnrollment
from app.models.touches.timing import MonthlyOnDay as MonthlyOnDay
from app.models.touches.timing import NthWeekday as NthWeekday
from app.models.touches.timing import ObservanceKind as ObservanceKind
from app.models.touches.timing import ObservanceRelative as ObservanceRelative
from app.models.touches.timing import Timing as Timing
from app.models.touches.timing import YearlyDate as YearlyDate
from app.models.touches.timing import nth_weekday
from app.models.touches.timing import observance_date as observance_date
from app.services.touches.window import business_day_after as business_day_after
from app.services.touches.window import day_end as day_end
from app.services.touches.window import due_at as due_at
from app.services.touches.window import next_window_open as next_window_open
from app.services.touches.window import within_window as within_window

_NO_OBSERVANCES: Mapping[str, tuple[int, int]] = MappingProxyType({})
_LAST_MONTH_INDEX = 9999 * 12 + 11  # December of date.max.year


def _month_index(d: date) -> int:
    return d.year * 12 + d.month - 1


def _day_in_month(index: int, timing: MonthlyOnDay | NthWeekday) -> date:
    year, month0 = divmod(index, 12)
    month = month0 + 1
    if isinstance(timing, MonthlyOnDay):
        return date(year, month, min(timing.day, calendar.monthrange(year, month)[1]))
    return nth_weekday(year, month, timing.weekday, timing.nth)


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
