"""Touches: the upcoming view, members' tasks, ad-hoc touches and outcomes."""

from __future__ import annotations

import uuid

from fastapi import Query, Response, status

from app.deps import ClockDep, PageDep, ReadAuth, SessionDep, WriteAuth
from app.models.platform import AwareTime, Page
from app.models.touches.plan_schemas import TouchChannel
from app.models.touches.schemas import TouchCreate, TouchOutcomeIn, TouchRead, TouchStatus
from app.problems import CONFLICT, NOT_FOUND
from app.routers.platform import CREATED_AT, api_router, page_of, set_etag
from app.services.platform import require_visible_contacts
from app.services.touches import outreach as touches

router = api_router("touches")


@router.get("/touches", operation_id="listTouches", summary="List touches and tasks")
async def list_touches(
    auth: ReadAuth,
    session: SessionDep,
    page: PageDep,
    contact_id: uuid.UUID | None = None,
    assignee_id: uuid.UUID | None = Query(default=None, description="A member's touches."),
    plan_id: uuid.UUID | None = None,
    status: list[TouchStatus] = Query(default_factory=list, description="Any of these."),
    channel: list[TouchChannel] = Query(default_factory=list, description="Any of these."),
    due_after: AwareTime | None = Query(default=None, description="due_at >= this."),
    due_before: AwareTime | None = Query(default=None, description="due_at < this."),
) -> Page[TouchRead]:
    """Touches in due order. Every active enrolment has at least the next 90 days planned."""
    where = touches.TouchFilter(
        contact_id=contact_id,
        assignee_id=assignee_id,
        plan_id=plan_id,
        status=status,
        channel=channel,
        due_after=due_after,
        due_before=due_before,
    )
    items, cursor = await touches.list_touches(session, auth.workspace_id, page, where)
    return page_of(items, cursor, TouchRead.model_validate)


@router.post(
    "/touches",
    operation_id="createTouch",
    summary="Schedule a one-off touch",
    status_code=status.HTTP_201_CREATED,
    responses={**NOT_FOUND, **CREATED_AT},
)
async def create_touch(
    body: TouchCreate, auth: WriteAuth, session: SessionDep, clock: ClockDep, response: Response
) -> TouchRead:
    """Schedule an ad-hoc touch; it is released at ``due_at`` like a plan touch: an
    automated one inside the contact's send window (`touch.due`), a manual one as a task
    (`task.assigned` now, `task.due` then)."""
    await require_visible_contacts(session, auth.workspace_id, [body.contact_id])
    touch = await touches.create_touch(
        session,
        auth.workspace_id,
        contact_id=body.contact_id,
        channel=body.channel,
        mode=body.mode,
        content_kind=body.content_kind,
        subject=body.subject,
        body=body.body,
        referral_reminder=body.referral_reminder,
        due_at=body.due_at,
        assignee_id=body.assignee_id,
        valid_for_days=body.valid_for_days,
        at=clock.now(),
    )
    set_etag(response, touch.version)
    response.headers["Location"] = f"/v1/touches/{touch.id}"
    return TouchRead.model_validate(touch)


@router.get(
    "/touches/{touch_id}", operation_id="getTouch", summary="Get a touch", responses=NOT_FOUND
)
async def get_touch(
    touch_id: uuid.UUID, auth: ReadAuth, session: SessionDep, response: Response
) -> TouchRead:
    touch = await touches.get_touch(session, auth.workspace_id, touch_id)
    set_etag(response, touch.version)
    return TouchRead.model_validate(touch)


@router.post(
    "/touches/{touch_id}/outcome",
    operation_id="recordTouchOutcome",
    summary="Report a touch's outcome",
    responses={**NOT_FOUND, **CONFLICT},
)
async def record_touch_outcome(
    touch_id: uuid.UUID,
    body: TouchOutcomeIn,
    auth: WriteAuth,
    session: SessionDep,
    clock: ClockDep,
    response: Response,
) -> TouchRead:
    """Report what happened (sender or member). Completing a touch logs an interaction.

    Repeating a report is harmless: senders retry, the touch is answered as it is.
    """
    touch = await touches.record_outcome(
        session,
        auth.workspace_id,
        touch_id,
        outcome=body.outcome,
        provider_message_id=body.provider_message_id,
        note=body.note,
        at=clock.now(),
    )
    set_etag(response, touch.version)
    return TouchRead.model_validate(touch)
