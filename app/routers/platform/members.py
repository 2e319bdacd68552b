"""Members of the team, their roles, and the sessions an admin key mints for them."""

from __future__ import annotations

import uuid

from fastapi import Query, Request, Response, status
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from app.deps import AdminAuth, ClockDep, IfMatchDep, PageDep, ReadAuth, SessionDep, app_state
from app.errors import ValidationFailed
from app.models.platform.common import Page
from app.models.platform.member import MemberCreate, MemberRead, MemberUpdate, SessionCreated
from app.problems import CONFLICT, NOT_FOUND, PRECONDITION
from app.routers.platform.common import api_router, set_etag
from app.routers.platform.contract import CREATED_AT
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
    return Page[MemberRead](data=await members.reads(session, items), next_cursor=cursor)


@router.post(
    "/members",
    operation_id="createMember",
    summary="Add a member",
    status_code=status.HTTP_201_CREATED,
    responses={**CONFLICT, **CREATED_AT},
)
async def create_member(
    body: MemberCreate, auth: AdminAuth, session: SessionDep, clock: ClockDep, response: Response
) -> MemberRead:
    """Add a member with a role (admins only). Signing in creates none by default: the
    identity provider's people must be members first, unless the workspace says `create`."""
    member = await members.create_member(session, auth.workspace_id, body, at=clock.now())
    set_etag(response, member.version)
    response.headers["Location"] = f"/v1/members/{member.id}"
    return await members.read(session, member)


@router.get(
    "/members/{member_id}", operation_id="getMember", summary="Get a member", responses=NOT_FOUND
)
async def get_member(
    member_id: uuid.UUID, auth: ReadAuth, session: SessionDep, response: Response
) -> MemberRead:
    member = await members.get_member(session, auth.workspace_id, member_id)
    set_etag(response, member.version)
    return await members.read(session, member)


@router.patch(
    "/members/{member_id}",
    operation_id="updateMember",
    summary="Change a member",
    responses={**NOT_FOUND, **CONFLICT, **PRECONDITION},
)
async def update_member(
    member_id: uuid.UUID,
    body: MemberUpdate,
    request: Request,
    auth: AdminAuth,
    session: SessionDep,
    clock: ClockDep,
    expected: IfMatchDep,
    response: Response,
) -> MemberRead:
    """Change a member (admins only); a new role, deactivation or assistance applies to the
    member's credentials at once here and within 5 seconds on every replica."""
    member = await members.update_member(
        session, auth.workspace_id, member_id, body, expected_version=expected, at=clock.now()
    )
    _forget_after_commit(request, session, member_id)
    set_etag(response, member.version)
    return await members.read(session, member)


@router.delete(
    "/members/{member_id}",
    operation_id="deleteMember",
    summary="Remove a member",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=NOT_FOUND,
)
async def delete_member(
    member_id: uuid.UUID, request: Request, auth: AdminAuth, session: SessionDep
) -> Response:
    """Remove a member (admins only); what was assigned to them becomes unassigned, keys
    bound to them are deleted, and their tokens stop working."""
    await members.delete_member(session, auth.workspace_id, member_id)
    _forget_after_commit(request, session, member_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/members/{member_id}/sessions",
    operation_id="createMemberSession",
    summary="Sign a member in (built-in session)",
    status_code=status.HTTP_201_CREATED,
    responses=NOT_FOUND,
)
async def create_member_session(
    member_id: uuid.UUID, request: Request, auth: AdminAuth, session: SessionDep, clock: ClockDep
) -> SessionCreated:
    """Mint a short-lived member token (`RAPPORT_SESSION_MINUTES`, 60 by default) for a
    firm without an identity provider: your back end, holding an admin key, signs its user
    in and hands the token to the browser, which calls Rapport as that member."""
    member = await members.get_member(session, auth.workspace_id, member_id)
    if not member.active:
        raise ValidationFailed.on(["path", "member_id"], "the member is inactive")
    tokens = app_state(request).keys.sessions
    if tokens is None:
        raise ValidationFailed.on(["path", "member_id"], "member sessions are not enabled")
    token, expires_at = tokens.mint(auth.workspace_id, member_id, at=clock.now())
    return SessionCreated(member_id=member_id, token=token, expires_at=expires_at)


def _forget_after_commit(request: Request, session: AsyncSession, member_id: uuid.UUID) -> None:
    keys = app_state(request).keys
    event.listen(
        session.sync_session, "after_commit", lambda _: keys.forget_member(member_id), once=True
    )
