"""The event outbox: atomic with the change, and a cursor that never skips a late commit."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest
from sqlalchemy import text

from app.clock import FrozenClock
from app.db import Database
from app.main import create_app
from app.services.platform.events import count_events, record_event
from tests.conftest import T0, Tenant, make_settings, make_tenant


async def test_event_rolls_back_with_its_transaction(db: Database, tenant: Tenant) -> None:
    class Boom(Exception):
        pass

    async def write_then_fail() -> None:
        async with db.transaction() as session:
            await record_event(session, tenant.id, "contact.created", {"id": "x"}, at=T0)
            raise Boom

    with pytest.raises(Boom):
        await write_then_fail()
    async with db.sessionmaker() as session:
        assert await count_events(session, tenant.id) == 0


async def test_feed_filters_by_type_and_pages(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    async with db.transaction() as session:
        for i in range(5):
            await record_event(session, tenant.id, "contact.created", {"n": i}, at=T0)
        await record_event(session, tenant.id, "touch.due", {"n": 99}, at=T0)
        await record_event(session, other_tenant.id, "contact.created", {"n": -1}, at=T0)
    page = (await client.get("/v1/events", params={"limit": 3}, headers=tenant.headers)).json()
    assert [e["data"]["n"] for e in page["data"]] == [0, 1, 2]
    assert page["data"][0]["id"].startswith("evt_")
    rest = (
        await client.get(
            "/v1/events",
            params={"limit": 10, "cursor": page["next_cursor"]},
            headers=tenant.headers,
        )
    ).json()
    assert [e["data"]["n"] for e in rest["data"]] == [3, 4, 99]
    only = (
        await client.get("/v1/events", params={"types": "touch.due"}, headers=tenant.headers)
    ).json()
    assert [e["type"] for e in only["data"]] == ["touch.due"]
    theirs = (await client.get("/v1/events", headers=other_tenant.headers)).json()
    assert [e["data"]["n"] for e in theirs["data"]] == [-1]


async def test_caught_up_poller_keeps_a_cursor(client: httpx.AsyncClient, tenant: Tenant) -> None:
    empty = (await client.get("/v1/events", headers=tenant.headers)).json()
    assert empty == {"data": [], "next_cursor": None}


async def _poll(
    client: httpx.AsyncClient, tenant: Tenant, cursor: str | None
) -> tuple[list[int], str | None]:
    params = {"cursor": cursor} if cursor else {}
    page = (await client.get("/v1/events", params=params, headers=tenant.headers)).json()
    return [e["data"]["n"] for e in page["data"]], page["next_cursor"] or cursor


async def test_poller_never_misses_an_event_committed_out_of_order(committed_db: Database) -> None:
    """Transaction A writes event 1 first but commits after B's event 2 has been read."""
    tenant = await make_tenant(committed_db)
    app = create_app(make_settings(), database=committed_db, clock=FrozenClock(T0))
    seen: list[int] = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        async with committed_db.sessionmaker() as tx_a, committed_db.sessionmaker() as tx_b:
            await tx_a.begin()
            await record_event(tx_a, tenant.id, "contact.created", {"n": 1}, at=T0)
            await tx_b.begin()
            await record_event(tx_b, tenant.id, "contact.created", {"n": 2}, at=T0)
            await tx_b.commit()

            got, cursor = await _poll(c, tenant, None)
            seen += got
            assert 2 not in seen, "B's event must wait until the older transaction A finishes"

            await tx_a.commit()
        # Visibility waits for every older transaction on the server (other tests' too),
        # so poll the way a client does, until a deadline.
        deadline = time.monotonic() + 30
        while len(seen) < 2 and time.monotonic() < deadline:
            got, cursor = await _poll(c, tenant, cursor)
            seen += got
            if len(seen) < 2:
                await asyncio.sleep(0.05)
    assert sorted(seen) == [1, 2]
    assert len(seen) == len(set(seen))


async def _until_waiting_on_a_lock(database: Database, backend: int) -> None:
    """Return once PostgreSQL backend ``backend`` is blocked on a lock (asked from another)."""
    async with database.sessionmaker() as observer:
        for _ in range(1000):
            waiting = (
                await observer.execute(
                    text("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = :p"),
                    {"p": backend},
                )
            ).scalar_one_or_none()
            await observer.rollback()
            if waiting:
                return
            await asyncio.sleep(0.01)
    raise AssertionError("the recording transaction never waited on the endpoint's row lock")


async def test_an_event_recorded_while_its_endpoint_is_deleted_still_commits(
    committed_db: Database,
) -> None:
    """The fan-out must not fail a write because a webhook endpoint went away under it.

    Transaction B records an event while A has deleted the only endpoint but not yet
    committed. Without locking the endpoint rows it reads, B's snapshot still sees the
    endpoint, its delivery row then fails the foreign key once A commits, and an unrelated
    write (a contact, a referral) would fail with it. With the lock, B waits for A and
    skips the deleted endpoint.
    """
    tenant = await make_tenant(committed_db)
    endpoint_id = uuid.uuid4()
    async with committed_db.sessionmaker() as setup, setup.begin():
        await setup.execute(
            text(
                "INSERT INTO webhook_endpoints (workspace_id, id, url, description, event_types,"
                " enabled, secret, version, created_at, updated_at) VALUES (:w, :id,"
                " 'https://hooks.example.com/x', '', '{}', true, 'whsec_test', 1, :at, :at)"
            ),
            {"w": tenant.id, "id": endpoint_id, "at": T0},
        )
    async with committed_db.sessionmaker() as tx_a, committed_db.sessionmaker() as tx_b:
        await tx_a.begin()
        await tx_b.begin()
        backend = (await tx_b.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        await tx_a.execute(
            text("DELETE FROM webhook_endpoints WHERE id = :id"), {"id": endpoint_id}
        )
        recording = asyncio.create_task(
            record_event(tx_b, tenant.id, "contact.created", {"n": 1}, at=T0)
        )
        await _until_waiting_on_a_lock(committed_db, backend)
        await tx_a.commit()
        await asyncio.wait_for(recording, timeout=10)
        await tx_b.commit()
    async with committed_db.sessionmaker() as check:
        events = await count_events(check, tenant.id)
        deliveries = (
            await check.execute(
                text("SELECT count(*) FROM webhook_deliveries WHERE workspace_id = :w"),
                {"w": tenant.id},
            )
        ).scalar_one()
    assert (events, deliveries) == (1, 0)
