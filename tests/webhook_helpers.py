"""Shared set-up for dispatcher tests: an app, a frozen clock near real time, a dispatcher.

The clock starts at the real current time because receivers verify signatures with
``standardwebhooks``, which refuses timestamps more than five minutes from the wall
clock; tests then move it by the (shrunk) retry schedule, never by sleeping.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import httpx
from sqlalchemy import select

from app.clock import FrozenClock
from app.config import Settings
from app.db import Database
from app.main import create_app
from app.models.platform.event import Event
from app.models.webhooks.tables import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEndpointCreate,
)
from app.services.platform.events import public_event_id, record_events
from app.services.platform.ssrf import Resolver, system_resolver
from app.services.webhooks.dispatcher import WebhookDispatcher
from app.services.webhooks.endpoints import UrlPolicy, create_endpoint
from tests.conftest import T0, Tenant, make_settings


@dataclass
class Harness:
    db: Database
    clock: FrozenClock
    settings: Settings
    api: httpx.AsyncClient
    dispatcher: WebhookDispatcher

    async def endpoint(self, tenant: Tenant, url: str, **body: Any) -> dict[str, Any]:
        response = await self.api.post(
            "/v1/webhook-endpoints", json={"url": url, **body}, headers=tenant.headers
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def emit(self, tenant: Tenant, *types: str) -> list[str]:
        """Record events now; returns their public ids (the webhook-ids to expect)."""
        async with self.db.transaction() as session:
            ids = await record_events(
                session,
                tenant.id,
                [(t, {"n": i}) for i, t in enumerate(types)],
                at=self.clock.now(),
            )
            uids = await session.execute(
                select(Event.event_uid).where(Event.id.in_(ids)).order_by(Event.id)
            )
            return [public_event_id(u) for u in uids.scalars()]

    async def deliveries(self, endpoint_id: Any = None) -> list[WebhookDelivery]:
        async with self.db.transaction() as session:
            stmt = select(WebhookDelivery).order_by(WebhookDelivery.event_id)
            if endpoint_id is not None:
                stmt = stmt.where(WebhookDelivery.endpoint_id == uuid.UUID(str(endpoint_id)))
            return list((await session.execute(stmt)).scalars())

    async def attempts(self, delivery_id: uuid.UUID) -> list[WebhookAttempt]:
        async with self.db.transaction() as session:
            stmt = (
                select(WebhookAttempt)
                .where(WebhookAttempt.delivery_id == delivery_id)
                .order_by(WebhookAttempt.attempted_at)
            )
            return list((await session.execute(stmt)).scalars())

    async def endpoint_row(self, endpoint_id: Any) -> WebhookEndpoint:
        async with self.db.transaction() as session:
            stmt = select(WebhookEndpoint).where(WebhookEndpoint.id == uuid.UUID(str(endpoint_id)))
            return (await session.execute(stmt)).scalar_one()

    async def events_of(self, tenant: Tenant, event_type: str) -> list[dict[str, Any]]:
        async with self.db.transaction() as session:
            stmt = (
                select(Event.data)
                .where(Event.workspace_id == tenant.id, Event.type == event_type)
                .order_by(Event.id)
            )
            return list((await session.execute(stmt)).scalars())

    async def drain(self, rounds: int = 50) -> None:
        """Run rounds, jumping the clock to the next due attempt, until nothing is left."""
        for _ in range(rounds):
            await self.dispatcher.run_once()
            pending = [d for d in await self.deliveries() if d.status == "pending"]
            if not pending:
                return
            due = min(d.next_attempt_at for d in pending if d.next_attempt_at is not None)
            if due > self.clock.now():
                self.clock.set(due)
        raise AssertionError("deliveries did not settle")


@asynccontextmanager
async def harness(
    db: Database,
    resolver: Resolver = system_resolver,
    client: aiohttp.ClientSession | None = None,
    **overrides: Any,
) -> AsyncIterator[Harness]:
    settings = make_settings(**{"webhook_retry_schedule": "10,20,40", **overrides})
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    app = create_app(settings, database=db, clock=clock)
    dispatcher = WebhookDispatcher(
        db,
        settings,
        clock,
        resolver=resolver,
        client=client,
        rng=random.Random(7),
        name="test-worker",
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://rapport.test") as api:
        try:
            yield Harness(db, clock, settings, api, dispatcher)
        finally:
            await dispatcher.stop()


async def queue_events(db: Database, tenant: Tenant, count: int) -> list[str]:
    """Record ``count`` events in one transaction, as a busy request would."""
    async with db.transaction() as session:
        ids = await record_events(
            session,
            tenant.id,
            [("touch.due", {"n": i}) for i in range(count)],
            at=datetime.now(UTC),
        )
        uids = await session.execute(select(Event.event_uid).where(Event.id.in_(ids)))
        return [public_event_id(u) for u in uids.scalars()]


async def register_endpoint(
    db: Database, tenant: Tenant, url: str, resolver: Resolver, *, allow_private: bool = False
) -> str:
    """Register through the service with an injected resolver; returns the secret."""
    async with db.transaction() as session:
        endpoint = await create_endpoint(
            session,
            tenant.id,
            WebhookEndpointCreate(url=url),
            policy=UrlPolicy(allow_private=allow_private, allow_http=True, resolver=resolver),
            at=T0,
        )
        return endpoint.secret
