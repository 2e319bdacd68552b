"""Touch timing rules: examples for the documented cases, properties for the calendar edges."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta, timezone
from itertools import pairwise
from typing import TypedDict
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from app.services.touches.steps import add_years
from app.services.touches.timing import (
    AfterEnrollment,
    MonthlyOnDay,
    NthWeekday,
    ObservanceRelative,
    Timing,
    YearlyDate,
    business_day_after,
    due_at,
    first_occurrence_on_or_after,
    next_window_open,
    observance_date,
    occurrences,
    within_window,
)

TIMING = TypeAdapter(Timing)
ZONES = ["America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata"]
NINE, EIGHT_PM = time(9), time(20)


class Span(TypedDict):
    start: date
    window_start: date
    window_end: date


class Window(TypedDict):
    tz: str
    window_start: time
    window_end: time


MANY = settings(max_examples=400, deadline=None)
SOME = settings(max_examples=150, deadline=None)


def _transition_days(zone_name: str) -> list[date]:
    zone = ZoneInfo(zone_name)
    days = []
    day = date(2023, 1, 1)
    while day < date(2027, 1, 1):
        today = datetime.combine(day, time(0), tzinfo=zone).utcoffset()
        tomorrow = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).utcoffset()
        if today != tomorrow:
            days.append(day)
        day += timedelta(days=1)
    return days


TRANSITION_DAYS = {zone: _transition_days(zone) for zone in ZONES}


# --- strategies --------------------------------------------------------------------------

dates = st.dates(min_value=date(1995, 1, 1), max_value=date(2105, 12, 31))
minute_times = st.builds(time, st.integers(0, 23), st.integers(0, 59))
windows = st.lists(minute_times, min_size=2, max_size=2, unique=True).map(sorted)
observance_kinds = st.sampled_from(
    ["birthday", "anniversary", "home_anniversary", "closing_anniversary", "custom"]
)
month_days = st.integers(1, 12).flatmap(
    lambda m: st.tuples(st.just(m), st.integers(1, calendar.monthrange(2024, m)[1]))
)
monthly = st.builds(
    MonthlyOnDay,
    every_months=st.integers(1, 12),
    day=st.integers(1, 31),
    start_offset_months=st.integers(0, 120),
)
nth_weekdays = st.builds(
    NthWeekday,
    every_months=st.integers(1, 12),
    weekday=st.integers(0, 6),
    nth=st.sampled_from([1, 2, 3, 4, 5, -1]),
    start_offset_months=st.integers(0, 120),
)
yearly_dates = st.one_of(
    month_days.map(lambda md: {"month": md[0], "day": md[1]}),
    st.fixed_dictionaries(
        {
            "month": st.integers(1, 12),
            "weekday": st.integers(0, 6),
            "nth": st.sampled_from([1, 2, 3, 4, 5, -1]),
        }
    ),
).flatmap(lambda rule: st.integers(-60, 60).map(lambda k: YearlyDate(**rule, days_before=k)))
timings = st.one_of(
    st.builds(AfterEnrollment, days=st.integers(0, 3660)),
    monthly,
    nth_weekdays,
    st.builds(
        ObservanceRelative, observance_kind=observance_kinds, days_before=st.integers(-60, 60)
    ),
    yearly_dates,
)
observance_maps = st.dictionaries(observance_kinds, month_days)


@st.composite
def windowed(draw: st.DrawFn, max_days: int = 1200) -> tuple[date, date, date]:
    start = draw(dates)
    window_start = start + timedelta(days=draw(st.integers(-400, 2000)))
    window_end = window_start + timedelta(days=draw(st.integers(-5, max_days)))
    return start, window_start, window_end


@st.composite
def local_days(draw: st.DrawFn) -> tuple[str, date]:
    zone = draw(st.sampled_from(ZONES))
    transitions = TRANSITION_DAYS[zone]
    near_change: bool = draw(st.booleans())
    if transitions and near_change:
        return zone, draw(st.sampled_from(transitions))
    return zone, draw(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)))


@st.composite
def instants(draw: st.DrawFn) -> tuple[str, datetime]:
    """Whole-minute UTC instants, half of them within a day and a half of a DST change."""
    zone, day = draw(local_days())
    base = datetime.combine(day, time(12), tzinfo=UTC)
    return zone, base + timedelta(minutes=draw(st.integers(-36 * 60, 36 * 60)))


def _month_index(d: date) -> int:
    return d.year * 12 + d.month - 1


def _days(lo: date, hi: date) -> list[date]:
    return [lo + timedelta(days=i) for i in range((hi - lo).days + 1)]


def _local(instant: datetime, zone: str) -> datetime:
    return instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def _exists(day: date, wall: time, zone: str) -> bool:
    naive = datetime.combine(day, wall)
    return _local(naive.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC), zone) == naive


# --- spec models -------------------------------------------------------------------------


def test_timing_union_dispatches_on_kind() -> None:
    spec = TIMING.validate_python(
        {"kind": "nth_weekday", "every_months": 1, "weekday": 0, "nth": 3}
    )
    assert spec == NthWeekday(every_months=1, weekday=0, nth=3)
    spec = TIMING.validate_json(
        '{"kind": "observance", "observance_kind": "birthday", "days_before": 7}'
    )
    assert isinstance(spec, ObservanceRelative)
    assert spec.days_before == 7


@given(timings)
def test_timing_json_round_trip(spec: Timing) -> None:
    assert TIMING.validate_json(TIMING.dump_json(spec)) == spec


@pytest.mark.parametrize(
    "payload",
    [
        {"kind": "after_enrollment", "days": -1},
        {"kind": "after_enrollment", "days": 3661},
        {"kind": "after_enrollment", "days": 3, "extra": 1},
        {"kind": "monthly_day", "every_months": 0, "day": 1},
        {"kind": "monthly_day", "every_months": 13, "day": 1},
        {"kind": "monthly_day", "every_months": 1, "day": 32},
        {"kind": "monthly_day", "every_months": 1, "day": 1, "start_offset_months": 121},
        {"kind": "nth_weekday", "every_months": 1, "weekday": 7, "nth": 1},
        {"kind": "nth_weekday", "every_months": 1, "weekday": 0, "nth": 0},
        {"kind": "nth_weekday", "every_months": 1, "weekday": 0, "nth": 6},
        {"kind": "nth_weekday", "every_months": 1, "weekday": 0, "nth": -2},
        {"kind": "observance", "observance_kind": "wedding", "days_before": 0},
        {"kind": "observance", "observance_kind": "birthday", "days_before": 61},
        {"kind": "yearly_date", "month": 7},
        {"kind": "yearly_date", "month": 13, "day": 1},
        {"kind": "yearly_date", "month": 4, "day": 31},
        {"kind": "yearly_date", "month": 2, "day": 30},
        {"kind": "yearly_date", "month": 11, "day": 26, "weekday": 3, "nth": 4},
        {"kind": "yearly_date", "month": 11, "weekday": 3},
        {"kind": "yearly_date", "month": 11, "nth": 4},
        {"kind": "yearly_date", "month": 7, "day": 4, "days_before": 61},
        {"kind": "weekly", "days": 1},
        {"days": 1},
    ],
)
def test_invalid_timing_rejected(payload: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        TIMING.validate_python(payload)


# --- occurrences: examples ---------------------------------------------------------------


def test_eight_by_eight_gives_weekly_touches() -> None:
    start = date(2024, 2, 26)
    steps = [AfterEnrollment(days=7 * week) for week in range(8)]
    found = [
        d
        for s in steps
        for d in occurrences(
            s, start=start, window_start=start, window_end=start + timedelta(days=60)
        )
    ]
    assert found == [start + timedelta(weeks=w) for w in range(8)]


def test_monthly_day_31_clamps_in_short_months() -> None:
    spec = MonthlyOnDay(every_months=1, day=31)
    got = occurrences(
        spec, start=date(2023, 12, 1), window_start=date(2023, 1, 1), window_end=date(2024, 4, 30)
    )
    assert got == [
        date(2023, 12, 31),
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
    ]
    got = occurrences(
        spec, start=date(2025, 2, 1), window_start=date(2025, 2, 1), window_end=date(2025, 2, 28)
    )
    assert got == [date(2025, 2, 28)]


def test_monthly_day_already_past_in_start_month_is_skipped() -> None:
    spec = MonthlyOnDay(every_months=3, day=15, start_offset_months=1)
    got = occurrences(
        spec, start=date(2024, 1, 20), window_start=date(2024, 1, 1), window_end=date(2024, 12, 31)
    )
    assert got == [date(2024, 2, 15), date(2024, 5, 15), date(2024, 8, 15), date(2024, 11, 15)]
    got = occurrences(
        MonthlyOnDay(every_months=1, day=15),
        start=date(2024, 1, 20),
        window_start=date(2024, 1, 1),
        window_end=date(2024, 2, 29),
    )
    assert got == [date(2024, 2, 15)]


def test_third_monday_and_fifth_and_last() -> None:
    window: Span = {
        "start": date(2024, 1, 1),
        "window_start": date(2024, 1, 1),
        "window_end": date(2024, 4, 30),
    }
    assert occurrences(NthWeekday(every_months=1, weekday=0, nth=3), **window) == [
        date(2024, 1, 15),
        date(2024, 2, 19),
        date(2024, 3, 18),
        date(2024, 4, 15),
    ]
    # Only January and April 2024 have a 5th Monday; other months use their last Monday.
    assert occurrences(NthWeekday(every_months=1, weekday=0, nth=5), **window) == [
        date(2024, 1, 29),
        date(2024, 2, 26),
        date(2024, 3, 25),
        date(2024, 4, 29),
    ]
    assert occurrences(NthWeekday(every_months=2, weekday=4, nth=-1), **window) == [
        date(2024, 1, 26),
        date(2024, 3, 29),
    ]


def test_observance_needs_the_contacts_date() -> None:
    spec = ObservanceRelative(observance_kind="home_anniversary", days_before=14)
    window: Span = {
        "start": date(2024, 1, 1),
        "window_start": date(2024, 1, 1),
        "window_end": date(2026, 12, 31),
    }
    assert occurrences(spec, **window) == []
    assert occurrences(spec, **window, observances={"birthday": (5, 1)}) == []
    assert occurrences(spec, **window, observances={"home_anniversary": (1, 10)}) == [
        date(2024, 12, 27),
        date(2025, 12, 27),
        date(2026, 12, 27),
    ]


def test_observance_after_the_date_crosses_new_year() -> None:
    spec = ObservanceRelative(observance_kind="custom", days_before=-10)
    got = occurrences(
        spec,
        start=date(2024, 1, 1),
        window_start=date(2024, 1, 1),
        window_end=date(2025, 1, 31),
        observances={"custom": (12, 28)},
    )
    assert got == [date(2024, 1, 7), date(2025, 1, 7)]


def test_first_occurrence_examples() -> None:
    birthday = ObservanceRelative(observance_kind="birthday", days_before=7)
    leapling = {"birthday": (2, 29)}
    assert first_occurrence_on_or_after(
        birthday, start=date(2024, 3, 1), after=date(2024, 3, 1), observances=leapling
    ) == date(2025, 2, 21)
    assert (
        first_occurrence_on_or_after(birthday, start=date(2024, 3, 1), after=date(2024, 3, 1))
        is None
    )
    once = AfterEnrollment(days=10)
    assert first_occurrence_on_or_after(
        once, start=date(2024, 3, 1), after=date(2024, 3, 5)
    ) == date(2024, 3, 11)
    assert (
        first_occurrence_on_or_after(once, start=date(2024, 3, 1), after=date(2024, 3, 12)) is None
    )
    late = MonthlyOnDay(every_months=12, day=1, start_offset_months=120)
    assert first_occurrence_on_or_after(
        late, start=date(2024, 3, 1), after=date(2024, 3, 1)
    ) == date(2034, 3, 1)


def test_yearly_date_holidays() -> None:
    thanksgiving = YearlyDate(month=11, weekday=3, nth=4)
    assert [thanksgiving.on(y) for y in (2026, 2027, 2028)] == [
        date(2026, 11, 26), date(2027, 11, 25), date(2028, 11, 23)
    ]  # fmt: skip
    memorial_day = YearlyDate(month=5, weekday=0, nth=-1)
    assert memorial_day.on(2027) == date(2027, 5, 31)
    new_year_card = YearlyDate(month=1, day=1, days_before=5)
    got = occurrences(
        new_year_card,
        start=date(2026, 11, 23),
        window_start=date(2026, 1, 1),
        window_end=date(2028, 12, 31),
    )
    assert got == [date(2026, 12, 27), date(2027, 12, 27), date(2028, 12, 27)]
    leap = YearlyDate(month=2, day=29)
    assert [leap.on(y) for y in (2027, 2028)] == [date(2027, 2, 28), date(2028, 2, 29)]
    assert first_occurrence_on_or_after(
        thanksgiving, start=date(2026, 11, 27), after=date(2026, 11, 27)
    ) == date(2027, 11, 25)


def test_observance_date_on_29_february() -> None:
    assert observance_date(2, 29, 2024) == date(2024, 2, 29)
    assert observance_date(2, 29, 2023) == date(2023, 2, 28)
    assert observance_date(2, 29, 2100) == date(2100, 2, 28)
    assert observance_date(2, 29, 2000) == date(2000, 2, 29)
    assert observance_date(12, 31, 2023) == date(2023, 12, 31)


# --- occurrences: properties -------------------------------------------------------------


@MANY
@given(timings, windowed(), observance_maps)
def test_occurrences_within_window_never_before_start(
    spec: Timing, span: tuple[date, date, date], observances: dict[str, tuple[int, int]]
) -> None:
    start, window_start, window_end = span
    got = occurrences(
        spec, start=start, window_start=window_start, window_end=window_end, observances=observances
    )
    assert all(d >= start and window_start <= d <= window_end for d in got)
    assert got == sorted(set(got))


@MANY
@given(monthly, windowed())
def test_monthly_day_matches_calendar_oracle(
    spec: MonthlyOnDay, span: tuple[date, date, date]
) -> None:
    start, window_start, window_end = span
    got = occurrences(spec, start=start, window_start=window_start, window_end=window_end)
    first_month = _month_index(start) + spec.start_offset_months

    def expected(d: date) -> bool:
        months = _month_index(d) - first_month
        last = calendar.monthrange(d.year, d.month)[1]
        return (
            d >= start
            and months >= 0
            and months % spec.every_months == 0
            and d.day == min(spec.day, last)
        )

    assert got == [d for d in _days(window_start, window_end) if expected(d)]
    for d in got:
        if spec.day >= 29 and d.month == 2:
            assert d.day == (29 if calendar.isleap(d.year) else 28)


@MANY
@given(nth_weekdays, windowed())
def test_nth_weekday_lands_in_right_week(spec: NthWeekday, span: tuple[date, date, date]) -> None:
    start, window_start, window_end = span
    got = occurrences(spec, start=start, window_start=window_start, window_end=window_end)
    first_month = _month_index(start) + spec.start_offset_months
    months = {_month_index(d) for d in got}
    assert len(months) == len(got)  # one per month
    for d in got:
        assert d.weekday() == spec.weekday
        assert (_month_index(d) - first_month) % spec.every_months == 0
        is_last = (d + timedelta(days=7)).month != d.month
        if spec.nth == -1:
            assert is_last
        elif (d.day - 1) // 7 + 1 != spec.nth:
            assert spec.nth == 5
            assert is_last
    # Completeness: every eligible month fully inside the window has its date.
    lo, hi = max(start, window_start), window_end
    for index in range(_month_index(lo) + 1, _month_index(hi)):
        if index >= first_month and (index - first_month) % spec.every_months == 0:
            assert index in months


@MANY
@given(st.integers(1, 9999))
def test_29_february_observance_by_year(year: int) -> None:
    expected = date(year, 2, 29) if calendar.isleap(year) else date(year, 2, 28)
    assert observance_date(2, 29, year) == expected


@MANY
@given(observance_kinds, month_days, st.integers(-60, 60), windowed(max_days=900))
def test_observance_matches_calendar_oracle(
    kind: str, month_day: tuple[int, int], days_before: int, span: tuple[date, date, date]
) -> None:
    start, window_start, window_end = span
    spec = ObservanceRelative.model_validate({"observance_kind": kind, "days_before": days_before})
    got = occurrences(
        spec,
        start=start,
        window_start=window_start,
        window_end=window_end,
        observances={kind: month_day},
    )
    targets = {
        observance_date(*month_day, y) - timedelta(days=days_before)
        for y in range(window_start.year - 1, window_end.year + 2)
    }
    assert got == [d for d in _days(window_start, window_end) if d >= start and d in targets]
    if month_day == (2, 29):
        for d in got:
            observed = d + timedelta(days=days_before)
            assert observed == date(observed.year, 2, 29 if calendar.isleap(observed.year) else 28)


@MANY
@given(yearly_dates, windowed(max_days=900))
def test_yearly_date_matches_calendar_oracle(
    spec: YearlyDate, span: tuple[date, date, date]
) -> None:
    start, window_start, window_end = span
    got = occurrences(spec, start=start, window_start=window_start, window_end=window_end)

    def holiday(d: date) -> bool:  # d + days_before is the date itself, found day by day
        h = d + timedelta(days=spec.days_before)
        if h.month != spec.month:
            return False
        if spec.day is not None:
            last = calendar.monthrange(h.year, h.month)[1]
            return h.day == min(spec.day, last)
        same = [x for x in _days(h.replace(day=1), h.replace(day=28) + timedelta(days=3))
                if x.month == h.month and x.weekday() == spec.weekday]  # fmt: skip
        assert spec.nth is not None
        return h == (same[-1] if spec.nth == -1 else same[min(spec.nth, len(same)) - 1])

    assert got == [d for d in _days(window_start, window_end) if d >= start and holiday(d)]


@MANY
@given(yearly_dates, dates)
def test_yearly_date_once_in_every_year_from_any_start(spec: YearlyDate, start: date) -> None:
    """A fixed day falls exactly once in each year after enrolment. An Nth weekday drifts
    within its month, and 29 February (as the date, the start, or crossed by days_before)
    shifts things by a day, so then a year may hold the date twice or miss it, never more."""
    end = add_years(start, 1) - timedelta(days=1)
    got = occurrences(spec, start=start, window_start=start, window_end=end)
    leap_days = {(spec.month, spec.day), (start.month, start.day)} & {(2, 29)}
    if spec.day is not None and not leap_days and spec.days_before == 0:
        assert len(got) == 1
    else:
        assert len(got) in (0, 1, 2)
    assert occurrences(spec, start=start, window_start=start, window_end=add_years(end, 1)) == (
        got
        + occurrences(
            spec, start=start, window_start=end + timedelta(1), window_end=add_years(end, 1)
        )
    )


@MANY
@given(dates)
def test_eight_by_eight_property(start: date) -> None:
    steps = [AfterEnrollment(days=days) for days in range(0, 50, 7)]
    window_end = start + timedelta(days=400)
    found = [
        d
        for s in steps
        for d in occurrences(
            s, start=start, window_start=start - timedelta(days=30), window_end=window_end
        )
    ]
    assert len(found) == 8
    assert found[0] == start
    assert all(b - a == timedelta(weeks=1) for a, b in pairwise(found))


@MANY
@given(timings, dates, st.integers(-800, 5000), observance_maps)
def test_first_occurrence_is_earliest_occurrence(
    spec: Timing, start: date, shift: int, observances: dict[str, tuple[int, int]]
) -> None:
    after = start + timedelta(days=shift)
    found = occurrences(
        spec,
        start=start,
        window_start=after,
        window_end=max(start, after) + timedelta(days=366 * 13),
        observances=observances,
    )
    first = first_occurrence_on_or_after(spec, start=start, after=after, observances=observances)
    assert first == (found[0] if found else None)


# --- send window -------------------------------------------------------------------------


def test_due_at_examples() -> None:
    day_window = {"window_start": time(0), "window_end": time(23, 59)}
    cases = [
        ("America/New_York", date(2024, 3, 10), time(2, 30), datetime(2024, 3, 10, 7, 0)),  # gap
        ("America/New_York", date(2024, 11, 3), time(1, 30), datetime(2024, 11, 3, 5, 30)),  # fold
        ("Europe/Berlin", date(2024, 3, 31), time(2, 30), datetime(2024, 3, 31, 1, 0)),
        ("Europe/Berlin", date(2024, 10, 27), time(2, 30), datetime(2024, 10, 27, 0, 30)),
        ("Australia/Lord_Howe", date(2024, 10, 6), time(2, 15), datetime(2024, 10, 5, 15, 30)),
        ("Australia/Lord_Howe", date(2024, 4, 7), time(1, 45), datetime(2024, 4, 6, 14, 45)),
        ("Asia/Kolkata", date(2024, 7, 1), time(9), datetime(2024, 7, 1, 3, 30)),
    ]
    for zone, day, wall, expected in cases:
        got = due_at(day, tz=zone, preferred=wall, **day_window)
        assert got == expected.replace(tzinfo=UTC), zone
        assert got.tzinfo is timezone.utc  # noqa: UP017 - the contract names it


def test_due_at_defaults_and_clamps() -> None:
    zone = "Europe/Berlin"
    day = date(2024, 7, 1)
    assert _local(due_at(day, tz=zone, window_start=NINE, window_end=EIGHT_PM), zone) == datetime(
        2024, 7, 1, 9
    )
    assert _local(
        due_at(day, tz=zone, window_start=NINE, window_end=EIGHT_PM, preferred=time(6)), zone
    ) == datetime(2024, 7, 1, 9)
    late = due_at(day, tz=zone, window_start=NINE, window_end=EIGHT_PM, preferred=time(22))
    assert _local(late, zone) == datetime(2024, 7, 1, 19, 59)
    assert _local(
        due_at(day, tz=zone, window_start=NINE, window_end=EIGHT_PM, preferred=EIGHT_PM), zone
    ) == datetime(2024, 7, 1, 19, 59)


def test_window_swallowed_by_gap_goes_to_next_opening() -> None:
    got = due_at(
        date(2024, 3, 10), tz="America/New_York", window_start=time(2), window_end=time(2, 45)
    )
    assert _local(got, "America/New_York") == datetime(2024, 3, 11, 2)


def test_bad_window_and_naive_instant_rejected() -> None:
    with pytest.raises(ValueError, match="send window"):
        due_at(date(2024, 1, 1), tz="UTC", window_start=EIGHT_PM, window_end=NINE)
    with pytest.raises(ValueError, match="aware"):
        within_window(datetime(2024, 1, 1, 10), tz="UTC", window_start=NINE, window_end=EIGHT_PM)
    with pytest.raises(ValueError, match="aware"):
        next_window_open(datetime(2024, 1, 1, 10), tz="UTC", window_start=NINE, window_end=EIGHT_PM)


@MANY
@given(local_days(), windows, st.data())
def test_due_at_keeps_wall_time_and_window(
    zone_day: tuple[str, date], window: list[time], data: st.DataObject
) -> None:
    zone, day = zone_day
    window_start, window_end = window
    wall = data.draw(
        st.one_of(
            st.just(window_start), minute_times.filter(lambda t: window_start <= t < window_end)
        )
    )
    got = due_at(day, tz=zone, window_start=window_start, window_end=window_end, preferred=wall)
    assert got.tzinfo is timezone.utc  # noqa: UP017 - the contract names it
    assert within_window(got, tz=zone, window_start=window_start, window_end=window_end)
    wanted = datetime.combine(day, wall)
    if _exists(day, wall, zone):
        assert _local(got, zone) == wanted
        assert got == wanted.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)  # first if repeated
    else:
        assert _local(got, zone) > wanted
        if _local(got, zone).date() == day:  # first valid instant after the gap
            assert _local(got - timedelta(seconds=1), zone) < wanted


@MANY
@given(local_days(), windows, st.one_of(st.none(), minute_times))
def test_due_at_always_inside_window(
    zone_day: tuple[str, date], window: list[time], preferred: time | None
) -> None:
    zone, day = zone_day
    window_start, window_end = window
    got = due_at(
        day, tz=zone, window_start=window_start, window_end=window_end, preferred=preferred
    )
    assert within_window(got, tz=zone, window_start=window_start, window_end=window_end)
    assert _local(got, zone).date() >= day


@MANY
@given(instants(), windows)
def test_next_window_open_is_open_and_not_earlier(
    zone_instant: tuple[str, datetime], window: list[time]
) -> None:
    zone, instant = zone_instant
    kwargs: Window = {"tz": zone, "window_start": window[0], "window_end": window[1]}
    opened = next_window_open(instant, **kwargs)
    assert opened >= instant
    assert within_window(opened, **kwargs)
    if within_window(instant, **kwargs):
        assert opened == instant
    assert opened - instant <= timedelta(days=2)


@SOME
@given(instants(), windows)
def test_next_window_open_is_the_first_open_minute(
    zone_instant: tuple[str, datetime], window: list[time]
) -> None:
    zone, instant = zone_instant
    kwargs: Window = {"tz": zone, "window_start": window[0], "window_end": window[1]}
    opened = next_window_open(instant, **kwargs)
    minute = instant
    while minute < opened:
        assert not within_window(minute, **kwargs)
        minute += timedelta(minutes=1)
    assert minute == opened  # windows and DST changes here are on whole minutes


def test_next_window_open_examples() -> None:
    ny: Window = {"tz": "America/New_York", "window_start": NINE, "window_end": EIGHT_PM}
    evening = datetime(2024, 7, 1, 21, tzinfo=ZoneInfo("America/New_York"))
    assert _local(next_window_open(evening, **ny), "America/New_York") == datetime(2024, 7, 2, 9)
    # Fall back from 01:59 EDT to 01:00 EST lands straight inside a 00:30-01:30 window.
    night: Window = {
        "tz": "America/New_York",
        "window_start": time(0, 30),
        "window_end": time(1, 30),
    }
    assert next_window_open(datetime(2024, 11, 3, 5, 45, tzinfo=UTC), **night) == datetime(
        2024, 11, 3, 6, tzinfo=UTC
    )


# --- business days -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local_day", "days", "expected"),
    [
        (date(2024, 3, 1), 1, date(2024, 3, 4)),  # Friday -> Monday
        (date(2024, 3, 2), 1, date(2024, 3, 4)),  # Saturday -> Monday
        (date(2024, 3, 3), 1, date(2024, 3, 4)),  # Sunday -> Monday
        (date(2024, 3, 4), 1, date(2024, 3, 5)),
        (date(2024, 3, 2), 2, date(2024, 3, 5)),
        (date(2024, 3, 1), 5, date(2024, 3, 8)),
        (date(2024, 3, 2), 0, date(2024, 3, 4)),
        (date(2024, 3, 4), 0, date(2024, 3, 4)),
    ],
)
def test_business_day_after_examples(local_day: date, days: int, expected: date) -> None:
    instant = datetime.combine(local_day, time(15), tzinfo=ZoneInfo("Europe/Berlin"))
    assert business_day_after(instant, tz="Europe/Berlin", days=days) == expected


def test_business_day_after_uses_local_date() -> None:
    friday_utc = datetime(2024, 3, 1, 23, 30, tzinfo=UTC)  # already Saturday in Kolkata
    assert business_day_after(friday_utc, tz="Asia/Kolkata") == date(2024, 3, 4)
    assert business_day_after(friday_utc, tz="America/New_York") == date(2024, 3, 4)
    thursday_utc = datetime(2024, 2, 29, 23, 30, tzinfo=UTC)
    assert business_day_after(thursday_utc, tz="Asia/Kolkata") == date(2024, 3, 4)
    assert business_day_after(thursday_utc, tz="America/New_York") == date(2024, 3, 1)
    with pytest.raises(ValueError, match="negative"):
        business_day_after(friday_utc, tz="UTC", days=-1)


@MANY
@given(instants(), st.integers(1, 40))
def test_business_day_after_counts_weekdays(zone_instant: tuple[str, datetime], days: int) -> None:
    zone, instant = zone_instant
    got = business_day_after(instant, tz=zone, days=days)
    local_day = _local(instant, zone).date()
    assert got.weekday() < 5
    assert sum(1 for d in _days(local_day + timedelta(days=1), got) if d.weekday() < 5) == days
