"""Referrals received and given, their stage moves and their history."""

from __future__ import annotations

import uuid

from fastapi import Query, Response, status

from app.deps import AdminAuth, ClockDep, IfMatchDep, PageDep, ReadAuth, SessionDep, WriteAuth
from app.models.platform import AwareTime, Page
from app.models.referrals.schemas import (
    ReciprocityRead,
    ReferralCreate,
    ReferralCreated,
    ReferralRead,
    ReferralStageChangeRead,
    ReferralUpdate,
    TransitionCreate,
)
from app.models.referrals.tables import Direction, Stage
from app.problems import CONFLICT, NOT_FOUND, PRECONDITION
from app.routers.platform import CREATED_AT, api_router, page_of, set_etag
from app.services.referrals import reciprocity
from app.services.referrals import records as referrals
from app.services.referrals import stages as referral_stages

router = api_router("referrals")


@router.post(
    "/referrals",
    operation_id="createReferral",
    summary="Record a referral",
    status_code=status.HTTP_201_CREATED,
    responses={**CONFLICT, **CREATED_AT},
)
async def create_referral(
    body: ReferralCreate,
    auth: WriteAuth,
    session: SessionDep,
    clock: ClockDep,
    response: Response,
    strict: bool = Query(
        default=False,
        description="Refuse (409) a possible duplicate instead of accepting it with a warning.",
    ),
) -> ReferralCreated:
    """Record a referral. A received one also fires `received` reward rules and schedules a
    thank-you touch to the referrer for the next business day."""
    created = await referrals.create_referral(
        session, auth.workspace_id, body, strict=strict, at=clock.now()
    )
    set_etag(response, created.referral.version)
    response.headers["Location"] = f"/v1/referrals/{created.referral.id}"
    read = ReferralRead.model_validate(created.referral)
    return ReferralCreated(**read.model_dump(), warnings=created.warnings)


@router.get("/referrals", operation_id="listReferrals", summary="List referrals")
async def list_referrals(
    auth: ReadAuth,
    session: SessionDep,
    page: PageDep,
    direction: Direction | None = None,
    stage: Stage | None = None,
    source_contact_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
    received_after: AwareTime | None = Query(default=None, description="Inclusive."),
    received_before: AwareTime | None = Query(default=None, description="Exclusive."),
) -> Page[ReferralRead]:
    """Newest first by received time."""
    filters = referrals.ReferralFilters(
        direction=direction,
        stage=stage,
        source_contact_id=source_contact_id,
        owner_id=owner_id,
        received_after=received_after,
        received_before=received_before,
    )
    items, cursor = await referrals.list_referrals(session, auth.workspace_id, page, filters)
    return page_of(items, cursor, ReferralRead.model_validate)


@router.get(
    "/referrals/{referral_id}",
    operation_id="getReferral",
    summary="Get a referral",
    responses=NOT_FOUND,
)
async def get_referral(
    referral_id: uuid.UUID, auth: ReadAuth, session: SessionDep, response: Response
) -> ReferralRead:
    referral = await referrals.get_referral(session, auth.workspace_id, referral_id)
    set_etag(response, referral.version)
    return ReferralRead.model_validate(referral)


@router.patch(
    "/referrals/{referral_id}",
    operation_id="updateReferral",
    summary="Correct a referral",
    responses={**NOT_FOUND, **PRECONDITION},
)
async def update_referral(
    referral_id: uuid.UUID,
    body: ReferralUpdate,
    auth: WriteAuth,
    session: SessionDep,
    clock: ClockDep,
    expected: IfMatchDep,
    response: Response,
) -> ReferralRead:
    """Correct descriptive fields, or when the referral came in (`received_at`: its
    follow-up time and first history entry move with it); the stage moves only through
    transitions. A referral recorded by mistake is deleted instead (admin)."""
    referral = await referrals.update_referral(
        session, auth.workspace_id, referral_id, body, expected_version=expected, at=clock.now()
    )
    set_etag(response, referral.version)
    return ReferralRead.model_validate(referral)


@router.delete(
    "/referrals/{referral_id}",
    operation_id="deleteReferral",
    summary="Delete a referral recorded by mistake",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**NOT_FOUND, **CONFLICT},
)
async def delete_referral(
    referral_id: uuid.UUID, auth: AdminAuth, session: SessionDep, clock: ClockDep
) -> Response:
    """Delete the referral with its stage history and rewards, and cancel the thank-you
    touch not yet sent to the referrer; `referral.deleted` is recorded. A referral whose
    reward was issued cannot be deleted (409, naming the rewards)."""
    await referrals.delete_referral(session, auth.workspace_id, referral_id, at=clock.now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/referrals/{referral_id}/transitions",
    operation_id="transitionReferral",
    summary="Move a referral to another stage",
    responses={**NOT_FOUND, **CONFLICT, **PRECONDITION},
)
async def transition_referral(
    referral_id: uuid.UUID,
    body: TransitionCreate,
    auth: WriteAuth,
    session: SessionDep,
    clock: ClockDep,
    expected: IfMatchDep,
    response: Response,
) -> ReferralRead:
    """Move the referral forward (skips allowed) or to `lost`. An illegal move answers 409
    with `allowed` listing the legal targets. Reward rules for the stages reached fire in
    the same transaction; losing a referral cancels its rewards not yet issued."""
    referral = await referral_stages.transition_referral(
        session, auth.workspace_id, referral_id, body, expected_version=expected, at=clock.now()
    )
    set_etag(response, referral.version)
    return ReferralRead.model_validate(referral)


@router.get(
    "/referrals/{referral_id}/history",
    operation_id="listReferralHistory",
    summary="List a referral's stage history",
    responses=NOT_FOUND,
)
async def list_referral_history(
    referral_id: uuid.UUID, auth: ReadAuth, session: SessionDep
) -> Page[ReferralStageChangeRead]:
    """Every stage the referral went through, oldest first (never more than one page)."""
    entries = await referral_stages.list_history(session, auth.workspace_id, referral_id)
    return page_of(entries, None, ReferralStageChangeRead.model_validate)


@router.get(
    "/contacts/{contact_id}/reciprocity",
    operation_id="getContactReciprocity",
    summary="Show reciprocity with a contact",
    responses=NOT_FOUND,
)
async def get_contact_reciprocity(
    contact_id: uuid.UUID, auth: ReadAuth, session: SessionDep
) -> ReciprocityRead:
    """Referrals (counts and values by stage and currency) received from this contact and
    given to them, and the balance between the two."""
    return await reciprocity.reciprocity(session, auth.workspace_id, contact_id)
