"""API keys of a workspace: issue, list, revoke."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import NotFound, ValidationFailed
from app.models.platform.api_key import ALL_SCOPES, ApiKey
from app.models.platform.member import Member
from app.services.platform.audit import record_change
from app.services.platform.pagination import PageRequest, keyset_page
from app.services.platform.tokens import digest, display_prefix, new_api_key


async def create_api_key(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    name: str,
    scopes: Sequence[str],
    member_id: uuid.UUID | None = None,
    at: datetime,
) -> tuple[ApiKey, str]:
    """Issue a key; bound to ``member_id`` it acts as that member within their role."""
    unknown = sorted(set(scopes) - set(ALL_SCOPES))
    if unknown:
        raise ValidationFailed.on(["scopes"], f"unknown scopes {unknown}; use {list(ALL_SCOPES)}")
    if member_id is not None:
        active = select(col(Member.active)).where(
            col(Member.workspace_id) == workspace_id, col(Member.id) == member_id
        )
        if not (await session.execute(active)).scalar_one_or_none():
            raise ValidationFailed.on(["body", "member_id"], "no active member with this id")
    token = new_api_key(workspace_id)
    key = ApiKey(
        workspace_id=workspace_id,
        name=name,
        prefix=display_prefix(token),
        secret_hash=digest(token),
        scopes=sorted(set(scopes)),
        member_id=member_id,
        created_at=at,
    )
    session.add(key)
    await session.flush()
    return key, token


async def list_api_keys(
    session: AsyncSession, workspace_id: uuid.UUID, page: PageRequest
) -> tuple[list[ApiKey], str | None]:
    stmt = select(ApiKey).where(col(ApiKey.workspace_id) == workspace_id)
    rows, cursor = await keyset_page(
        session,
        stmt,
        keys=[col(ApiKey.created_at), col(ApiKey.id)],
        page=page,
        sort="api_keys",
    )
    return [r[0] for r in rows], cursor


async def revoke_api_key(
    session: AsyncSession, workspace_id: uuid.UUID, key_id: uuid.UUID, *, at: datetime
) -> None:
    stmt = (
        update(ApiKey)
        .where(col(ApiKey.workspace_id) == workspace_id, col(ApiKey.id) == key_id)
        .values(revoked_at=at)
        .returning(col(ApiKey.id))
    )
    if (await session.execute(stmt)).first() is None:
        raise NotFound("API key not found")
    await record_change(
        session,
        workspace_id,
        action="api_key.revoked",
        resource_type="api_key",
        resource_id=key_id,
        changes={"revoked_at": {"before": None, "after": at.isoformat()}},
        at=at,
    )
