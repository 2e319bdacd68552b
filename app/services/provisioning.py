"""A new tenant, ready to use: the workspace, its first admin key, its built-in plans.

The one step that spans domains at creation: platform makes the workspace and the key,
touches seeds the editable copies of the built-in plans. The CLI, the demo and the tests
create workspaces through here, so every workspace starts the same.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.models.platform import ApiKey, Workspace
from app.services import platform, touches


async def provision_workspace(
    session: AsyncSession, name: str, *, at: datetime
) -> tuple[Workspace, ApiKey, str]:
    """A new workspace with an admin key (the plain key is returned once) and its plans."""
    workspace, key, token = await platform.create_workspace(session, name, at=at)
    await touches.seed_builtin_plans(session, workspace.id, at=at)  # editable copies
    return workspace, key, token
