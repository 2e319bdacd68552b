"""Members of the team."""

from __future__ import annotations

import uuid

from fastapi import Query, Response, status

from app.deps import ClockDep, IfMatchDep, PageDep, ReadAuth, SessionDep, WriteAuth
from app.models.platform.common import Page
from app.models.platform.member import MemberCreate, MemberRead, MemberUpdate
from app.problems import CONFLICT, NOT_FOUND, PRECONDITION
from app.routers.platform.common import api_router, page_of, set_etag
from app.services.platform import members

router = api_router("members")


@router.get("/members", operation_id="listMembers", summary="List members")
async def list_members(
    auth: ReadAuth,
    session: SessionDep,
    page: PageDep,
    active: bool | None = Query(default=None, description="Only active or only inactive."),
) -> Page[MemberRead]:
    items, cursor = await members.list_members(session, auth.workspace_id, page, active=active)
    return page_of(items, cursor, MemberRead.model_validate)


@router.post(
    "/members",
    operation_id="createMember",
    summary="Add a member",
    status_code=status.HTTP_201_CREATED,
    responses=CONFLICT,
)
async def create_member(
    body: MemberCreate, auth: WriteAuth, session: SessionDep, clock: ClockDep, response: Response
) -> MemberRead:
    member = await members.create_member(session, auth.workspace_id, body, at=clock.now())
    set_etag(response, member.version)
    response.headers["Location"] = f"/v1/members/{member.id}"
    return MemberRead.model_validate(member)


@router.get(
    "/members/{member_id}", operation_id="getMember", summary="Get a member", responses=NOT_FOUND
)
async def get_member(
    member_id: uuid.UUID, auth: ReadAuth, session: SessionDep, response: Response
) -> MemberRead:
    member = await members.get_member(session, auth.workspace_id, member_id)
    set_etag(response, member.version)
    return MemberRead.model_validate(member)


@router.patch(
    "/members/{member_id}",
    operation_id="updateMember",
    summary="Change a member",
    responses={**NOT_FOUND, **CONFLICT, **PRECONDITION},
)
async def update_member(
    member_id: uuid.UUID,
    body: MemberUpdate,
    auth: WriteAuth,
    session: SessionDep,
    clock: ClockDep,
    expected: IfMatchDep,
    response: Response,
) -> MemberRead:
    member = await members.update_member(
        session, auth.workspace_id, member_id, body, expected_version=expected, at=clock.now()
    )
    set_etag(response, member.version)
    return MemberRead.model_validate(member)


@router.delete(
    "/members/{member_id}",
    operation_id="deleteMember",
    summary="Remove a member",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=NOT_FOUND,
)
async def delete_member(member_id: uuid.UUID, auth: WriteAuth, session: SessionDep) -> Response:
    """Remove a member; what was assigned to them becomes unassigned."""
    await members.delete_member(session, auth.workspace_id, member_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
