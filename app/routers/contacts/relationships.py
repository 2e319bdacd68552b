"""Relationships between contacts, shown from whichever side is asked."""

from __future__ import annotations

import uuid

from fastapi import Response, status

from app.deps import ClockDep, PageDep, ReadAuth, SessionDep, WriteAuth
from app.models.contacts.relationships import RelationshipCreate, RelationshipRead
from app.models.platform import Page
from app.problems import CONFLICT, NOT_FOUND
from app.routers.platform import api_router
from app.services.contacts import relationships

router = api_router("relationships")


@router.get(
    "/contacts/{contact_id}/relationships",
    operation_id="listRelationships",
    summary="List a contact's relationships",
    responses=NOT_FOUND,
)
async def list_relationships(
    contact_id: uuid.UUID, auth: ReadAuth, session: SessionDep, page: PageDep
) -> Page[RelationshipRead]:
    """Every relationship the contact is part of, `type` read from this contact's side."""
    items, cursor = await relationships.list_relationships(
        session, auth.workspace_id, contact_id, page
    )
    return Page[RelationshipRead](data=items, next_cursor=cursor)


@router.post(
    "/contacts/{contact_id}/relationships",
    operation_id="createRelationship",
    summary="Relate two contacts",
    status_code=status.HTTP_201_CREATED,
    responses={**NOT_FOUND, **CONFLICT},
)
async def create_relationship(
    contact_id: uuid.UUID,
    body: RelationshipCreate,
    auth: WriteAuth,
    session: SessionDep,
    clock: ClockDep,
) -> RelationshipRead:
    """Record once; the other contact sees it too (spouse ↔ spouse, child ↔ parent)."""
    return await relationships.add_relationship(
        session, auth.workspace_id, contact_id, body, at=clock.now()
    )


@router.delete(
    "/contacts/{contact_id}/relationships/{relationship_id}",
    operation_id="deleteRelationship",
    summary="Remove a relationship",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=NOT_FOUND,
)
async def delete_relationship(
    contact_id: uuid.UUID, relationship_id: uuid.UUID, auth: WriteAuth, session: SessionDep
) -> Response:
    await relationships.delete_relationship(session, auth.workspace_id, contact_id, relationship_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
