"""Engagement activities (events, subscriptions, online programs) and their participants."""

from __future__ import annotations

import uuid

from fastapi import Response, status

from app.deps import ClockDep, IfMatchDep, PageDep, ReadAuth, SessionDep, WriteAuth
from app.models.contacts.engagement import (
    ActivityCreate,
    ActivityKind,
    ActivityRead,
    ActivityUpdate,
    ParticipantRead,
    ParticipantsSet,
    ParticipantStatus,
)
from app.models.platform import Page
from app.problems import NOT_FOUND, PRECONDITION
from app.routers.platform import CREATED_AT, api_router, set_etag
from app.services.contacts import engagement

router = api_router("engagement")
PATH = "/engagement-activities/{activity_id}"


@router.get(
    "/engagement-activities",
    operation_id="listEngagementActivities",
    summary="List engagement activities",
)
async def list_activities(
    auth: ReadAuth, session: SessionDep, page: PageDep, kind: ActivityKind | None = None
) -> Page[ActivityRead]:
    """Most recent first."""
    items, cursor = await engagement.list_activities(session, auth.workspace_id, page, kind=kind)
    return Page[ActivityRead](
        data=[ActivityRead.model_validate(a) for a in items], next_cursor=cursor
    )


@router.post(
    "/engagement-activities",
    operation_id="createEngagementActivity",
    summary="Create an engagement activity",
    status_code=status.HTTP_201_CREATED,
    responses=CREATED_AT,
)
async def create_activity(
    body: ActivityCreate, auth: WriteAuth, session: SessionDep, clock: ClockDep, response: Response
) -> ActivityRead:
    activity = await engagement.create_activity(session, auth.workspace_id, body, at=clock.now())
    set_etag(response, activity.version)
    response.headers["Location"] = f"/v1/engagement-activities/{activity.id}"
    return ActivityRead.model_validate(activity)


@router.get(
    PATH,
    operation_id="getEngagementActivity",
    summary="Get an engagement activity",
    responses=NOT_FOUND,
)
async def get_activity(
    activity_id: uuid.UUID, auth: ReadAuth, session: SessionDep, response: Response
) -> ActivityRead:
    activity = await engagement.get_activity(session, auth.workspace_id, activity_id)
    set_etag(response, activity.version)
    return ActivityRead.model_validate(activity)


@router.patch(
    PATH,
    operation_id="updateEngagementActivity",
    summary="Change an engagement activity",
    responses={**NOT_FOUND, **PRECONDITION},
)
async def update_activity(
    activity_id: uuid.UUID,
    body: ActivityUpdate,
    auth: WriteAuth,
    session: SessionDep,
    clock: ClockDep,
    expected: IfMatchDep,
    response: Response,
) -> ActivityRead:
    activity = await engagement.update_activity(
        session, auth.workspace_id, activity_id, body, expected_version=expected, at=clock.now()
    )
    set_etag(response, activity.version)
    return ActivityRead.model_validate(activity)


@router.delete(
    PATH,
    operation_id="deleteEngagementActivity",
    summary="Delete an engagement activity",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=NOT_FOUND,
)
async def delete_activity(activity_id: uuid.UUID, auth: WriteAuth, session: SessionDep) -> Response:
    await engagement.delete_activity(session, auth.workspace_id, activity_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    f"{PATH}/participants",
    operation_id="listParticipants",
    summary="List an activity's participants",
    responses=NOT_FOUND,
)
async def list_participants(
    activity_id: uuid.UUID,
    auth: ReadAuth,
    session: SessionDep,
    page: PageDep,
    status: ParticipantStatus | None = None,
) -> Page[ParticipantRead]:
    items, cursor = await engagement.list_participants(
        session, auth.workspace_id, activity_id, page, status=status
    )
    return Page[ParticipantRead](data=items, next_cursor=cursor)


@router.post(
    f"{PATH}/participants",
    operation_id="setParticipants",
    summary="Record participants",
    responses=NOT_FOUND,
)
async def set_participants(
    activity_id: uuid.UUID,
    body: ParticipantsSet,
    auth: WriteAuth,
    session: SessionDep,
    clock: ClockDep,
) -> list[ParticipantRead]:
    """Set one status for up to 1,000 contacts; `attended` counts as engagement."""
    return await engagement.set_participants(
        session, auth.workspace_id, activity_id, body, at=clock.now()
    )


@router.delete(
    f"{PATH}/participants/{{contact_id}}",
    operation_id="removeParticipant",
    summary="Remove a participant",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=NOT_FOUND,
)
async def remove_participant(
    activity_id: uuid.UUID, contact_id: uuid.UUID, auth: WriteAuth, session: SessionDep
) -> Response:
    await engagement.remove_participant(session, auth.workspace_id, activity_id, contact_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
