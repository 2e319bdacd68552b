"""Claims share the batch out by workspace: one workspace's backlog does not hold the
others' deliveries back until it has drained."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from app.db import Database
from app.services.webhook_bookkeeping import claim
from tests.conftest import make_tenant
from tests.webhook_helpers import queue_events, register_endpoint


async def _local(_host: str, _port: int) -> list[str]:  # never resolved for real, never sent
    return ["127.0.0.1"]


async def _claim(db: Database, batch: int) -> Counter[str]:
    async with db.transaction() as session:
        later = datetime.now(UTC) + timedelta(minutes=1)
        claimed = await claim(session, me="fairness", now=later, lease_seconds=60, batch=batch)
        names = await session.execute(text("SELECT id, name FROM workspaces"))
        name_of = {row.id: row.name for row in names}
    return Counter(name_of[d.workspace_id] for d in claimed)


async def test_a_backlog_does_not_hold_other_workspaces_back(db: Database) -> None:
    tenants = {name: await make_tenant(db, name) for name in ("Backlog", "Small", "Tiny")}
    for tenant in tenants.values():
        await register_endpoint(db, tenant, "http://hooks.test/in", _local, allow_private=True)
    await queue_events(db, tenants["Backlog"], 60)  # the oldest work by far
    await queue_events(db, tenants["Small"], 3)
    await queue_events(db, tenants["Tiny"], 1)

    assert await _claim(db, 12) == {"Backlog": 8, "Small": 3, "Tiny": 1}
    # What is left goes on oldest first: the backlog, all of it in time.
    assert await _claim(db, 12) == {"Backlog": 12}
    for _ in range(4):
        await _claim(db, 12)
    assert await _claim(db, 12) == {}


async def test_an_even_share_each_when_all_have_a_backlog(db: Database) -> None:
    tenants = [await make_tenant(db, name) for name in ("A", "B", "C")]
    for tenant in tenants:
        await register_endpoint(db, tenant, "http://hooks.test/in", _local, allow_private=True)
        await queue_events(db, tenant, 20)
    assert await _claim(db, 9) == {"A": 3, "B": 3, "C": 3}
