"""Enrolments: contacts on touch plans, one at a time or a whole segment in one call."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import Query, Response, status

from app.deps import ClockDep, IfMatchDep, PageDep, ReadAuth, SessionDep, WriteAuth
from app.models.platform import Page
from app.models.touches.schemas import (
    EnrollmentBulkCreate,
    EnrollmentBulkResult,
    EnrollmentCreate,
    EnrollmentRead,
    EnrollmentStatus,
)
from app.problems import CONFLICT, NOT_FOUND, PRECONDITION
from app.routers.platform import CREATED_AT, api_router, page_of, set_etag
from app.services.touches import enrollments

router = api_router("enrollments")


@router.get("/enrollments", operation_id="listEnrollments", summary="List enrolments")
async def list_enrollments(
    auth: ReadAuth,
    session: SessionDep,
    page: PageDep,
    plan_id: uuid.UUID | None = None,
    contact_id: uuid.UUID | None = None,
    status: EnrollmentStatus | None = Query(default=None),
) -> Page[EnrollmentRead]:
    items, cursor = await enrollments.list_enrollments(
        session, auth.workspace_id, page, plan_id=plan_id, contact_id=contact_id, status=status
    )
    return page_of(items, cursor, EnrollmentRead.model_validate)


@router.post(
    "/enrollments",
    operation_id="createEnrollment",
    summary="Enrol a contact in a plan",
    status_code=status.HTTP_201_CREATED,
    responses={**NOT_FOUND, **CONFLICT, **CREATED_AT},
)
async def create_enrollment(
    body: EnrollmentCreate,
    auth: WriteAuth,
    session: SessionDep,
    clock: ClockDep,
    response: Response,
) -> EnrollmentRead:
    """Enrol a contact. With a past start date the dates already gone are skipped
    (`before_start`), or, with `catch_up`, those still fresh go out. A plan whose templates
    name the member needs the contact's owner or the workspace's default sender (422)."""
    now = clock.now()
    row = await enrollments.enroll_contact(
        session,
        auth.workspace_id,
        plan_id=body.plan_id,
        contact_id=body.contact_id,
        start=body.start_date or now.date(),
        catch_up=body.catch_up,
        at=now,
    )
    set_etag(response, row.version)
    response.headers["Location"] = f"/v1/enrollments/{row.id}"
    return EnrollmentRead.model_validate(row)


@router.post(
    "/enrollments/bulk",
    operation_id="createEnrollments",
    summary="Enrol many contacts in a plan",
    responses={**NOT_FOUND, **CONFLICT},
)
async def create_enrollments(
    body: EnrollmentBulkCreate, auth: WriteAuth, session: SessionDep, clock: ClockDep
) -> EnrollmentBulkResult:
    """Enrol every contact in the segments, with the tags or listed, in one statement.

    Contacts already on the plan, do-not-contact contacts and (a plan whose templates
    name the member) contacts nobody signs for are skipped.
    """
    now = clock.now()
    enrolled, skipped = await enrollments.enroll_many(
        session,
        auth.workspace_id,
        plan_id=body.plan_id,
        segments=body.segments,
        tags=body.tags,
        contact_ids=body.contact_ids,
        start=body.start_date or now.date(),
        catch_up=body.catch_up,
        at=now,
    )
    return EnrollmentBulkResult(plan_id=body.plan_id, enrolled=enrolled, skipped=skipped)


@router.get(
    "/enrollments/{enrollment_id}",
    operation_id="getEnrollment",
    summary="Get an enrolment",
    responses=NOT_FOUND,
)
async def get_enrollment(
    enrollment_id: uuid.UUID, auth: ReadAuth, session: SessionDep, response: Response
) -> EnrollmentRead:
    row = await enrollments.get_enrollment(session, auth.workspace_id, enrollment_id)
    set_etag(response, row.version)
    return EnrollmentRead.model_validate(row)


async def _change(
    action: Literal["pause", "resume", "cancel"],
    enrollment_id: uuid.UUID,
    auth: WriteAuth,
    session: SessionDep,
    clock: ClockDep,
    expected: IfMatchDep,
    response: Response,
) -> EnrollmentRead:
    row = await enrollments.change_status(
        session, auth.workspace_id, enrollment_id, action, expected_version=expected, at=clock.now()
    )
    set_etag(response, row.version)
    return EnrollmentRead.model_validate(row)


CHANGE_ERRORS = {**NOT_FOUND, **CONFLICT, **PRECONDITION}


@router.post(
    "/enrollments/{enrollment_id}/pause",
    operation_id="pauseEnrollment",
    summary="Pause an enrolment",
    responses=CHANGE_ERRORS,
)
async def pause_enrollment(
    enrollment_id: uuid.UUID,
    auth: WriteAuth,
    session: SessionDep,
    clock: ClockDep,
    expected: IfMatchDep,
    response: Response,
) -> EnrollmentRead:
    """Pause: touches not yet due are dropped until the enrolment is resumed."""
    return await _change("pause", enrollment_id, auth, session, clock, expected, response)


@router.post(
    "/enrollments/{enrollment_id}/resume",
    operation_id="resumeEnrollment",
    summary="Resume an enrolment",
    responses=CHANGE_ERRORS,
)
async def resume_enrollment(
    enrollment_id: uuid.UUID,
    auth: WriteAuth,
    session: SessionDep,
    clock: ClockDep,
    expected: IfMatchDep,
    response: Response,
) -> EnrollmentRead:
    """Resume: touches are planned again from now; dates missed while paused are not sent.
    An enrolment paused because the contact became do-not-contact resumes only when the
    flag is cleared (409 until then)."""
    return await _change("resume", enrollment_id, auth, session, clock, expected, response)


@router.post(
    "/enrollments/{enrollment_id}/cancel",
    operation_id="cancelEnrollment",
    summary="Cancel an enrolment",
    responses=CHANGE_ERRORS,
)
async def cancel_enrollment(
    enrollment_id: uuid.UUID,
    auth: WriteAuth,
    session: SessionDep,
    clock: ClockDep,
    expected: IfMatchDep,
    response: Response,
) -> EnrollmentRead:
    """Cancel: touches not yet due are marked cancelled."""
    return await _change("cancel", enrollment_id, auth, session, clock, expected, response)
