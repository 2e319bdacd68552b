"""Experiments comparing reward programs (or touch plans) across randomly assigned cohorts."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Response, status
from pydantic import Field

from app.deps import ClockDep, IfMatchDep, PageDep, ReadAuth, SessionDep, WriteAuth
from app.models.platform import Page
from app.models.referrals.experiments import (
    ExperimentCreate,
    ExperimentRead,
    ExperimentResults,
    ExperimentStatus,
    ExperimentUpdate,
)
from app.models.referrals.plan_experiments import PlanExperimentResults
from app.problems import CONFLICT, NOT_FOUND, PRECONDITION
from app.routers.platform import CREATED_AT, api_router, set_etag
from app.services.platform import require_whole_team
from app.services.referrals.experiments import design as experiments
from app.services.referrals.experiments import results as experiment_results

router = api_router("experiments")


@router.post(
    "/experiments",
    operation_id="createExperiment",
    summary="Design an experiment",
    status_code=status.HTTP_201_CREATED,
    responses=CREATED_AT,
)
async def create_experiment(
    body: ExperimentCreate,
    auth: WriteAuth,
    session: SessionDep,
    clock: ClockDep,
    response: Response,
) -> ExperimentRead:
    """Design an experiment (a `draft`): its arms, each a reward program (or, `kind`
    `touch_plan`, a touch plan) with a weight, its period, its primary metric and the cohort
    assigned when it starts (optional for reward experiments)."""
    experiment = await experiments.create_experiment(
        session, auth.workspace_id, body, at=clock.now()
    )
    set_etag(response, experiment.version)
    response.headers["Location"] = f"/v1/experiments/{experiment.id}"
    return await experiments.read(session, experiment)


@router.get("/experiments", operation_id="listExperiments", summary="List experiments")
async def list_experiments(
    auth: ReadAuth, session: SessionDep, page: PageDep, status: ExperimentStatus | None = None
) -> Page[ExperimentRead]:
    items, cursor = await experiments.list_experiments(
        session, auth.workspace_id, page, status=status
    )
    return Page[ExperimentRead](
        data=[await experiments.read(session, e) for e in items], next_cursor=cursor
    )


@router.get(
    "/experiments/{experiment_id}",
    operation_id="getExperiment",
    summary="Get an experiment",
    responses=NOT_FOUND,
)
async def get_experiment(
    experiment_id: uuid.UUID, auth: ReadAuth, session: SessionDep, response: Response
) -> ExperimentRead:
    experiment = await experiments.get_experiment(session, auth.workspace_id, experiment_id)
    set_etag(response, experiment.version)
    return await experiments.read(session, experiment)


@router.patch(
    "/experiments/{experiment_id}",
    operation_id="updateExperiment",
    summary="Change an experiment",
    responses={**NOT_FOUND, **CONFLICT, **PRECONDITION},
)
async def update_experiment(
    experiment_id: uuid.UUID,
    body: ExperimentUpdate,
    auth: WriteAuth,
    session: SessionDep,
    clock: ClockDep,
    expected: IfMatchDep,
    response: Response,
) -> ExperimentRead:
    """A draft can change anything; a started experiment only its name and description."""
    experiment = await experiments.update_experiment(
        session, auth.workspace_id, experiment_id, body, expected_version=expected, at=clock.now()
    )
    set_etag(response, experiment.version)
    return await experiments.read(session, experiment)


@router.delete(
    "/experiments/{experiment_id}",
    operation_id="deleteExperiment",
    summary="Delete an experiment",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**NOT_FOUND, **CONFLICT},
)
async def delete_experiment(
    experiment_id: uuid.UUID, auth: WriteAuth, session: SessionDep
) -> Response:
    """Only a draft; a started experiment is stopped instead, so its results remain."""
    await experiments.delete_experiment(session, auth.workspace_id, experiment_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/experiments/{experiment_id}/start",
    operation_id="startExperiment",
    summary="Start an experiment",
    responses={**NOT_FOUND, **CONFLICT},
)
async def start_experiment(
    experiment_id: uuid.UUID,
    auth: WriteAuth,
    session: SessionDep,
    clock: ClockDep,
    response: Response,
) -> ExperimentRead:
    """`draft` → `running`: assigns the cohort now; other referrers are assigned at their
    first referral in the period. A touch plan experiment enrols each contact of the cohort
    in its arm's plan. Refused (409) while another running experiment of the same kind
    overlaps, or an arm's plan is inactive."""
    experiment = await experiments.start_experiment(
        session, auth.workspace_id, experiment_id, at=clock.now()
    )
    set_etag(response, experiment.version)
    return await experiments.read(session, experiment)


@router.post(
    "/experiments/{experiment_id}/stop",
    operation_id="stopExperiment",
    summary="Stop an experiment",
    responses={**NOT_FOUND, **CONFLICT},
)
async def stop_experiment(
    experiment_id: uuid.UUID,
    auth: WriteAuth,
    session: SessionDep,
    clock: ClockDep,
    response: Response,
) -> ExperimentRead:
    """`running` → `stopped`: new referrals get the default program again."""
    experiment = await experiments.stop_experiment(
        session, auth.workspace_id, experiment_id, at=clock.now()
    )
    set_etag(response, experiment.version)
    return await experiments.read(session, experiment)


@router.get(
    "/experiments/{experiment_id}/results",
    operation_id="getExperimentResults",
    summary="Get an experiment's results",
    responses=NOT_FOUND,
)
async def get_experiment_results(
    experiment_id: uuid.UUID, auth: ReadAuth, session: SessionDep
) -> Annotated[ExperimentResults | PlanExperimentResults, Field(discriminator="kind")]:
    """Reward experiments, per arm: referrers, referrals, referrals per referrer, conversion
    to closed, revenue, reward cost and ROI; then each arm against the first on the primary
    metric (rate ratio, confidence interval, p-value), or "insufficient data" below
    `min_sample` referrers. Touch plan experiments, per arm: contacts, enrolled, engaged,
    referrals, closed, referral value, touches delivered, touch cost and ROI; then each arm
    against the first on engagement, referrals and closed referrals per contact.
    A whole-team report: 403 for a member who sees only their own contacts."""
    require_whole_team("an experiment's results")
    return await experiment_results.results(session, auth.workspace_id, experiment_id)
