"""Whether a touch that came due goes out now, later, or not at all.

Decided per touch at the tick that claims it, in this order:

* its enrolment is no longer active: ``cancelled`` (nothing to tell anyone);
* the contact is do-not-contact, has no consent for the channel, or a template names the
  member and nobody signs for the contact: ``skipped`` with that reason;
* it was not released within its validity (``expires_at``): ``skipped: stale``. A
  scheduler stopped for ten days therefore sends nothing older than its steps allow;
* a task (``manual``) is released at once: the member chooses the hour;
* an automated touch goes out only while the contact's local clock is inside the
  workspace's send window. Outside it, the touch is put back with its due time moved
  to the window's next opening (DST-correct), or, if that opening is past its validity,
  skipped as stale. A touch planned inside the window and claimed on time is released
  as planned; one claimed late (the scheduler was down, an ad-hoc touch was given a
  night-time due time) waits for the window instead of going out at 3 a.m.

The window check is answered once per (zone, window) for a tick: a batch of thousands of
touches has a handful of zones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from app.services.touches.render import has_consent, needs_member
from app.services.touches.window import next_window_open


@dataclass(frozen=True)
class Decision:
    status: str  # "due" (release), "skipped", "cancelled", or "scheduled" (put back)
    reason: str | None = None
    due_at: datetime | None = None  # put back: the window's next opening


RELEASE = Decision("due")


@dataclass
class Windows:
    """Send-window answers at one instant, per (zone, window)."""

    at: datetime
    cache: dict[tuple[str, time, time], datetime] = field(default_factory=dict)

    def next_open(self, tz: str, start: time, end: time) -> datetime:
        """``at`` itself when the zone's clock reads inside the window, else its next
        opening. A zone this host's tz database lacks is read as UTC (as planning does)."""
        key = (tz, start, end)
        found = self.cache.get(key)
        if found is None:
            try:
                found = next_window_open(self.at, tz=tz, window_start=start, window_end=end)
            except (ValueError, KeyError):
                found = next_window_open(self.at, tz="UTC", window_start=start, window_end=end)
            self.cache[key] = found
        return found


def timing(
    *,
    mode: str,
    tz: str,
    window_start: time,
    window_end: time,
    expires_at: datetime | None,
    windows: Windows,
) -> Decision:
    """The freshness and window part of the decision, at ``windows.at``."""
    at = windows.at
    if expires_at is not None and at > expires_at:
        return Decision("skipped", "stale")
    if mode == "manual":
        return RELEASE
    opens = windows.next_open(tz, window_start, window_end)
    if opens <= at:
        return RELEASE
    if expires_at is not None and opens > expires_at:
        return Decision("skipped", "stale")
    return Decision("scheduled", None, opens)


def _unsigned(row: dict[str, Any]) -> bool:
    """A plan touch whose templates name the member, with no member to sign it."""
    if row["step_id"] is None or row["member_id"] is not None:
        return False
    sources = (row["plan_reminder"], row["subject_template"], row["body_template"])
    return any(s is not None and needs_member(s) for s in sources)


def decide(row: dict[str, Any], windows: Windows) -> Decision:
    """What becomes of a claimed touch (a row of ``payloads.details``)."""
    if row["enrollment_status"] is not None and row["enrollment_status"] != "active":
        return Decision("cancelled", f"enrollment_{row['enrollment_status']}")
    if row["do_not_contact"]:
        return Decision("skipped", "do_not_contact")
    if not has_consent(row["consent"], row["channel"]):
        return Decision("skipped", "no_consent")
    if _unsigned(row):
        return Decision("skipped", "no_sender")
    return timing(
        mode=row["mode"],
        tz=row["time_zone"] or row["workspace_time_zone"],
        window_start=row["send_window_start"],
        window_end=row["send_window_end"],
        expires_at=row["expires_at"],
        windows=windows,
    )
