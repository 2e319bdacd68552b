"""Facts that must already have happened: when a call was made, a referral came in, a
service was given, a person attended. A time given for one may run a few minutes ahead
of the server's clock (the client's clock is not ours), never more: a referral dated a
month ahead could never move (every stage change would predate it), an attendance dated
ahead would keep a contact from lapsing. Dates are compared with the workspace's today.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.errors import ValidationFailed

CLOCK_SKEW = timedelta(minutes=5)
_MINUTES = int(CLOCK_SKEW.total_seconds() // 60)


def refuse_future(when: datetime, at: datetime, loc: Sequence[str | int], what: str) -> None:
    """422 naming ``loc`` when ``when`` is more than ``CLOCK_SKEW`` after ``at`` (now)."""
    if when > at + CLOCK_SKEW:
        raise ValidationFailed.on(
            loc, f"{what} cannot be in the future (at most {_MINUTES} minutes ahead of now)"
        )


def refuse_future_date(
    day: date, at: datetime, time_zone: str, loc: Sequence[str | int], what: str
) -> None:
    """422 naming ``loc`` when ``day`` is after today in ``time_zone`` (the workspace's)."""
    today = (at + CLOCK_SKEW).astimezone(ZoneInfo(time_zone)).date()
    if day > today:
        raise ValidationFailed.on(loc, f"{what} cannot be after today ({today.isoformat()})")
