"""No ``touch.due`` is released outside the contact's send window, in any zone.

The rule lives in ``release.timing``: at a tick, an automated touch is released only if
the contact's wall clock reads inside the window, else put back to the window's next
opening (or skipped as stale when that opening is past its expiry). The oracle here is
``within_window``, a plain conversion of the instant to the zone's wall clock, which
shares nothing with the walk over UTC-offset changes ``next_window_open`` does.

* every zone the interpreter ships, around each of its offset changes of 2025-2027
  (DST gaps and overlaps, half-hour and 45-minute zones, zones that moved for good),
  with windows placed on the changed wall times;
* hypothesis over all those zones, instants (half near a change), windows and expiries,
  following a touch through a run of ticks as the scheduler would;
* the scheduler itself, on the database: one contact in every zone, touches due around
  their zone's changes, ticks at uneven times; every ``touch.due`` recorded is inside
  its contact's window.
"""

from __future__ import annotations

import math
import random
import uuid
from datetime import UTC, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select, update
from sqlmodel import col

from app.db import Database
from app.models.contacts.tables import Contact
from app.models.platform.event import Event
from app.models.platform.workspace import Workspace
from app.models.touches.tables import Touch
from app.services.touches.emit import emit_due_touches
from app.services.touches.release import Decision, Windows, timing
from app.services.touches.timing import within_window
from tests.conftest import T0, Tenant

ALL_ZONES = sorted(available_timezones())
SCAN = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2027, 12, 31, tzinfo=UTC))


@cache
def changes(zone_name: str) -> tuple[datetime, ...]:
    """The zone's UTC-offset changes in ``SCAN``, each to the second (daily scan, then a
    bisection between the two days that differ)."""
    zone = ZoneInfo(zone_name)
    found = []
    day = SCAN[0]
    offset = day.astimezone(zone).utcoffset()
    while day < SCAN[1]:
        nxt = day + timedelta(days=1)
        after = nxt.astimezone(zone).utcoffset()
        if after != offset:
            low, high = math.floor(day.timestamp()), math.ceil(nxt.timestamp())
            while high - low > 1:
                mid = (low + high) // 2
                if datetime.fromtimestamp(mid, zone).utcoffset() == after:
                    high = mid
                else:
                    low = mid
            found.append(datetime.fromtimestamp(high, UTC))
            offset = after
        day = nxt
    return tuple(found)


def _wall(instant: datetime, zone: str) -> time:
    return instant.astimezone(ZoneInfo(zone)).time().replace(second=0, microsecond=0)


def _around(wall: time, minutes: int) -> tuple[time, time] | None:
    """A same-day window from ``minutes`` before to ``minutes`` after a wall time."""
    base = datetime.combine(datetime(2000, 1, 2).date(), wall)
    lo, hi = base - timedelta(minutes=minutes), base + timedelta(minutes=minutes)
    if lo.date() != base.date() or hi.date() != base.date():
        return None
    return lo.time(), hi.time()


def _check(decision: Decision, at: datetime, tz: str, window: tuple[time, time]) -> None:
    """What a decision may be, by the oracle."""
    start, end = window
    if decision.status == "due":
        assert within_window(at, tz=tz, window_start=start, window_end=end), (tz, at, window)
    elif decision.status == "scheduled":
        assert decision.due_at is not None
        assert decision.due_at > at
        assert within_window(decision.due_at, tz=tz, window_start=start, window_end=end)
        assert not within_window(at, tz=tz, window_start=start, window_end=end)
    else:
        assert (decision.status, decision.reason) == ("skipped", "stale")


def test_every_zone_around_each_offset_change_releases_only_inside_the_window() -> None:
    checked = 0
    for tz in ALL_ZONES:
        for change in changes(tz) or (datetime(2026, 3, 29, 1, tzinfo=UTC),):
            before, after = _wall(change - timedelta(seconds=1), tz), _wall(change, tz)
            windows = {(time(9), time(20))}
            for wall in (before, after):
                for minutes in (20, 45, 90):
                    if (window := _around(wall, minutes)) is not None:
                        windows.add(window)
            for window in windows:
                for delta in (-120, -61, -60, -30, -1, 0, 1, 29, 30, 59, 60, 61, 24 * 60):
                    at = change + timedelta(minutes=delta)
                    decision = timing(
                        mode="automated",
                        tz=tz,
                        window_start=window[0],
                        window_end=window[1],
                        expires_at=None,
                        windows=Windows(at),
                    )
                    _check(decision, at, tz, window)
                    checked += 1
    assert checked > 50_000  # every zone, every change, every window, every instant


# --- hypothesis -----------------------------------------------------------------------

minute_times = st.builds(time, st.integers(0, 23), st.integers(0, 59))
windows = st.lists(minute_times, min_size=2, max_size=2, unique=True).map(sorted)


@st.composite
def zone_instants(draw: st.DrawFn) -> tuple[str, datetime]:
    """Any zone; half the instants within a day and a half of one of its offset changes."""
    tz = draw(st.sampled_from(ALL_ZONES))
    near = changes(tz)
    if near and draw(st.booleans()):
        base = draw(st.sampled_from(near))
        return tz, base + timedelta(seconds=draw(st.integers(-36 * 3600, 36 * 3600)))
    day = draw(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2060, 1, 1)))
    return tz, day.replace(tzinfo=UTC)


@settings(max_examples=600, deadline=None)
@given(
    zone_instants(),
    windows,
    st.one_of(st.none(), st.integers(-3 * 24 * 60, 30 * 24 * 60)),
    st.lists(st.integers(1, 36 * 60), min_size=1, max_size=40),
)
def test_a_touch_followed_through_uneven_ticks_goes_out_only_inside_its_window(
    zone_instant: tuple[str, datetime],
    window: list[time],
    expires_in: int | None,
    gaps: list[int],
) -> None:
    tz, due = zone_instant
    start, end = window
    expires_at = None if expires_in is None else due + timedelta(minutes=expires_in)
    tick, status = due, "scheduled"
    for gap in gaps:  # the scheduler's ticks, each at least a minute after the last
        tick += timedelta(minutes=gap)
        if tick < due:
            continue
        decision = timing(
            mode="automated",
            tz=tz,
            window_start=start,
            window_end=end,
            expires_at=expires_at,
            windows=Windows(tick),
        )
        _check(decision, tick, tz, (start, end))
        status = decision.status
        if status == "due":
            assert within_window(tick, tz=tz, window_start=start, window_end=end)
            assert expires_at is None or tick <= expires_at
            return
        if status == "skipped":
            assert expires_at is not None
            return
        assert decision.due_at is not None
        assert expires_at is None or decision.due_at <= expires_at
        due = decision.due_at  # put back: no claim sees it before then
    assert status == "scheduled"


@settings(max_examples=200, deadline=None)
@given(zone_instants(), windows)
def test_a_task_is_released_at_any_hour_but_never_after_it_expires(
    zone_instant: tuple[str, datetime], window: list[time]
) -> None:
    """Tasks are the member's to schedule; only freshness applies to them."""
    tz, at = zone_instant
    for expires_at, expected in (
        (None, Decision("due")),
        (at, Decision("due")),
        (at - timedelta(seconds=1), Decision("skipped", "stale")),
    ):
        got = timing(
            mode="manual",
            tz=tz,
            window_start=window[0],
            window_end=window[1],
            expires_at=expires_at,
            windows=Windows(at),
        )
        assert got == expected


# --- the scheduler, on the database ---------------------------------------------------


def _contact(workspace_id: uuid.UUID, contact_id: uuid.UUID, tz: str) -> dict[str, object]:
    email = f"{contact_id.hex[:12]}@example.com"
    return {
        "workspace_id": workspace_id,
        "id": contact_id,
        "first_name": "Pat",
        "sort_name": "Pat",
        "time_zone": tz,
        "primary_email": email,
        "emails": [{"address": email, "primary": True}],
        "consent": {"email": {"status": "granted"}},
        "created_at": T0,
        "updated_at": T0,
    }


def _touch(workspace_id: uuid.UUID, contact_id: uuid.UUID, due: datetime) -> dict[str, object]:
    """An ad-hoc automated e-mail as ``create_touch`` makes it (valid three days)."""
    return {
        "workspace_id": workspace_id,
        "id": uuid.uuid4(),
        "contact_id": contact_id,
        "channel": "email",
        "mode": "automated",
        "content_kind": "note",
        "status": "scheduled",
        "subject": "Hi",
        "body": "Hi",
        "due_at": due,
        "expires_at": due + timedelta(days=3),
        "version": 1,
        "created_at": T0,
        "updated_at": T0,
    }


async def test_the_tick_releases_touch_due_only_inside_the_window_in_every_zone(
    db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    """Two workspaces, windows placed where DST changes happen (a spring-forward gap
    swallows 02:30-03:15 in many zones; a fall-back hour repeats 01:15-01:45), one
    contact per zone in each, an ad-hoc e-mail due half an hour before each of the
    zone's changes in 2026 and one at each change; ticks come at uneven times."""
    rng = random.Random(21)
    zone_of: dict[uuid.UUID, str] = {}
    window_of = {tenant.id: (time(2, 30), time(3, 15)), other_tenant.id: (time(1, 15), time(1, 45))}
    contacts, touches = [], []
    for ws in window_of:
        for tz in ALL_ZONES:
            contact_id = uuid.uuid4()
            zone_of[contact_id] = tz
            contacts.append(_contact(ws, contact_id, tz))
            for change in [c for c in changes(tz) if c.year == 2026] or [T0]:
                for due in (change - timedelta(minutes=30), change):
                    touches.append(_touch(ws, contact_id, due))
    async with db.transaction() as session:
        for ws, (start, end) in window_of.items():
            await session.execute(
                update(Workspace)
                .where(col(Workspace.id) == ws)
                .values(send_window_start=start, send_window_end=end)
            )
        await session.execute(insert(Contact), contacts)
        await session.execute(insert(Touch), touches)
    async with db.transaction() as session:
        ticks = 0
        while True:
            next_due = (
                await session.execute(
                    select(col(Touch.due_at))
                    .where(col(Touch.status) == "scheduled")
                    .order_by(col(Touch.due_at))
                    .limit(1)
                )
            ).scalar_one_or_none()
            if next_due is None:
                break
            at = next_due + timedelta(minutes=rng.choice((0, 0, 1, 7, 29, 61, 180)))
            await emit_due_touches(session, at=at, limit=len(touches))
            ticks += 1
        released = (
            await session.execute(
                select(col(Event.workspace_id), col(Event.occurred_at), col(Event.data)).where(
                    col(Event.type) == "touch.due"
                )
            )
        ).all()
        outcome = set(
            (
                await session.execute(
                    select(col(Touch.status)).where(col(Touch.workspace_id).in_(list(window_of)))
                )
            ).scalars()
        )
    assert ticks > 100
    assert len(released) > len(ALL_ZONES)  # most touches find a window within 3 days
    for ws, at, data in released:
        start, end = window_of[ws]
        tz = zone_of[uuid.UUID(data["contact_id"])]
        assert data["due_at"] == at.isoformat().replace("+00:00", "Z")
        assert within_window(at, tz=tz, window_start=start, window_end=end), (tz, at)
    assert outcome == {"due", "skipped"}  # nothing left, some stale (a gap ate a window)
