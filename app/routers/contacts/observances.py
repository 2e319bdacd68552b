"""Observances of a contact: birthdays, anniversaries and other yearly dates."""

from __future__ import annotations

import uuid

from fastapi import Response, status

from app.deps import ClockDep, PageDep, ReadAuth, SessionDep, WriteAuth
from app.models.contacts.log_schemas import ObservanceCreate, ObservanceRead
from app.models.platform import Page
from app.problems import NOT_FOUND
from app.routers.platform import api_router
from app.services.contacts import observances

router = api_router("observances")


@router.get(
    "/contacts/{contact_id}/observances",
    operation_id="listObservances",
    summary="List a contact's observances",
    responses=NOT_FOUND,
)
async def list_observances(
    contact_id: uuid.UUID, auth: ReadAuth, session: SessionDep, page: PageDep, clock: ClockDep
) -> Page[ObservanceRead]:
    """In calendar order, each with the date it next falls on."""
    items, cursor = await observances.list_observances(
        session, auth.workspace_id, contact_id, page, today=clock.now().date()
    )
    return Page[ObservanceRead](data=items, next_cursor=cursor)


@router.post(
    "/contacts/{contact_id}/observances",
    operation_id="createObservance",
    summary="Add an observance",
    status_code=status.HTTP_201_CREATED,
    responses=NOT_FOUND,
)
async def create_observance(
    contact_id: uuid.UUID,
    body: ObservanceCreate,
    auth: WriteAuth,
    session: SessionDep,
    clock: ClockDep,
) -> ObservanceRead:
    """A yearly date; 29 February is kept and falls on 28 February in common years."""
    return await observances.add_observance(
        session, auth.workspace_id, contact_id, body, at=clock.now()
    )


@router.delete(
    "/contacts/{contact_id}/observances/{observance_id}",
    operation_id="deleteObservance",
    summary="Remove an observance",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=NOT_FOUND,
)
async def delete_observance(
    contact_id: uuid.UUID, observance_id: uuid.UUID, auth: WriteAuth, session: SessionDep
) -> Response:
    await observances.delete_observance(session, auth.workspace_id, contact_id, observance_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
