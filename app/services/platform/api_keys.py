"""API keys of a workspace: issue, list, revoke."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import NotFound, ValidationFailed
from app.models.platform.api_key import ALL_SCOPES, ApiKey, ApiKeyUpdate
from app.models.platform.common import utc_text
from app.models.platform.member import Member
from app.models.platform.rate_limit import RateLimit
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
    rate_limit: RateLimit | None = None,
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
        rate_limit_per_minute=rate_limit.requests_per_minute if rate_limit else None,
        rate_limit_burst=rate_limit.burst if rate_limit else None,
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


async def update_api_key(
    session: AsyncSession, workspace_id: uuid.UUID, key_id: uuid.UUID, changes: ApiKeyUpdate
) -> ApiKey:
    """Rename a key or set its own rate limit (null: the workspace's)."""
    key = (
        await session.execute(
            select(ApiKey)
            .where(col(ApiKey.workspace_id) == workspace_id, col(ApiKey.id) == key_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if key is None:
        raise NotFound("API key not found")
    values = changes.model_dump(exclude_unset=True)
    if changes.name is not None:
        key.name = changes.name
    if "rate_limit" in values:
        limit = changes.rate_limit
        key.rate_limit_per_minute = limit.requests_per_minute if limit else None
        key.rate_limit_burst = limit.burst if limit else None
    await session.flush()
    return key


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
        changes={"revoked_at": {"before": None, "after": utc_text(at)}},
        at=at,
    )
