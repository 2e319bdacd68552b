"""Sharing a contact with members besides its owner (record visibility ``own``)."""

from __future__ import annotations

import uuid

from fastapi import Response, status

from app.deps import ClockDep, ReadAuth, SessionDep, WriteAuth
from app.models.contacts.shares import ContactShareRead
from app.problems import NOT_FOUND
from app.routers.platform import api_router
from app.services.contacts import shares

router = api_router("contacts")


@router.get(
    "/contacts/{contact_id}/shares",
    operation_id="listContactShares",
    summary="List whom a contact is shared with",
    responses=NOT_FOUND,
)
async def list_contact_shares(
    contact_id: uuid.UUID, auth: ReadAuth, session: SessionDep
) -> list[ContactShareRead]:
    return await shares.list_shares(session, auth.workspace_id, contact_id)


@router.put(
    "/contacts/{contact_id}/shares/{member_id}",
    operation_id="shareContact",
    summary="Share a contact with a member",
    responses=NOT_FOUND,
)
async def share_contact(
    contact_id: uuid.UUID,
    member_id: uuid.UUID,
    auth: WriteAuth,
    session: SessionDep,
    clock: ClockDep,
) -> ContactShareRead:
    """Under the workspace's `own` visibility the member then sees the contact and its
    records as its owner does. Sharing again changes nothing."""
    return await shares.share(session, auth.workspace_id, contact_id, member_id, at=clock.now())


@router.delete(
    "/contacts/{contact_id}/shares/{member_id}",
    operation_id="unshareContact",
    summary="Stop sharing a contact with a member",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=NOT_FOUND,
)
async def unshare_contact(
    contact_id: uuid.UUID, member_id: uuid.UUID, auth: WriteAuth, session: SessionDep
) -> Response:
    await shares.unshare(session, auth.workspace_id, contact_id, member_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
