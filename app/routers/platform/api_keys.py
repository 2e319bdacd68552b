"""API keys of the workspace (admin scope)."""

from __future__ import annotations

import uuid

from fastapi import Request, Response, status
from sqlalchemy import event

from app.deps import AdminAuth, ClockDep, PageDep, SessionDep, app_state
from app.models.platform.api_key import ApiKeyCreate, ApiKeyCreated, ApiKeyRead, ApiKeyUpdate
from app.models.platform.common import Page
from app.problems import CONFLICT, NOT_FOUND
from app.routers.platform.common import api_router, page_of
from app.services.platform import api_keys

router = api_router("api-keys")


@router.get("/api-keys", operation_id="listApiKeys", summary="List API keys")
async def list_api_keys(auth: AdminAuth, session: SessionDep, page: PageDep) -> Page[ApiKeyRead]:
    """Keys of this workspace, newest last; secrets are never shown again."""
    keys, cursor = await api_keys.list_api_keys(session, auth.workspace_id, page)
    return page_of(keys, cursor, ApiKeyRead.of)


@router.post(
    "/api-keys",
    operation_id="createApiKey",
    summary="Create an API key",
    status_code=status.HTTP_201_CREATED,
    responses=CONFLICT,
)
async def create_api_key(
    body: ApiKeyCreate, auth: AdminAuth, session: SessionDep, clock: ClockDep
) -> ApiKeyCreated:
    """Issue a key. The `key` field of the response is the only time it is shown."""
    key, token = await api_keys.create_api_key(
        session,
        auth.workspace_id,
        name=body.name,
        scopes=body.scopes,
        member_id=body.member_id,
        rate_limit=body.rate_limit,
        at=clock.now(),
    )
    return ApiKeyCreated(**ApiKeyRead.of(key).model_dump(), key=token)


@router.patch(
    "/api-keys/{key_id}",
    operation_id="updateApiKey",
    summary="Rename an API key or set its rate limit",
    responses=NOT_FOUND,
)
async def update_api_key(
    key_id: uuid.UUID, body: ApiKeyUpdate, request: Request, auth: AdminAuth, session: SessionDep
) -> ApiKeyRead:
    """Change a key's name or its own rate limit (`null`: the workspace's). The new limit
    applies at once on the replica that answers, within 5 seconds on the others."""
    key = await api_keys.update_api_key(session, auth.workspace_id, key_id, body)
    keys = app_state(request).keys
    event.listen(session.sync_session, "after_commit", lambda _: keys.forget_key(key_id), once=True)
    return ApiKeyRead.of(key)


@router.delete(
    "/api-keys/{key_id}",
    operation_id="revokeApiKey",
    summary="Revoke an API key",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=NOT_FOUND,
)
async def revoke_api_key(
    key_id: uuid.UUID, request: Request, auth: AdminAuth, session: SessionDep, clock: ClockDep
) -> Response:
    """Revoke a key: refused at once by the replica that answers, by every replica
    within 5 seconds (their caches)."""
    await api_keys.revoke_api_key(session, auth.workspace_id, key_id, at=clock.now())
    keys = app_state(request).keys
    event.listen(session.sync_session, "after_commit", lambda _: keys.forget_key(key_id), once=True)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
