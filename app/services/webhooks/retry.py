"""When to try a failed delivery again.

The schedule is the operator's (``RAPPORT_WEBHOOK_RETRY_SCHEDULE``): delay ``n`` follows
failed attempt ``n``; when it runs out the delivery has failed for good. Each delay is
spread ±20% so that a receiver that was down does not get every queued event back in
the same second. A receiver may ask for more time with ``Retry-After``, never for less
than the schedule step (that would let one receiver make us hammer it), and at most a day.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta

JITTER = 0.2
MAX_RETRY_AFTER = 24 * 3600.0


def next_attempt_at(
    schedule: Sequence[float],
    attempts_made: int,
    now: datetime,
    *,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> datetime | None:
    """The next attempt's time after ``attempts_made`` failures, or None when exhausted."""
    if attempts_made > len(schedule):
        return None
    step = schedule[attempts_made - 1]
    delay = step * (rng or random).uniform(1 - JITTER, 1 + JITTER)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return now + timedelta(seconds=delay)
