"""The follow-up job: a received referral nobody contacted in time is announced, once.

"Contact referrals promptly" (seed 003, 4.2). One statement claims the overdue referrals
and marks them: ``FOR UPDATE SKIP LOCKED`` lets several replicas run the job at the same
moment without waiting on or double-claiming each other's rows, and the mark
(``follow_up_notified_at``) is re-checked under the row lock, so each referral's
``referral.follow_up_overdue`` event is written exactly once, in the same transaction.
The mark is bookkeeping, not an edit: it does not bump the referral's version.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.clock import Clock
from app.config import Settings
from app.db import Database
from app.models.referrals.events import ReferralOverdueNotice
from app.models.referrals.tables import Referral
from app.services.platform import record_events
from app.services.referrals.notices import referral_payloads

BATCH = 500
MAX_BATCHES_PER_TICK = 20


async def emit_overdue_follow_ups(
    session: AsyncSession, at: datetime, *, batch: int = BATCH
) -> int:
    """Claim up to ``batch`` overdue referrals across workspaces; returns how many fired.

    The caller commits; a job runner calls again while the result equals ``batch``.
    """
    due = (
        select(col(Referral.workspace_id), col(Referral.id))
        .where(
            col(Referral.direction) == "received",
            col(Referral.stage) == "received",
            col(Referral.follow_up_notified_at).is_(None),
            col(Referral.follow_up_due_at) <= at,
        )
        .order_by(col(Referral.follow_up_due_at))
        .limit(batch)
        .with_for_update(skip_locked=True)
        .cte("due")
    )
    claim = (
        update(Referral)
        .where(col(Referral.workspace_id) == due.c.workspace_id, col(Referral.id) == due.c.id)
        .values(follow_up_notified_at=at)
        .returning(Referral)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    claimed = list((await session.execute(claim)).scalars())
    by_workspace: dict[uuid.UUID, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for referral, payload in zip(claimed, await referral_payloads(session, claimed), strict=True):
        late = round((at - referral.received_at).total_seconds() / 3600, 1)
        overdue = ReferralOverdueNotice.model_validate({**payload, "hours_since_received": late})
        data = overdue.model_dump(mode="json")
        by_workspace[referral.workspace_id].append(("referral.follow_up_overdue", data))
    for workspace_id, items in by_workspace.items():
        await record_events(session, workspace_id, items, at=at)
    return len(claimed)


async def follow_up_job(db: Database, clock: Clock, settings: Settings) -> int:
    """The scheduler's entry: a batch per transaction until caught up (bounded per tick)."""
    total = 0
    for _ in range(MAX_BATCHES_PER_TICK):
        async with db.transaction() as session:
            fired = await emit_overdue_follow_ups(session, clock.now())
        total += fired
        if fired < BATCH:
            break
    return total
