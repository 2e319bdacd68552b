"""Webhook endpoints: where events are POSTed. Admin keys only: they receive all data."""

from __future__ import annotations

import uuid

from fastapi import Response, status

from app.config import Settings
from app.deps import AdminAuth, ClockDep, IfMatchDep, PageDep, SessionDep, SettingsDep
from app.models.platform import Page
from app.models.webhooks.tables import (
    WebhookEndpointCreate,
    WebhookEndpointRead,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecret,
    WebhookTestResult,
)
from app.problems import CONFLICT, NOT_FOUND, PRECONDITION
from app.routers.platform import CREATED_AT, api_router, page_of, set_etag
from app.services.webhooks import endpoints as service

router = api_router("webhooks")


def _policy(settings: Settings) -> service.UrlPolicy:
    return service.UrlPolicy(
        allow_private=settings.webhook_allow_private_networks,
        allow_http=settings.webhook_allow_http,
    )


@router.get(
    "/webhook-endpoints", operation_id="listWebhookEndpoints", summary="List webhook endpoints"
)
async def list_endpoints(
    auth: AdminAuth, session: SessionDep, page: PageDep
) -> Page[WebhookEndpointRead]:
    items, cursor = await service.list_endpoints(session, auth.workspace_id, page)
    return page_of(items, cursor, WebhookEndpointRead.model_validate)


@router.post(
    "/webhook-endpoints",
    operation_id="createWebhookEndpoint",
    summary="Register a webhook endpoint",
    status_code=status.HTTP_201_CREATED,
    responses=CREATED_AT,
)
async def create_endpoint(
    body: WebhookEndpointCreate,
    auth: AdminAuth,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    response: Response,
) -> WebhookEndpointWithSecret:
    """Register an endpoint. The URL is checked now (public address; https unless the
    operator allowed http) and again before every send. The `secret` is shown only here."""
    endpoint = await service.create_endpoint(
        session, auth.workspace_id, body, policy=_policy(settings), at=clock.now()
    )
    set_etag(response, endpoint.version)
    response.headers["Location"] = f"/v1/webhook-endpoints/{endpoint.id}"
    return WebhookEndpointWithSecret.model_validate(endpoint)


@router.get(
    "/webhook-endpoints/{endpoint_id}",
    operation_id="getWebhookEndpoint",
    summary="Get a webhook endpoint",
    responses=NOT_FOUND,
)
async def get_endpoint(
    endpoint_id: uuid.UUID, auth: AdminAuth, session: SessionDep, response: Response
) -> WebhookEndpointRead:
    endpoint = await service.get_endpoint(session, auth.workspace_id, endpoint_id)
    set_etag(response, endpoint.version)
    return WebhookEndpointRead.model_validate(endpoint)


@router.patch(
    "/webhook-endpoints/{endpoint_id}",
    operation_id="updateWebhookEndpoint",
    summary="Change a webhook endpoint",
    responses={**NOT_FOUND, **PRECONDITION},
)
async def update_endpoint(
    endpoint_id: uuid.UUID,
    body: WebhookEndpointUpdate,
    auth: AdminAuth,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    expected: IfMatchDep,
    response: Response,
) -> WebhookEndpointRead:
    """Disabling cancels queued deliveries; re-enabling clears `disabled_reason`."""
    endpoint = await service.update_endpoint(
        session,
        auth.workspace_id,
        endpoint_id,
        body,
        expected_version=expected,
        policy=_policy(settings),
        at=clock.now(),
    )
    set_etag(response, endpoint.version)
    return WebhookEndpointRead.model_validate(endpoint)


@router.delete(
    "/webhook-endpoints/{endpoint_id}",
    operation_id="deleteWebhookEndpoint",
    summary="Delete a webhook endpoint",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=NOT_FOUND,
)
async def delete_endpoint(endpoint_id: uuid.UUID, auth: AdminAuth, session: SessionDep) -> Response:
    """Remove the endpoint with its delivery history; the events themselves stay."""
    await service.delete_endpoint(session, auth.workspace_id, endpoint_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/webhook-endpoints/{endpoint_id}/rotate-secret",
    operation_id="rotateWebhookSecret",
    summary="Rotate an endpoint's signing secret",
    responses=NOT_FOUND,
)
async def rotate_secret(
    endpoint_id: uuid.UUID, auth: AdminAuth, session: SessionDep, clock: ClockDep
) -> WebhookEndpointWithSecret:
    """Issue a new secret. For 24 hours every request carries two signatures (old and
    new secret, space-separated in `webhook-signature`), so receivers can switch over."""
    endpoint = await service.rotate_secret(session, auth.workspace_id, endpoint_id, at=clock.now())
    return WebhookEndpointWithSecret.model_validate(endpoint)


@router.post(
    "/webhook-endpoints/{endpoint_id}/test",
    operation_id="testWebhookEndpoint",
    summary="Send a test event",
    status_code=status.HTTP_202_ACCEPTED,
    responses={**NOT_FOUND, **CONFLICT},
)
async def send_test(
    endpoint_id: uuid.UUID, auth: AdminAuth, session: SessionDep, clock: ClockDep
) -> WebhookTestResult:
    """Queue a `webhook.test` event for this endpoint only; follow it with the delivery id."""
    event_id, delivery_id = await service.send_test(
        session, auth.workspace_id, endpoint_id, at=clock.now()
    )
    return WebhookTestResult(event_id=event_id, delivery_id=delivery_id)
