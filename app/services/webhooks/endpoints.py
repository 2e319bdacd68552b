"""Webhook endpoints: registration (SSRF-checked), changes, secret rotation, test sends.

Secrets are generated here, never chosen by the client, so every one has the same
strength; they leave this module only in the return value of create and rotate.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import Conflict, NotFound
from app.models.platform import WEBHOOK_TEST, Event
from app.models.webhooks.events import WebhookTestData
from app.models.webhooks.tables import (
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEndpointCreate,
    WebhookEndpointUpdate,
)
from app.services.platform import (
    PageRequest,
    Resolver,
    check_url,
    check_version,
    keyset_page,
    public_event_id,
    record_event,
    system_resolver,
)
from app.services.webhooks.deliveries import cancel_open_deliveries

SECRET_PREFIX = "whsec_"  # noqa: S105 (a format prefix, not a secret)
SECRET_BYTES = 32
ROTATION_OVERLAP = timedelta(hours=24)


@dataclass(frozen=True)
class UrlPolicy:
    """What the operator allows as a target; the resolver is injectable for tests."""

    allow_private: bool
    allow_http: bool
    resolver: Resolver = system_resolver

    async def check(self, url: str) -> None:
        await check_url(
            url,
            allow_private=self.allow_private,
            allow_http=self.allow_http,
            resolver=self.resolver,
        )


def new_secret() -> str:
    """``whsec_`` + base64 of 32 random bytes, the Standard Webhooks secret format."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


async def create_endpoint(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    data: WebhookEndpointCreate,
    *,
    policy: UrlPolicy,
    at: datetime,
) -> WebhookEndpoint:
    """The returned row carries the new secret: the caller shows it once."""
    await policy.check(data.url)
    endpoint = WebhookEndpoint(
        workspace_id=workspace_id,
        url=data.url,
        description=data.description,
        event_types=data.event_types,
        enabled=data.enabled,
        secret=new_secret(),
        created_at=at,
        updated_at=at,
    )
    session.add(endpoint)
    await session.flush()
    return endpoint


async def get_endpoint(
    session: AsyncSession, workspace_id: uuid.UUID, endpoint_id: uuid.UUID, *, lock: bool = False
) -> WebhookEndpoint:
    stmt = select(WebhookEndpoint).where(
        col(WebhookEndpoint.workspace_id) == workspace_id, col(WebhookEndpoint.id) == endpoint_id
    )
    if lock:
        # An edit never changes the key: NO KEY UPDATE lets fan-outs (FOR KEY SHARE) go on.
        stmt = stmt.with_for_update(key_share=True)
    endpoint = (await session.execute(stmt)).scalar_one_or_none()
    if endpoint is None:
        raise NotFound("webhook endpoint not found")
    return endpoint


async def list_endpoints(
    session: AsyncSession, workspace_id: uuid.UUID, page: PageRequest
) -> tuple[list[WebhookEndpoint], str | None]:
    stmt = select(WebhookEndpoint).where(col(WebhookEndpoint.workspace_id) == workspace_id)
    rows, cursor = await keyset_page(
        session,
        stmt,
        keys=[col(WebhookEndpoint.created_at), col(WebhookEndpoint.id)],
        page=page,
        sort="webhook_endpoints",
    )
    return [r[0] for r in rows], cursor


async def update_endpoint(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    changes: WebhookEndpointUpdate,
    *,
    expected_version: int | None,
    policy: UrlPolicy,
    at: datetime,
) -> WebhookEndpoint:
    """Disabling cancels queued deliveries (replay brings them back); enabling starts afresh."""
    endpoint = await get_endpoint(session, workspace_id, endpoint_id, lock=True)
    check_version(endpoint.version, expected_version)
    values = {k: v for k, v in changes.model_dump(exclude_unset=True).items() if v is not None}
    if "url" in values and values["url"] != endpoint.url:
        await policy.check(values["url"])
    was_enabled = endpoint.enabled
    for field, value in values.items():
        setattr(endpoint, field, value)
    if endpoint.enabled and not was_enabled:
        endpoint.disabled_reason = None
        endpoint.first_failure_at = None
    elif was_enabled and not endpoint.enabled:
        endpoint.disabled_reason = "disabled through the API"
        await cancel_open_deliveries(session, [(workspace_id, endpoint_id)], at=at)
    endpoint.version += 1
    endpoint.updated_at = at
    await session.flush()
    return endpoint


async def delete_endpoint(
    session: AsyncSession, workspace_id: uuid.UUID, endpoint_id: uuid.UUID
) -> None:
    """Deliveries and attempts go with it (``ON DELETE CASCADE``); events stay."""
    stmt = (
        delete(WebhookEndpoint)
        .where(
            col(WebhookEndpoint.workspace_id) == workspace_id,
            col(WebhookEndpoint.id) == endpoint_id,
        )
        .returning(col(WebhookEndpoint.id))
    )
    if (await session.execute(stmt)).first() is None:
        raise NotFound("webhook endpoint not found")


async def rotate_secret(
    session: AsyncSession, workspace_id: uuid.UUID, endpoint_id: uuid.UUID, *, at: datetime
) -> WebhookEndpoint:
    """New secret now; the old one keeps signing alongside for 24 h so receivers can switch."""
    endpoint = await get_endpoint(session, workspace_id, endpoint_id, lock=True)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = at + ROTATION_OVERLAP
    endpoint.secret = new_secret()
    endpoint.version += 1
    endpoint.updated_at = at
    await session.flush()
    return endpoint


async def send_test(
    session: AsyncSession, workspace_id: uuid.UUID, endpoint_id: uuid.UUID, *, at: datetime
) -> tuple[str, uuid.UUID]:
    """Record a ``webhook.test`` event; the fan-out routes it to this endpoint only."""
    endpoint = await get_endpoint(session, workspace_id, endpoint_id)
    if not endpoint.enabled:
        raise Conflict("the endpoint is disabled; enable it before sending a test")
    message = "This is a test event from Rapport."
    data = WebhookTestData(endpoint_id=endpoint.id, message=message).model_dump(mode="json")
    event_id = await record_event(session, workspace_id, WEBHOOK_TEST, data, at=at)
    delivery_id = (
        await session.execute(
            select(col(WebhookDelivery.id)).where(
                col(WebhookDelivery.workspace_id) == workspace_id,
                col(WebhookDelivery.endpoint_id) == endpoint_id,
                col(WebhookDelivery.event_id) == event_id,
            )
        )
    ).scalar_one()
    event_uid = (
        await session.execute(
            select(col(Event.event_uid)).where(
                col(Event.workspace_id) == workspace_id, col(Event.id) == event_id
            )
        )
    ).scalar_one()
    return public_event_id(event_uid), delivery_id
