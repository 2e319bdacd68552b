"""Members of the team: their role, whether they are active, and whom an assistant acts for.

A member's role is an access rule (``app.services.platform.principals``): admins manage
the workspace, leaders see the whole team, agents what the workspace's visibility allows,
assistants what the agents they assist see. Changes to role, activity or assistance reach
the credential cache through the router (``forget_member`` after the commit).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import Conflict, NotFound, ValidationFailed
from app.models.platform.member import (
    Member,
    MemberAssist,
    MemberCreate,
    MemberRead,
    MemberUpdate,
)
from app.models.platform.workspace import Workspace
from app.services.platform.pagination import PageRequest, keyset_page
from app.services.platform.versioning import check_version

#: Fields a ``PATCH`` may set to null (the others ignore a null).
NULLABLE = frozenset({"time_zone"})


async def _email_taken(
    session: AsyncSession, workspace_id: uuid.UUID, email: str, but: uuid.UUID | None = None
) -> bool:
    stmt = select(col(Member.id)).where(
        col(Member.workspace_id) == workspace_id, func.lower(col(Member.email)) == email.lower()
    )
    if but is not None:
        stmt = stmt.where(col(Member.id) != but)
    return (await session.execute(stmt)).first() is not None


async def create_member(
    session: AsyncSession, workspace_id: uuid.UUID, data: MemberCreate, *, at: datetime
) -> Member:
    if await _email_taken(session, workspace_id, data.email):
        raise Conflict(f"a member with email {data.email} already exists")
    values = data.model_dump(exclude={"assists"})
    member = Member(workspace_id=workspace_id, created_at=at, updated_at=at, **values)
    session.add(member)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent create won the race for the email
        raise Conflict(f"a member with email {data.email} already exists") from exc
    await _set_assists(session, member, data.assists)
    return member


async def _set_assists(
    session: AsyncSession, member: Member, agent_ids: Sequence[uuid.UUID]
) -> None:
    """Replace whom ``member`` acts for: only an assistant acts for others, and only for
    other members of its workspace."""
    wanted = list(dict.fromkeys(agent_ids))
    if wanted and member.role != "assistant":
        raise ValidationFailed.on(["body", "assists"], "only an assistant acts for other members")
    if member.id in wanted:
        raise ValidationFailed.on(["body", "assists"], "a member cannot assist itself")
    if wanted:
        known = select(col(Member.id)).where(
            col(Member.workspace_id) == member.workspace_id, col(Member.id).in_(wanted)
        )
        found = set((await session.execute(known)).scalars())
        missing = [str(i) for i in wanted if i not in found]
        if missing:
            raise ValidationFailed.on(["body", "assists"], f"no such members: {', '.join(missing)}")
    ws, me = member.workspace_id, member.id
    await session.execute(
        delete(MemberAssist).where(
            col(MemberAssist.workspace_id) == ws, col(MemberAssist.assistant_id) == me
        )
    )
    if wanted:
        rows = [{"workspace_id": ws, "assistant_id": me, "agent_id": a} for a in wanted]
        await session.execute(insert(MemberAssist).values(rows))


async def reads(session: AsyncSession, members: Sequence[Member]) -> list[MemberRead]:
    """The members as the API shows them, with whom each assistant acts for (one query)."""
    if not members:
        return []
    ids = [m.id for m in members]
    stmt = (
        select(col(MemberAssist.assistant_id), col(MemberAssist.agent_id))
        .where(
            col(MemberAssist.workspace_id) == members[0].workspace_id,
            col(MemberAssist.assistant_id).in_(ids),
        )
        .order_by(col(MemberAssist.assistant_id), col(MemberAssist.agent_id))
    )
    assists: dict[uuid.UUID, list[uuid.UUID]] = {}
    for assistant, agent in (await session.execute(stmt)).all():
        assists.setdefault(assistant, []).append(agent)
    return [
        MemberRead.model_validate({**m.model_dump(), "assists": assists.get(m.id, [])})
        for m in members
    ]


async def read(session: AsyncSession, member: Member) -> MemberRead:
    (shown,) = await reads(session, [member])
    return shown


async def get_member(
    session: AsyncSession, workspace_id: uuid.UUID, member_id: uuid.UUID, *, lock: bool = False
) -> Member:
    stmt = select(Member).where(
        col(Member.workspace_id) == workspace_id, col(Member.id) == member_id
    )
    if lock:
        stmt = stmt.with_for_update()
    member = (await session.execute(stmt)).scalar_one_or_none()
    if member is None:
        raise NotFound("member not found")
    return member


async def list_members(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    page: PageRequest,
    *,
    active: bool | None = None,
) -> tuple[list[Member], str | None]:
    stmt = select(Member).where(col(Member.workspace_id) == workspace_id)
    if active is not None:
        stmt = stmt.where(col(Member.active) == active)
    rows, cursor = await keyset_page(
        session,
        stmt,
        keys=[col(Member.created_at), col(Member.id)],
        page=page,
        sort="members",
    )
    return [r[0] for r in rows], cursor


async def update_member(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    member_id: uuid.UUID,
    changes: MemberUpdate,
    *,
    expected_version: int | None,
    at: datetime,
) -> Member:
    member = await get_member(session, workspace_id, member_id, lock=True)
    check_version(member.version, expected_version)
    # A null leaves a field as it is, except the zone: null goes back to the workspace's.
    values = {
        k: v
        for k, v in changes.model_dump(exclude_unset=True).items()
        if v is not None or k in NULLABLE
    }
    assists = values.pop("assists", None)
    if "email" in values and await _email_taken(session, workspace_id, values["email"], member.id):
        raise Conflict(f"a member with email {values['email']} already exists")
    for field, value in values.items():
        setattr(member, field, value)
    member.version += 1
    member.updated_at = at
    await session.flush()
    if assists is not None:
        await _set_assists(session, member, assists)
    elif member.role != "assistant":
        await _set_assists(session, member, [])  # no longer an assistant: assists no one
    return member


async def delete_member(
    session: AsyncSession, workspace_id: uuid.UUID, member_id: uuid.UUID
) -> None:
    """Assignments to the member are cleared by the foreign keys (``ON DELETE SET NULL``).

    The workspace's default sender is cleared here: a foreign key from the root table to
    a tenant table would tie the two in a cycle for a single setting.
    """
    stmt = (
        delete(Member)
        .where(col(Member.workspace_id) == workspace_id, col(Member.id) == member_id)
        .returning(col(Member.id))
    )
    if (await session.execute(stmt)).first() is None:
        raise NotFound("member not found")
    await session.execute(
        update(Workspace)
        .where(
            col(Workspace.id) == workspace_id,
            col(Workspace.default_sender_member_id) == member_id,
        )
        .values(default_sender_member_id=None, version=col(Workspace.version) + 1)
    )
