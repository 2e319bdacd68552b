"""A member's read-only iCalendar feed, and issuing its token."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Response, Security, status
from fastapi.security import APIKeyQuery

from app.deps import ClockDep, ReadWriteAuth, SessionDep
from app.errors import Forbidden
from app.models.touches.schemas import CalendarTokenRead
from app.problems import NOT_FOUND
from app.routers.platform import api_router
from app.services.touches import calendar as calendar_feed

router = api_router("calendar")
feed_token = APIKeyQuery(
    name="token",
    scheme_name="CalendarFeedToken",
    description="A member's read-only feed token (`rcal_…`), from "
    "`POST /v1/members/{id}/calendar-token`.",
    auto_error=False,
)


@router.post(
    "/members/{member_id}/calendar-token",
    operation_id="issueCalendarToken",
    summary="Issue a calendar feed token",
    status_code=status.HTTP_201_CREATED,
    responses=NOT_FOUND,
)
async def issue_calendar_token(
    member_id: uuid.UUID, auth: ReadWriteAuth, session: SessionDep, clock: ClockDep
) -> CalendarTokenRead:
    """Issue (or re-issue, revoking the old one) the member's calendar feed token. The
    token reads the member's touches, so it takes the `read` scope as well as `write`; a
    member other than an admin or a leader issues only their own (an assistant, also its
    agents' under `own` visibility): issuing revokes the previous token."""
    if not auth.may_act_for(member_id):
        raise Forbidden("you may issue only your own calendar feed token")
    token = await calendar_feed.issue_token(session, auth.workspace_id, member_id, at=clock.now())
    return CalendarTokenRead(
        member_id=member_id, token=token, url=f"/v1/calendar.ics?token={token}"
    )


@router.get(
    "/calendar.ics",
    operation_id="getCalendarFeed",
    summary="Read a member's calendar feed",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}, "description": "iCalendar feed."}},
)
async def calendar_ics(
    token: Annotated[str | None, Security(feed_token)],
    session: SessionDep,
    clock: ClockDep,
) -> Response:
    """The member's touches (last week's open tasks, the next 90 days) and their
    contacts' birthdays and anniversaries for the coming year. No API key: the token
    in the URL is the credential, because calendar apps cannot send headers."""
    body = await calendar_feed.feed(session, token or "", at=clock.now())
    return Response(
        content=body,
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, max-age=300"},
    )
