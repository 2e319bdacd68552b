"""The event feed: the polling alternative to webhooks."""

from __future__ import annotations

from fastapi import Query

from app.deps import PageDep, ReadAuth, SessionDep
from app.models.platform.common import Page
from app.models.platform.event import EventRead
from app.routers.platform.common import api_router
from app.services.platform import events, require_whole_team

router = api_router("events")


@router.get("/events", operation_id="listEvents", summary="Read the event feed")
async def list_events(
    auth: ReadAuth,
    session: SessionDep,
    page: PageDep,
    types: list[str] = Query(
        default=[],
        max_length=50,
        description="Only these event types (repeat the parameter or comma-separate).",
    ),
) -> Page[EventRead]:
    """Events in commit order. Follow `next_cursor` to poll: no event is ever skipped.

    An event becomes visible once every transaction that started before it has finished,
    so a page may briefly lag behind a long-running write; it never reorders.
    The last page still carries `next_cursor`: keep it, and when `data` comes back empty
    you are caught up; poll again later with that same cursor.
    The feed is the whole team's: 403 for a member who sees only their own contacts.
    """
    require_whole_team("the event feed")
    wanted = [t.strip() for item in types for t in item.split(",") if t.strip()]
    items, cursor = await events.list_events(session, auth.workspace_id, types=wanted, page=page)
    return Page[EventRead](data=items, next_cursor=cursor)
