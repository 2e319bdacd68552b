"""The caller's own workspace and its settings."""

from __future__ import annotations

from fastapi import Response

from app.deps import AdminAuth, ClockDep, IfMatchDep, ReadAuth, SessionDep
from app.models.platform.workspace import WorkspaceRead, WorkspaceUpdate
from app.problems import PRECONDITION
from app.routers.platform.common import api_router, set_etag
from app.services.platform import workspaces

router = api_router("workspace")


@router.get("/workspace", operation_id="getWorkspace", summary="Get the workspace")
async def get_workspace(auth: ReadAuth, session: SessionDep, response: Response) -> WorkspaceRead:
    """The workspace this API key belongs to, with its settings."""
    workspace = await workspaces.get_workspace(session, auth.workspace_id)
    set_etag(response, workspace.version)
    return WorkspaceRead.of(workspace)


@router.patch(
    "/workspace",
    operation_id="updateWorkspace",
    summary="Change the workspace settings",
    responses=PRECONDITION,
)
async def update_workspace(
    body: WorkspaceUpdate,
    auth: AdminAuth,
    session: SessionDep,
    clock: ClockDep,
    expected: IfMatchDep,
    response: Response,
) -> WorkspaceRead:
    """Change settings; send `If-Match` with the ETag you read to avoid lost updates."""
    workspace = await workspaces.update_workspace(
        session, auth.workspace_id, body, expected_version=expected, at=clock.now()
    )
    set_etag(response, workspace.version)
    return WorkspaceRead.of(workspace)
