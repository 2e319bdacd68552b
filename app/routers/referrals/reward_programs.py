"""Reward programs: the rules that turn referral milestones into rewards."""

from __future__ import annotations

import uuid

from fastapi import Response, status

from app.deps import ClockDep, IfMatchDep, PageDep, ReadAuth, SessionDep, WriteAuth
from app.models.platform import Page
from app.models.referrals.rewards import RewardProgramCreate, RewardProgramRead, RewardProgramUpdate
from app.problems import CONFLICT, NOT_FOUND, PRECONDITION
from app.routers.platform import CREATED_AT, api_router, page_of, set_etag
from app.services.referrals.rewards import programs as reward_programs

router = api_router("rewards")


@router.post(
    "/reward-programs",
    operation_id="createRewardProgram",
    summary="Create a reward program",
    status_code=status.HTTP_201_CREATED,
    responses=CREATED_AT,
)
async def create_reward_program(
    body: RewardProgramCreate,
    auth: WriteAuth,
    session: SessionDep,
    clock: ClockDep,
    response: Response,
) -> RewardProgramRead:
    """Create a program; `is_default: true` makes it the default (the previous one yields)."""
    program = await reward_programs.create_program(session, auth.workspace_id, body, at=clock.now())
    set_etag(response, program.version)
    response.headers["Location"] = f"/v1/reward-programs/{program.id}"
    return RewardProgramRead.model_validate(program)


@router.get("/reward-programs", operation_id="listRewardPrograms", summary="List reward programs")
async def list_reward_programs(
    auth: ReadAuth, session: SessionDep, page: PageDep
) -> Page[RewardProgramRead]:
    items, cursor = await reward_programs.list_programs(session, auth.workspace_id, page)
    return page_of(items, cursor, RewardProgramRead.model_validate)


@router.get(
    "/reward-programs/{program_id}",
    operation_id="getRewardProgram",
    summary="Get a reward program",
    responses=NOT_FOUND,
)
async def get_reward_program(
    program_id: uuid.UUID, auth: ReadAuth, session: SessionDep, response: Response
) -> RewardProgramRead:
    program = await reward_programs.get_program(session, auth.workspace_id, program_id)
    set_etag(response, program.version)
    return RewardProgramRead.model_validate(program)


@router.patch(
    "/reward-programs/{program_id}",
    operation_id="updateRewardProgram",
    summary="Change a reward program",
    responses={**NOT_FOUND, **PRECONDITION},
)
async def update_reward_program(
    program_id: uuid.UUID,
    body: RewardProgramUpdate,
    auth: WriteAuth,
    session: SessionDep,
    clock: ClockDep,
    expected: IfMatchDep,
    response: Response,
) -> RewardProgramRead:
    """New rules apply to milestones reached from now on. Append rules rather than reorder
    them: a rule is identified by its position."""
    program = await reward_programs.update_program(
        session, auth.workspace_id, program_id, body, expected_version=expected, at=clock.now()
    )
    set_etag(response, program.version)
    return RewardProgramRead.model_validate(program)


@router.delete(
    "/reward-programs/{program_id}",
    operation_id="deleteRewardProgram",
    summary="Delete a reward program",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**NOT_FOUND, **CONFLICT},
)
async def delete_reward_program(
    program_id: uuid.UUID, auth: WriteAuth, session: SessionDep
) -> Response:
    """Only a program that never produced a reward nor serves an experiment arm."""
    await reward_programs.delete_program(session, auth.workspace_id, program_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
