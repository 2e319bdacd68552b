"""Webhook deliveries: history with every attempt, manual retry and replay."""

from __future__ import annotations

import uuid

from fastapi import Query, status

from app.deps import AdminAuth, ClockDep, PageDep, SessionDep
from app.models.platform import Page
from app.models.webhooks.tables import (
    DeliveryStatus,
    ReplayRequest,
    ReplayResult,
    WebhookDeliveryDetail,
    WebhookDeliveryRead,
)
from app.problems import CONFLICT, NOT_FOUND
from app.routers.platform import api_router
from app.services.webhooks import deliveries as service

router = api_router("webhooks")


@router.get(
    "/webhook-endpoints/{endpoint_id}/deliveries",
    operation_id="listWebhookDeliveries",
    summary="List an endpoint's deliveries",
    responses=NOT_FOUND,
)
async def list_deliveries(
    endpoint_id: uuid.UUID,
    auth: AdminAuth,
    session: SessionDep,
    page: PageDep,
    status: DeliveryStatus | None = Query(default=None, description="Only this status."),
    event_type: str | None = Query(
        default=None, max_length=64, description="Only this event type."
    ),
) -> Page[WebhookDeliveryRead]:
    """The endpoint's deliveries, newest first."""
    items, cursor = await service.list_deliveries(
        session, auth.workspace_id, endpoint_id, page, status=status, event_type=event_type
    )
    return Page[WebhookDeliveryRead](data=items, next_cursor=cursor)


@router.post(
    "/webhook-endpoints/{endpoint_id}/replay",
    operation_id="replayWebhookDeliveries",
    summary="Replay events to an endpoint",
    status_code=status.HTTP_202_ACCEPTED,
    responses={**NOT_FOUND, **CONFLICT},
)
async def replay(
    endpoint_id: uuid.UUID,
    body: ReplayRequest,
    auth: AdminAuth,
    session: SessionDep,
    clock: ClockDep,
) -> ReplayResult:
    """Queue again the endpoint's deliveries created since `since` (only `failed` ones, or
    every finished one with `all`). They are re-sent with their original `webhook-id`."""
    count = await service.replay(
        session,
        auth.workspace_id,
        endpoint_id,
        since=body.since,
        status=body.status,
        at=clock.now(),
    )
    return ReplayResult(count=count)


@router.get(
    "/webhook-deliveries/{delivery_id}",
    operation_id="getWebhookDelivery",
    summary="Get a webhook delivery",
    responses=NOT_FOUND,
)
async def get_delivery(
    delivery_id: uuid.UUID, auth: AdminAuth, session: SessionDep
) -> WebhookDeliveryDetail:
    """A delivery with every attempt made (status code, latency, error, body's first 2 KB)."""
    return await service.get_delivery(session, auth.workspace_id, delivery_id)


@router.post(
    "/webhook-deliveries/{delivery_id}/retry",
    operation_id="retryWebhookDelivery",
    summary="Retry a webhook delivery",
    status_code=status.HTTP_202_ACCEPTED,
    responses={**NOT_FOUND, **CONFLICT},
)
async def retry_delivery(
    delivery_id: uuid.UUID, auth: AdminAuth, session: SessionDep, clock: ClockDep
) -> WebhookDeliveryDetail:
    """Send again now, with the same `webhook-id`, starting a fresh retry schedule."""
    return await service.retry_delivery(session, auth.workspace_id, delivery_id, at=clock.now())
