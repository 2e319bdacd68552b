"""The caller's own workspace and its settings."""

from __future__ import annotations

from fastapi import Request, Response, status
from sqlalchemy import event

from app.deps import AdminAuth, ClockDep, IfMatchDep, ReadAuth, SessionDep, app_state
from app.errors import NotFound
from app.models.platform.workspace import (
    IdentityProvider,
    IdentityProviderRead,
    WorkspaceRead,
    WorkspaceUpdate,
)
from app.problems import CONFLICT, NOT_FOUND, PRECONDITION
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
    request: Request,
    response: Response,
) -> WorkspaceRead:
    """Change settings; send `If-Match` with the ETag you read to avoid lost updates."""
    workspace = await workspaces.update_workspace(
        session, auth.workspace_id, body, expected_version=expected, at=clock.now()
    )
    state = app_state(request)

    def forget(_: object) -> None:  # this replica at once, the others within 5 s
        state.keys.forget_workspace(auth.workspace_id)
        state.origins.forget()

    event.listen(session.sync_session, "after_commit", forget, once=True)
    set_etag(response, workspace.version)
    return WorkspaceRead.of(workspace)


@router.get(
    "/workspace/identity-provider",
    operation_id="getIdentityProvider",
    summary="Get the identity provider",
    responses=NOT_FOUND,
)
async def get_identity_provider(auth: AdminAuth, session: SessionDep) -> IdentityProviderRead:
    """The OpenID Connect provider whose tokens sign members in, if one is registered."""
    provider = await workspaces.get_identity_provider(session, auth.workspace_id)
    if provider is None:
        raise NotFound("no identity provider is registered")
    return provider


@router.put(
    "/workspace/identity-provider",
    operation_id="setIdentityProvider",
    summary="Register the identity provider",
    responses=CONFLICT,
)
async def set_identity_provider(
    body: IdentityProvider, request: Request, auth: AdminAuth, session: SessionDep, clock: ClockDep
) -> IdentityProviderRead:
    """Register (or replace) the workspace's OpenID Connect provider. Its discovery
    document and key set are fetched now (through the same SSRF guard as webhooks): a
    provider that cannot be reached is a 422 naming `issuer`. Members then sign in with the
    provider's tokens (RS256, ES256 or EdDSA) whose `aud` is `audience`."""
    providers = app_state(request).keys.providers
    if providers is None:
        raise NotFound("identity providers are not enabled here")
    return await workspaces.set_identity_provider(
        session, auth.workspace_id, body, providers=providers, at=clock.now()
    )


@router.delete(
    "/workspace/identity-provider",
    operation_id="removeIdentityProvider",
    summary="Remove the identity provider",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=NOT_FOUND,
)
async def remove_identity_provider(
    auth: AdminAuth, session: SessionDep, clock: ClockDep
) -> Response:
    """Stop accepting the provider's tokens (within 5 seconds on every replica)."""
    await workspaces.remove_identity_provider(session, auth.workspace_id, at=clock.now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)
