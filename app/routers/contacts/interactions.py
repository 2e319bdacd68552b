"""The communication log: per contact, and across the workspace."""

from __future__ import annotations

import uuid

from fastapi import Query, status

from app.deps import ClockDep, PageDep, ReadAuth, SessionDep, WriteAuth
from app.models.contacts.log_schemas import (
    Direction,
    InteractionChannel,
    InteractionCreate,
    InteractionRead,
)
from app.models.platform import AwareTime, Page
from app.problems import NOT_FOUND
from app.routers.platform import api_router
from app.services.contacts import interactions
from app.services.contacts.people import require_contact

router = api_router("interactions")


@router.post(
    "/contacts/{contact_id}/interactions",
    operation_id="createInteraction",
    summary="Log an interaction",
    status_code=status.HTTP_201_CREATED,
    responses=NOT_FOUND,
)
async def create_interaction(
    contact_id: uuid.UUID,
    body: InteractionCreate,
    auth: WriteAuth,
    session: SessionDep,
    clock: ClockDep,
) -> InteractionRead:
    """Log a call, e-mail, meeting...; inbound and two-way entries count as engagement."""
    return await interactions.create_interaction(
        session, auth.workspace_id, contact_id, body, at=clock.now()
    )


@router.get(
    "/contacts/{contact_id}/interactions",
    operation_id="listContactInteractions",
    summary="List a contact's interactions",
    responses=NOT_FOUND,
)
async def list_contact_interactions(
    contact_id: uuid.UUID, auth: ReadAuth, session: SessionDep, page: PageDep
) -> Page[InteractionRead]:
    """Newest first."""
    await require_contact(session, auth.workspace_id, contact_id)
    items, cursor = await interactions.list_interactions(
        session, auth.workspace_id, page, contact_id=contact_id
    )
    return Page[InteractionRead](data=items, next_cursor=cursor)


@router.get("/interactions", operation_id="listInteractions", summary="List interactions")
async def list_interactions(
    auth: ReadAuth,
    session: SessionDep,
    page: PageDep,
    member_id: uuid.UUID | None = None,
    channel: InteractionChannel | None = None,
    direction: Direction | None = None,
    occurred_after: AwareTime | None = Query(default=None, description="Inclusive."),
    occurred_before: AwareTime | None = Query(default=None, description="Exclusive."),
) -> Page[InteractionRead]:
    """The whole workspace's log, newest first."""
    items, cursor = await interactions.list_interactions(
        session,
        auth.workspace_id,
        page,
        member_id=member_id,
        channel=channel,
        direction=direction,
        occurred_after=occurred_after,
        occurred_before=occurred_before,
    )
    return Page[InteractionRead](data=items, next_cursor=cursor)
