"""Relationship strength scores: per contact, ranked lists and movers, history, recompute."""

from __future__ import annotations

import uuid

from fastapi import Query

from app.deps import ClockDep, PageDep, ReadAuth, SessionDep, WriteAuth
from app.models.platform import AwareTime, Page
from app.models.scores.schemas import (
    ContactScoreRead,
    RecomputeResult,
    ScoreListItem,
    ScoreOrder,
    ScorePoint,
)
from app.problems import NOT_FOUND
from app.routers.platform import api_router, as_is, page_of
from app.services.scores import nightly as score_jobs
from app.services.scores import strength as scores

router = api_router("scores")


@router.get(
    "/contacts/{contact_id}/score",
    operation_id="getContactScore",
    summary="Get a contact's relationship score",
    responses=NOT_FOUND,
)
async def get_contact_score(
    contact_id: uuid.UUID, auth: ReadAuth, session: SessionDep, clock: ClockDep
) -> ContactScoreRead:
    """The contact's relationship strength (0-100) with its components, weights, targets
    and the activity counted. A contact not scored yet is scored for this answer."""
    return await scores.get_score(session, auth.workspace_id, contact_id, at=clock.now())


@router.get(
    "/contacts/{contact_id}/score/history",
    operation_id="listContactScoreHistory",
    summary="List a contact's score history",
    responses=NOT_FOUND,
)
async def list_contact_score_history(
    contact_id: uuid.UUID,
    auth: ReadAuth,
    session: SessionDep,
    page: PageDep,
    since: AwareTime | None = Query(default=None, description="Only points from then on."),
) -> Page[ScorePoint]:
    """Score points, oldest first: one when first scored, then whenever the score moved
    by half a point or more."""
    items, cursor = await scores.score_history(
        session, auth.workspace_id, contact_id, page, since=since
    )
    return page_of(items, cursor, as_is)


@router.get("/scores", operation_id="listScores", summary="List relationship scores")
async def list_scores(
    auth: ReadAuth,
    session: SessionDep,
    page: PageDep,
    order: ScoreOrder = Query(
        default="-score",
        description="`-score` strongest first, `score` weakest first, `change` biggest "
        "drops since the previous day first, `-change` biggest rises first.",
    ),
) -> Page[ScoreListItem]:
    """Stored scores of the workspace (as of the last recompute)."""
    items, cursor = await scores.list_scores(session, auth.workspace_id, page, order=order)
    return page_of(items, cursor, as_is)


@router.post("/scores/recompute", operation_id="recomputeScores", summary="Recompute scores now")
async def recompute_scores(
    auth: WriteAuth, session: SessionDep, clock: ClockDep
) -> RecomputeResult:
    """Run the nightly recompute now: mark lapses, apply suggested advocacy stages, score
    every contact. Set-based; returns what changed."""
    return await score_jobs.recompute_workspace(session, auth.workspace_id, at=clock.now())
