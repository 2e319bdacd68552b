"""Workspaces share the dispatcher: claims share each batch out by workspace, and a round
gives each free connection to the URL with the fewest attempts in flight, so one
workspace's backlog or stuck receiver does not hold the others' deliveries back."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from app.db import Database
from app.services.webhooks.bookkeeping import claim
from tests.conftest import make_tenant
from tests.webhook_helpers import Harness, harness, queue_events, register_endpoint
from tests.webhook_receiver import Answer, Received, Receiver, running


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


@contextmanager
def _stuck() -> Iterator[tuple[Receiver, threading.Event]]:
    """A receiver that answers nothing until the event is set (at the latest on exit)."""
    release = threading.Event()

    def answer(_: Received) -> Answer:
        release.wait(timeout=30)
        return 200, {}, b"late"

    with running(answer) as receiver:
        try:
            yield receiver, release
        finally:
            release.set()


async def _round_while_stuck(h: Harness, release: threading.Event, seen: Callable[[], bool]) -> int:
    """Run a round, check ``seen`` (in a thread: it may wait) while the stuck receiver
    holds its attempts, then let them end; the round's count of deliveries."""
    sending = asyncio.create_task(h.dispatcher.run_once())
    try:
        assert await asyncio.to_thread(seen)
    finally:
        release.set()
    return await sending


async def test_a_receiver_that_does_not_answer_does_not_hold_the_others_back(
    db: Database,
) -> None:
    """Its deliveries wait for their URL's turn; another workspace's go out meanwhile."""
    arrived = threading.Event()

    def fast(_: Received) -> Answer:
        arrived.set()
        return 200, {}, b"ok"

    stuck_tenant, other = await make_tenant(db, "Stuck"), await make_tenant(db, "Other")
    with _stuck() as (slow, release), running(fast) as quick:
        async with harness(db, resolver=_local, webhook_concurrency=8) as h:
            await h.endpoint(stuck_tenant, slow.url)
            await h.endpoint(other, quick.url)
            await h.emit(stuck_tenant, *["touch.due"] * 30)
            await h.emit(other, "touch.due")
            assert await _round_while_stuck(h, release, lambda: arrived.wait(20)) == 31
    assert len(slow.received) == 30


async def test_a_round_for_one_url_alone_keeps_every_connection(db: Database) -> None:
    """One integration taking every event is not slowed down by the sharing."""
    tenant = await make_tenant(db, "Alone")
    with _stuck() as (slow, release):
        async with harness(db, resolver=_local, webhook_concurrency=8) as h:
            await h.endpoint(tenant, slow.url)
            await h.emit(tenant, *["touch.due"] * 20)
            at_once = await _round_while_stuck(  # 8 attempts in flight together
                h, release, lambda: len(slow.wait_for_distinct(8, 20)) == 8
            )
            assert at_once == 20
    assert len(slow.received) == 20


async def test_a_busy_receiver_keeps_going_beside_a_stuck_one(db: Database) -> None:
    """Every connection the busy one frees goes back to it while it has work waiting."""
    stuck_tenant, busy = await make_tenant(db, "Stuck"), await make_tenant(db, "Busy")
    with _stuck() as (slow, release), running() as quick:
        async with harness(db, resolver=_local, webhook_concurrency=8) as h:
            await h.endpoint(stuck_tenant, slow.url)
            await h.endpoint(busy, quick.url)
            await h.emit(stuck_tenant, *["touch.due"] * 30)
            await h.emit(busy, *["touch.due"] * 40)
            # all 40 while the stuck one still holds its connections
            sent = await _round_while_stuck(
                h, release, lambda: len(quick.wait_for_distinct(40, 20)) == 40
            )
            assert sent == 70
