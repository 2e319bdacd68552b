"""The rewards ledger, its approval flow, and a referrer's own ledger."""

from __future__ import annotations

import uuid

from fastapi import Response

from app.deps import ClockDep, PageDep, ReadAuth, SessionDep, WriteAuth
from app.models.platform import Page
from app.models.referrals.rewards import RewardCancel, RewardLedger, RewardRead, RewardStatus
from app.problems import CONFLICT, NOT_FOUND
from app.routers.platform import api_router, page_of, set_etag
from app.services.referrals.rewards import ledger as rewards

router = api_router("rewards")


@router.get("/rewards", operation_id="listRewards", summary="List rewards")
async def list_rewards(
    auth: ReadAuth,
    session: SessionDep,
    page: PageDep,
    status: RewardStatus | None = None,
    referrer_id: uuid.UUID | None = None,
    referral_id: uuid.UUID | None = None,
    program_id: uuid.UUID | None = None,
) -> Page[RewardRead]:
    """Newest first."""
    filters = rewards.RewardFilters(
        status=status, referrer_id=referrer_id, referral_id=referral_id, program_id=program_id
    )
    items, cursor = await rewards.list_rewards(session, auth.workspace_id, page, filters)
    return page_of(items, cursor, RewardRead.model_validate)


@router.get(
    "/rewards/{reward_id}", operation_id="getReward", summary="Get a reward", responses=NOT_FOUND
)
async def get_reward(
    reward_id: uuid.UUID, auth: ReadAuth, session: SessionDep, response: Response
) -> RewardRead:
    reward = await rewards.get_reward(session, auth.workspace_id, reward_id)
    set_etag(response, reward.version)
    return RewardRead.model_validate(reward)


@router.post(
    "/rewards/{reward_id}/approve",
    operation_id="approveReward",
    summary="Approve a reward",
    responses={**NOT_FOUND, **CONFLICT},
)
async def approve_reward(
    reward_id: uuid.UUID, auth: WriteAuth, session: SessionDep, clock: ClockDep, response: Response
) -> RewardRead:
    """`pending` → `approved`."""
    reward = await rewards.approve_reward(session, auth.workspace_id, reward_id, at=clock.now())
    set_etag(response, reward.version)
    return RewardRead.model_validate(reward)


@router.post(
    "/rewards/{reward_id}/issue",
    operation_id="issueReward",
    summary="Mark a reward issued",
    responses={**NOT_FOUND, **CONFLICT},
)
async def issue_reward(
    reward_id: uuid.UUID, auth: WriteAuth, session: SessionDep, clock: ClockDep, response: Response
) -> RewardRead:
    """`approved` → `issued` once the hold is over (409 before `available_at`);
    emits `reward.issued`."""
    reward = await rewards.issue_reward(session, auth.workspace_id, reward_id, at=clock.now())
    set_etag(response, reward.version)
    return RewardRead.model_validate(reward)


@router.post(
    "/rewards/{reward_id}/cancel",
    operation_id="cancelReward",
    summary="Cancel a reward",
    responses={**NOT_FOUND, **CONFLICT},
)
async def cancel_reward(
    reward_id: uuid.UUID,
    auth: WriteAuth,
    session: SessionDep,
    clock: ClockDep,
    response: Response,
    body: RewardCancel | None = None,
) -> RewardRead:
    """`pending` or `approved` → `cancelled`; issued rewards are final."""
    reason = body.reason if body is not None else None
    reward = await rewards.cancel_reward(
        session, auth.workspace_id, reward_id, reason=reason, at=clock.now()
    )
    set_etag(response, reward.version)
    return RewardRead.model_validate(reward)


@router.get(
    "/contacts/{contact_id}/rewards",
    operation_id="getContactRewardLedger",
    summary="Show a referrer's reward ledger",
    responses=NOT_FOUND,
)
async def get_contact_reward_ledger(
    contact_id: uuid.UUID, auth: ReadAuth, session: SessionDep, page: PageDep
) -> RewardLedger:
    """The contact's rewards as a referrer, newest first, with totals per currency and status."""
    totals, items, cursor = await rewards.ledger(session, auth.workspace_id, contact_id, page)
    return RewardLedger(
        contact_id=contact_id,
        totals=totals,
        data=[RewardRead.model_validate(r) for r in items],
        next_cursor=cursor,
    )
