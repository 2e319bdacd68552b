"""Reading deliveries and putting them back in the queue (manual retry, replay, cancel).

A retried or replayed delivery is the same row, so it is sent with the same
``webhook-id`` and a receiver that de-duplicates by id sees a repeat, not a new event.
Re-queuing starts a fresh run of the retry schedule; earlier attempts stay in history.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import Conflict, NotFound
from app.models.platform import Event
from app.models.webhooks.tables import (
    WebhookAttempt,
    WebhookAttemptRead,
    WebhookDelivery,
    WebhookDeliveryDetail,
    WebhookDeliveryRead,
    WebhookEndpoint,
)
from app.services.platform import PageRequest, keyset_page, public_event_id

OPEN = ("pending", "delivering")
FINISHED = ("succeeded", "failed", "cancelled")

_COLUMNS = (
    col(WebhookDelivery.id),
    col(WebhookDelivery.endpoint_id),
    col(Event.event_uid),
    col(Event.type),
    col(WebhookDelivery.status),
    col(WebhookDelivery.attempt_count),
    col(WebhookDelivery.next_attempt_at),
    col(WebhookDelivery.last_status_code),
    col(WebhookDelivery.created_at),
    col(WebhookDelivery.updated_at),
)


def _read(row: Any) -> WebhookDeliveryRead:
    return WebhookDeliveryRead(
        id=row.id,
        endpoint_id=row.endpoint_id,
        event_id=public_event_id(row.event_uid),
        event_type=row.type,
        status=row.status,
        attempt_count=row.attempt_count,
        next_attempt_at=row.next_attempt_at,
        last_status_code=row.last_status_code,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _with_event() -> Any:
    return select(*_COLUMNS).join(
        Event,
        (col(Event.workspace_id) == col(WebhookDelivery.workspace_id))
        & (col(Event.id) == col(WebhookDelivery.event_id)),
    )


async def _endpoint_enabled(
    session: AsyncSession, workspace_id: uuid.UUID, endpoint_id: uuid.UUID
) -> bool:
    enabled = (
        await session.execute(
            select(col(WebhookEndpoint.enabled)).where(
                col(WebhookEndpoint.workspace_id) == workspace_id,
                col(WebhookEndpoint.id) == endpoint_id,
            )
        )
    ).scalar_one_or_none()
    if enabled is None:
        raise NotFound("webhook endpoint not found")
    return bool(enabled)


async def list_deliveries(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    page: PageRequest,
    *,
    status: str | None = None,
    event_type: str | None = None,
) -> tuple[list[WebhookDeliveryRead], str | None]:
    """Newest first."""
    await _endpoint_enabled(session, workspace_id, endpoint_id)
    stmt = _with_event().where(
        WebhookDelivery.workspace_id == workspace_id, WebhookDelivery.endpoint_id == endpoint_id
    )
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    if event_type is not None:
        stmt = stmt.where(Event.type == event_type)
    rows, cursor = await keyset_page(
        session,
        stmt,
        keys=[col(WebhookDelivery.created_at), col(WebhookDelivery.id)],
        page=page,
        sort="webhook_deliveries",
        descending=True,
    )
    return [_read(r) for r in rows], cursor


async def get_delivery(
    session: AsyncSession, workspace_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDeliveryDetail:
    row = (
        await session.execute(
            _with_event().where(
                WebhookDelivery.workspace_id == workspace_id, WebhookDelivery.id == delivery_id
            )
        )
    ).first()
    if row is None:
        raise NotFound("webhook delivery not found")
    attempts = (
        await session.execute(
            select(WebhookAttempt)
            .where(
                col(WebhookAttempt.workspace_id) == workspace_id,
                col(WebhookAttempt.delivery_id) == delivery_id,
            )
            .order_by(col(WebhookAttempt.attempted_at), col(WebhookAttempt.id))
        )
    ).scalars()
    return WebhookDeliveryDetail(
        **_read(row).model_dump(),
        attempts=[WebhookAttemptRead.model_validate(a) for a in attempts],
    )


def _requeue_values(at: datetime) -> dict[str, Any]:
    return {
        "status": "pending",
        "attempt_count": 0,
        "next_attempt_at": at,
        "lease_expires_at": None,
        "leased_by": None,
        "updated_at": at,
    }


async def retry_delivery(
    session: AsyncSession, workspace_id: uuid.UUID, delivery_id: uuid.UUID, *, at: datetime
) -> WebhookDeliveryDetail:
    """Send again as soon as a dispatcher is free."""
    current = (
        await session.execute(
            select(col(WebhookDelivery.status), col(WebhookDelivery.endpoint_id))
            .where(
                col(WebhookDelivery.workspace_id) == workspace_id,
                col(WebhookDelivery.id) == delivery_id,
            )
            .with_for_update()
        )
    ).first()
    if current is None:
        raise NotFound("webhook delivery not found")
    if current.status == "delivering":
        raise Conflict("the delivery is being attempted right now")
    if not await _endpoint_enabled(session, workspace_id, current.endpoint_id):
        raise Conflict("the endpoint is disabled; enable it before retrying")
    await session.execute(
        update(WebhookDelivery)
        .where(
            col(WebhookDelivery.workspace_id) == workspace_id,
            col(WebhookDelivery.id) == delivery_id,
        )
        .values(**_requeue_values(at))
    )
    return await get_delivery(session, workspace_id, delivery_id)


async def replay(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    *,
    since: datetime,
    status: str,
    at: datetime,
) -> int:
    """Re-queue, in one statement, the endpoint's finished deliveries created since ``since``."""
    if not await _endpoint_enabled(session, workspace_id, endpoint_id):
        raise Conflict("the endpoint is disabled; enable it before replaying")
    statuses = ("failed",) if status == "failed" else FINISHED
    result = await session.execute(
        update(WebhookDelivery)
        .where(
            col(WebhookDelivery.workspace_id) == workspace_id,
            col(WebhookDelivery.endpoint_id) == endpoint_id,
            col(WebhookDelivery.created_at) >= since,
            col(WebhookDelivery.status).in_(statuses),
        )
        .values(**_requeue_values(at))
        .returning(col(WebhookDelivery.id))
    )
    return len(result.all())


async def cancel_open_deliveries(
    session: AsyncSession, endpoints: Sequence[tuple[uuid.UUID, uuid.UUID]], *, at: datetime
) -> int:
    """Cancel what is queued or in flight for ``(workspace_id, endpoint_id)`` pairs.

    An in-flight attempt finishes, but its owner's bookkeeping no longer matches the row
    (it requires ``status = 'delivering'``), so the cancellation stands.
    """
    if not endpoints:
        return 0
    result = await session.execute(
        update(WebhookDelivery)
        .where(
            tuple_(col(WebhookDelivery.workspace_id), col(WebhookDelivery.endpoint_id)).in_(
                list(endpoints)
            ),
            col(WebhookDelivery.status).in_(OPEN),
        )
        .values(
            status="cancelled",
            next_attempt_at=None,
            lease_expires_at=None,
            leased_by=None,
            updated_at=at,
        )
        .returning(col(WebhookDelivery.id))
    )
    return len(result.all())
