"""Workspaces: creating a tenant with its first key, and changing its settings.

A new workspace also gets its copies of the built-in touch plans; that whole step is
``app.services.provisioning.provision_workspace``, since platform imports no domain.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import Conflict, NotFound, ValidationFailed
from app.models.platform.api_key import ALL_SCOPES, ApiKey
from app.models.platform.member import Member
from app.models.platform.workspace import (
    IdentityProvider,
    IdentityProviderRead,
    Workspace,
    WorkspaceUpdate,
)
from app.services.platform import api_keys
from app.services.platform.oidc import IdentityProviders
from app.services.platform.versioning import check_version


async def create_workspace(
    session: AsyncSession, name: str, *, at: datetime
) -> tuple[Workspace, ApiKey, str]:
    """A new workspace and an admin key for it; the plain key is returned once."""
    workspace = Workspace(name=name, created_at=at, updated_at=at)
    session.add(workspace)
    await session.flush()
    key, token = await api_keys.create_api_key(
        session, workspace.id, name="initial admin key", scopes=list(ALL_SCOPES), at=at
    )
    return workspace, key, token


async def get_workspace(session: AsyncSession, workspace_id: uuid.UUID) -> Workspace:
    workspace = await session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFound("workspace not found")
    return workspace


async def lock_workspace(session: AsyncSession, workspace_id: uuid.UUID) -> Workspace:
    stmt = select(Workspace).where(col(Workspace.id) == workspace_id).with_for_update()
    workspace = (await session.execute(stmt)).scalar_one_or_none()
    if workspace is None:
        raise NotFound("workspace not found")
    return workspace


async def _require_member(
    session: AsyncSession, workspace_id: uuid.UUID, member_id: uuid.UUID
) -> None:
    stmt = select(col(Member.id)).where(
        col(Member.workspace_id) == workspace_id, col(Member.id) == member_id
    )
    if (await session.execute(stmt)).first() is None:
        raise ValidationFailed.on(["body", "default_sender_member_id"], "no such member")


async def update_workspace(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    changes: WorkspaceUpdate,
    *,
    expected_version: int | None,
    at: datetime,
) -> Workspace:
    workspace = await lock_workspace(session, workspace_id)
    check_version(workspace.version, expected_version)
    values = changes.model_dump(exclude_unset=True)
    if changes.send_window is not None:
        workspace.send_window_start = changes.send_window.start
        workspace.send_window_end = changes.send_window.end
    if changes.score_weights is not None:
        workspace.weight_communication = changes.score_weights.communication
        workspace.weight_reciprocity = changes.score_weights.reciprocity
        workspace.weight_appreciation = changes.score_weights.appreciation
    for field in (
        "name",
        "time_zone",
        "lapse_threshold_days",
        "referral_follow_up_hours",
        "referral_thank_you_channel",
        "referral_thank_you_mode",
        "visibility",
        "agenda_stall_factor",
        "agenda_touch_lift",
        "outcome_grace_days",
    ):
        if field in values and values[field] is not None:
            setattr(workspace, field, values[field])
    if changes.cors_origins is not None:
        workspace.cors_origins = list(dict.fromkeys(changes.cors_origins))
    if "rate_limit" in values:  # null: back to the service's default
        limit = changes.rate_limit
        workspace.rate_limit_per_minute = limit.requests_per_minute if limit else None
        workspace.rate_limit_burst = limit.burst if limit else None
    if "default_sender_member_id" in values:
        sender = values["default_sender_member_id"]
        if sender is not None:
            await _require_member(session, workspace_id, sender)
        workspace.default_sender_member_id = sender
    workspace.version += 1
    workspace.updated_at = at
    await session.flush()
    return workspace


async def get_identity_provider(
    session: AsyncSession, workspace_id: uuid.UUID
) -> IdentityProviderRead | None:
    workspace = await get_workspace(session, workspace_id)
    if workspace.idp_issuer is None or workspace.idp_audience is None:
        return None
    return IdentityProviderRead(
        issuer=workspace.idp_issuer,
        audience=workspace.idp_audience,
        member_claim=workspace.idp_member_claim,
        unknown_members=workspace.idp_unknown_members,
    )


async def set_identity_provider(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    provider: IdentityProvider,
    *,
    providers: IdentityProviders,
    at: datetime,
) -> IdentityProviderRead:
    """Register (or replace) the provider, once its discovery document and key set are
    reachable through the SSRF guard; one workspace per issuer and audience."""
    await providers.check_issuer(provider.issuer)
    workspace = await lock_workspace(session, workspace_id)
    taken = select(col(Workspace.id)).where(
        col(Workspace.idp_issuer) == provider.issuer,
        col(Workspace.idp_audience) == provider.audience,
        col(Workspace.id) != workspace_id,
    )
    if (await session.execute(taken)).first() is not None:
        raise Conflict("another workspace already uses this issuer and audience")
    workspace.idp_issuer = provider.issuer
    workspace.idp_audience = provider.audience
    workspace.idp_member_claim = provider.member_claim
    workspace.idp_unknown_members = provider.unknown_members
    workspace.version += 1
    workspace.updated_at = at
    await session.flush()
    return IdentityProviderRead(**provider.model_dump())


async def remove_identity_provider(
    session: AsyncSession, workspace_id: uuid.UUID, *, at: datetime
) -> None:
    workspace = await lock_workspace(session, workspace_id)
    if workspace.idp_issuer is None:
        raise NotFound("no identity provider is registered")
    workspace.idp_issuer = None
    workspace.idp_audience = None
    workspace.version += 1
    workspace.updated_at = at
    await session.flush()
