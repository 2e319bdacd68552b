"""Correcting a referral recorded by mistake: its received time, or the whole referral.

A referral's received time anchors its story: the first entry of its stage history, the
stage time while it is still ``received``, its follow-up due time. Correcting it moves
those with it, and it may not move past the referral's first stage change (the story
would then start after its own next step) nor into the future.

Deleting a referral (an admin's call) takes its stage history and its rewards with it,
and cancels the thank-you touch still waiting to go to the referrer; the rest of the
world hears ``referral.deleted``. A referral whose reward was already issued is kept:
the money went out, and the ledger must say why.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import Conflict, ValidationFailed
from app.models.referrals.events import ReferralDeletedData
from app.models.referrals.rewards import Reward
from app.models.referrals.tables import Referral, ReferralStageHistory
from app.services import touches
from app.services.platform import get_workspace, record_event, refuse_future

_History = ReferralStageHistory
_CANCEL_THANK_YOU = text(
    """
    UPDATE touches
       SET status = 'cancelled', reason = 'referral deleted', finished_at = :at,
           updated_at = :at
     WHERE workspace_id = :ws AND occurrence_key = :key AND content_kind = 'thank_you'
       AND enrollment_id IS NULL AND status = 'scheduled'
    """
)


async def correct_received_at(
    session: AsyncSession, referral: Referral, received_at: datetime, *, at: datetime
) -> None:
    """Move the referral's received time, and what follows from it, to ``received_at``."""
    refuse_future(received_at, at, ["body", "received_at"], "a referral's received_at")
    ws = referral.workspace_id
    first_move = await session.scalar(
        select(func.min(col(_History.at))).where(
            col(_History.workspace_id) == ws,
            col(_History.referral_id) == referral.id,
            col(_History.from_stage).is_not(None),
        )
    )
    if first_move is not None and received_at > first_move:
        raise ValidationFailed.on(
            ["body", "received_at"],
            f"the referral moved on at {first_move.isoformat()}; it cannot be received after",
        )
    referral.received_at = received_at
    if referral.stage == "received":
        referral.stage_changed_at = received_at
    if referral.direction == "received" and referral.follow_up_notified_at is None:
        workspace = await get_workspace(session, ws)
        referral.follow_up_due_at = received_at + timedelta(
            hours=workspace.referral_follow_up_hours
        )
    start = await session.execute(
        select(_History).where(
            col(_History.workspace_id) == ws,
            col(_History.referral_id) == referral.id,
            col(_History.from_stage).is_(None),
        )
    )
    for entry in start.scalars():
        entry.at = received_at


async def delete_referral(session: AsyncSession, referral: Referral, *, at: datetime) -> None:
    """Delete the referral (locked by the caller), its history and rewards, and cancel its
    thank-you touch not yet sent; 409 when one of its rewards was issued."""
    ws = referral.workspace_id
    issued = list(
        await session.scalars(
            select(col(Reward.id)).where(
                col(Reward.workspace_id) == ws,
                col(Reward.referral_id) == referral.id,
                col(Reward.status) == "issued",
            )
        )
    )
    if issued:
        raise Conflict(
            "a reward of this referral was issued; a referral whose reward went out is kept",
            extra={"issued_reward_ids": [str(i) for i in issued]},
        )
    params = {"ws": ws, "key": touches.thank_you_key(referral.id), "at": at}
    await session.execute(_CANCEL_THANK_YOU, params)
    await session.execute(
        delete(Referral).where(col(Referral.workspace_id) == ws, col(Referral.id) == referral.id)
    )
    data = ReferralDeletedData(id=referral.id).model_dump(mode="json")
    await record_event(session, ws, "referral.deleted", data, at=at)
