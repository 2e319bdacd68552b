"""The touches' periodic work: plan ahead, emit what came due, settle what nobody reported.

Each job runs its service a transaction at a time (``in_batches``) until a batch does
less than its limit or the tick's budget runs out, so one tick never holds a long
transaction and a crash loses at most the batch in flight.
"""

from __future__ import annotations

from app.clock import Clock
from app.config import Settings
from app.db import Database
from app.metrics import TOUCHES_EMITTED
from app.services.platform import in_batches
from app.services.touches.emit import emit_due_touches
from app.services.touches.planning import top_up
from app.services.touches.settling import settle_unreported

EMIT_BATCH = 1000
TOP_UP_BATCH = 500
SETTLE_BATCH = 1000


async def top_up_touches(db: Database, clock: Clock, settings: Settings) -> int:
    """Plan touches ahead for enrolments whose 90-day horizon runs out."""
    return await in_batches(
        db,
        settings,
        lambda session: top_up(session, at=clock.now(), limit=TOP_UP_BATCH),
        TOP_UP_BATCH,
    )


async def emit_touches(db: Database, clock: Clock, settings: Settings) -> int:
    """Emit touches that came due, a batch per transaction, until none are left."""
    return await in_batches(
        db,
        settings,
        lambda session: emit_due_touches(session, at=clock.now(), limit=EMIT_BATCH),
        EMIT_BATCH,
        TOUCHES_EMITTED,
    )


async def settle_touches(db: Database, clock: Clock, settings: Settings) -> int:
    """Touches released but unreported past the workspace's grace become ``unconfirmed``."""
    return await in_batches(
        db,
        settings,
        lambda session: settle_unreported(session, at=clock.now(), limit=SETTLE_BATCH),
        SETTLE_BATCH,
    )
