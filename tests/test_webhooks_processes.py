"""Real service processes on one database: a crash loses nothing, replicas never double."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from app.db import Database
from app.models.webhooks.tables import WebhookDelivery
from tests.conftest import Tenant, make_tenant
from tests.webhook_helpers import queue_events
from tests.webhook_process import Service
from tests.webhook_receiver import Answer, Received, Receiver, running


@pytest.fixture
def services(tmp_path: Path) -> Iterator[list[Service]]:
    started: list[Service] = []
    yield started
    for service in started:
        service.stop()


def register(service: Service, tenant: Tenant, receiver: Receiver) -> None:
    response = httpx.post(
        f"{service.base_url}/v1/webhook-endpoints",
        json={"url": receiver.url},
        headers=tenant.headers,
        timeout=10,
    )
    assert response.status_code == 201, response.text
    receiver.secrets = [response.json()["secret"]]


async def statuses(db: Database) -> dict[str, int]:
    async with db.transaction() as session:
        rows = await session.execute(
            select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
        )
        return {str(status): int(count) for status, count in rows}


async def settled(db: Database, total: int, within: float) -> dict[str, int]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        counts = await statuses(db)
        if counts.get("succeeded") == total:
            return counts
        await asyncio.sleep(0.1)
    return await statuses(db)


def slow_ok(_: Received) -> Answer:
    time.sleep(0.01)  # keep deliveries in flight long enough to crash in the middle
    return 200, {}, b""


async def test_kill_9_mid_delivery_loses_nothing(
    committed_url: str, committed_db: Database, services: list[Service], tmp_path: Path
) -> None:
    settings = {
        "webhook_lease_seconds": "8",
        "webhook_timeout_seconds": "2",
        "webhook_concurrency": "8",
        "webhook_batch_size": "50",
    }
    with running(slow_ok) as receiver:
        first = Service(committed_url, tmp_path, **settings)
        services.append(first)
        first.wait_ready()
        tenant = await make_tenant(committed_db)
        register(first, tenant, receiver)
        expected = await queue_events(committed_db, tenant, 2000)
        seen_at_kill = len(receiver.wait_for_distinct(300, timeout=60))
        first.kill()
        assert 300 <= seen_at_kill < 2000, "the crash must happen mid-delivery"
        left = await statuses(committed_db)
        assert left.get("succeeded", 0) < 2000
        second = Service(committed_url, tmp_path, **settings)
        services.append(second)
        second.wait_ready()
        seen = receiver.wait_for_distinct(2000, timeout=120)
        counts = await settled(committed_db, 2000, within=30)
    assert seen == set(expected)
    assert counts == {"succeeded": 2000}
    assert all(r.verified_with for r in receiver.received)


async def test_two_replicas_never_send_the_same_event_twice(
    committed_url: str, committed_db: Database, services: list[Service], tmp_path: Path
) -> None:
    settings = {"webhook_batch_size": "20", "webhook_concurrency": "8"}
    with running() as receiver:
        for _ in range(2):
            services.append(Service(committed_url, tmp_path, **settings))
        for service in services:
            service.wait_ready()
        tenant = await make_tenant(committed_db)
        register(services[0], tenant, receiver)
        expected = await queue_events(committed_db, tenant, 1000)
        receiver.wait_for_distinct(1000, timeout=120)
        counts = await settled(committed_db, 1000, within=30)
        async with committed_db.transaction() as session:
            workers = set(
                (await session.execute(select(WebhookDelivery.leased_by).distinct())).scalars()
            )
    assert counts == {"succeeded": 1000}
    repeats = [i for i, n in Counter(receiver.ids()).items() if n > 1]
    assert repeats == []
    assert set(receiver.ids()) == set(expected)
    assert len(workers) == 2, "both replicas should have taken part"
