"""Send windows: the local times at which a touch may go out, DST-correct.

Split from ``timing`` (which decides on which *dates* a step falls) because these
rules are about instants and zones, and referral thank-yous use them without any plan.
``timing`` re-exports them, so ``timing.due_at`` keeps working.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo


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


@lru_cache(maxsize=8192)
def day_end(day: date, tz: str) -> datetime:
    """The end of ``day`` on the zone's calendar (the next day's first instant), in UTC.

    Where a DST change skips midnight, the instant after the gap.
    """
    if day >= date.max - timedelta(days=1):
        return datetime.max.replace(tzinfo=UTC)
    midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(tz))
    return midnight.astimezone(UTC)


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
