"""The referral pipeline: which stage moves are legal, making one, and the history.

Stages only move forward: ``received → contacted → meeting → agreement → closed``, with
skips allowed (a referral can go from ``contacted`` straight to ``agreement`` when the
meeting was not logged), or to ``lost`` from any open stage. ``closed`` and ``lost`` are
final: reopening a deal is a new referral, so past rewards and reports never change
under anyone's feet. Reward rules for every stage passed fire in the same transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import Conflict, ValidationFailed
from app.models.referrals.events import ReferralStageNotice
from app.models.referrals.schemas import TransitionCreate
from app.models.referrals.tables import (
    OPEN_STAGES,
    PIPELINE,
    STAGES,
    Referral,
    ReferralStageHistory,
    Stage,
)
from app.services import platform
from app.services.platform import check_version, record_event, refuse_future
from app.services.referrals.notices import referral_payload
from app.services.referrals.records import get_referral
from app.services.referrals.rewards import rules


def allowed_targets(stage: str) -> list[Stage]:
    """Legal next stages: any later pipeline stage, or ``lost``; none from a final stage."""
    if stage not in OPEN_STAGES:
        return []
    later = PIPELINE[PIPELINE.index(stage) + 1 :]
    return [*later, "lost"]


def stages_reached(from_stage: str, to_stage: str) -> list[str]:
    """Stages a forward move passes through, ending with the target (for reward triggers)."""
    if to_stage == "lost":
        return []
    start = PIPELINE.index(from_stage) + 1
    return list(PIPELINE[start : PIPELINE.index(to_stage) + 1])


async def transition_referral(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    referral_id: uuid.UUID,
    move: TransitionCreate,
    *,
    expected_version: int | None,
    at: datetime,
) -> Referral:
    referral = await get_referral(session, workspace_id, referral_id, lock=True)
    check_version(referral.version, expected_version)
    allowed = allowed_targets(referral.stage)
    if move.to_stage not in allowed:
        raise Conflict(
            f"a referral in stage {referral.stage!r} cannot move to {move.to_stage!r}",
            extra={"stage": referral.stage, "allowed": allowed},
        )
    when = move.at or at
    refuse_future(when, at, ["body", "at"], "a stage change")
    if when < referral.stage_changed_at:
        raise ValidationFailed.on(
            ["body", "at"], "a stage change cannot predate the referral's previous stage change"
        )
    from_stage = referral.stage
    referral.stage = move.to_stage
    referral.stage_changed_at = when
    if move.to_stage == "lost":
        referral.lost_reason = move.lost_reason
    if move.actual_value is not None:
        referral.actual_value = move.actual_value
    referral.version += 1
    referral.updated_at = at
    session.add(
        ReferralStageHistory(
            workspace_id=workspace_id,
            referral_id=referral.id,
            from_stage=from_stage,
            to_stage=move.to_stage,
            at=when,
            note=move.note,
            member_id=move.member_id,
            actor=platform.current_actor().as_json(),
            created_at=at,
        )
    )
    await session.flush()
    cancelled: list[str] = []
    if move.to_stage == "lost":
        reason = f"referral lost: {move.lost_reason}"
        cancelled = [str(r.id) for r in await rules.cancel_open(session, referral, reason, at=at)]
    elif referral.direction == "received":
        await rules.apply_rules(session, referral, stages_reached(from_stage, move.to_stage), at=at)
    payload = await referral_payload(
        session,
        referral,
        ReferralStageNotice,
        from_stage=from_stage,
        to_stage=move.to_stage,
        note=move.note,
        cancelled_reward_ids=cancelled,
    )
    await record_event(session, workspace_id, "referral.stage_changed", payload, at=at)
    return referral


async def list_history(
    session: AsyncSession, workspace_id: uuid.UUID, referral_id: uuid.UUID
) -> list[ReferralStageHistory]:
    """The referral's story, oldest first.

    Moves only go forward, so a history has at most six entries and the target stages
    are strictly increasing: ordering by stage is exact even when two moves share a time.
    """
    await get_referral(session, workspace_id, referral_id)
    stmt = select(ReferralStageHistory).where(
        col(ReferralStageHistory.workspace_id) == workspace_id,
        col(ReferralStageHistory.referral_id) == referral_id,
    )
    entries = list((await session.execute(stmt)).scalars())
    return sorted(entries, key=lambda e: STAGES.index(e.to_stage))
