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

from app.errors import NotFound, ValidationFailed
from app.models.platform.api_key import ALL_SCOPES, ApiKey
from app.models.platform.member import Member
from app.models.platform.workspace import Workspace, WorkspaceUpdate
from app.services.platform import api_keys
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
        "outcome_grace_days",
    ):
        if field in values and values[field] is not None:
            setattr(workspace, field, values[field])
    if "default_sender_member_id" in values:
        sender = values["default_sender_member_id"]
        if sender is not None:
            await _require_member(session, workspace_id, sender)
        workspace.default_sender_member_id = sender
    workspace.version += 1
    workspace.updated_at = at
    await session.flush()
    return workspace
