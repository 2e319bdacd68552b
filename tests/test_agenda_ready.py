"""``agenda.ready``: once per active member per local morning, with two replicas ticking
together, carrying the member's top items as the API ranks them."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import text

from app.clock import FrozenClock
from app.db import Database
from app.services.scores import agenda_ready_job
from tests import agenda_fixtures as af
from tests import score_fixtures as sf
from tests.conftest import T0, make_settings, make_tenant


async def _ready_events(db: Database) -> list[Any]:
    async with db.transaction() as s:
        rows = await s.execute(
            text("SELECT workspace_id, data FROM events WHERE type = 'agenda.ready' ORDER BY id")
        )
        return list(rows.all())


async def test_two_replicas_send_one_digest_per_member_per_morning(
    committed_db: Database, committed_url: str
) -> None:
    tenant = await make_tenant(committed_db)
    async with committed_db.transaction() as s:
        ada = await af.member(s, tenant.id, "Ada")
        bo = await af.member(s, tenant.id, "Bo")
        gone = await af.member(s, tenant.id, "Gone")
        await s.execute(text("UPDATE members SET active = false WHERE id = :id"), {"id": gone})
        carl = await sf.contact(s, tenant.id, "Carl", owner_id=ada)
        call = await af.task(s, tenant.id, carl, ada, T0 - timedelta(hours=2))
    settings = make_settings()
    clock = FrozenClock(T0.replace(hour=6, minute=59))  # UTC workspace: before 07:00
    replicas = [Database.from_url(committed_url, pool_size=2) for _ in range(2)]
    try:

        async def tick() -> int:
            sent = await asyncio.gather(*(agenda_ready_job(r, clock, settings) for r in replicas))
            return sum(sent)

        assert await tick() == 0
        clock.advance(timedelta(minutes=1))
        assert await tick() == 2
        assert await tick() == 0  # the same morning: nothing more
        clock.advance(timedelta(hours=12))
        assert await tick() == 0
        clock.advance(timedelta(hours=12))  # the next morning, 07:00
        assert await tick() == 2
    finally:
        for r in replicas:
            await r.dispose()
    events = await _ready_events(committed_db)
    per_member_day = Counter((e.data["member"]["id"], e.data["date"]) for e in events)
    assert per_member_day == {
        (str(ada), "2026-11-23"): 1,
        (str(bo), "2026-11-23"): 1,
        (str(ada), "2026-11-24"): 1,
        (str(bo), "2026-11-24"): 1,
    }
    first = events[0].data if events[0].data["member"]["id"] == str(ada) else events[1].data
    assert first["total_items"] == 1
    assert [(i["kind"], i["record_id"]) for i in first["items"]] == [("task", str(call))]


async def test_the_morning_is_the_workspaces(committed_db: Database) -> None:
    tenant = await make_tenant(committed_db)
    async with committed_db.transaction() as s:
        await af.member(s, tenant.id, "Ada")
        await s.execute(
            text("UPDATE workspaces SET time_zone = 'America/Chicago' WHERE id = :id"),
            {"id": tenant.id},
        )
    settings = make_settings()
    clock = FrozenClock(T0.replace(hour=12, minute=30))  # 06:30 in Chicago
    assert await agenda_ready_job(committed_db, clock, settings) == 0
    clock.advance(timedelta(minutes=30))
    assert await agenda_ready_job(committed_db, clock, settings) == 1
    (event,) = await _ready_events(committed_db)
    assert event.data["date"] == "2026-11-23"
    assert event.data["time_zone"] == "America/Chicago"


async def test_the_digest_ranks_top_ten_of_many(committed_db: Database) -> None:
    tenant = await make_tenant(committed_db)
    async with committed_db.transaction() as s:
        ada = await af.member(s, tenant.id, "Ada")
        for n in range(12):
            c = await sf.contact(s, tenant.id, f"C{n:02}", owner_id=ada)
            await af.task(s, tenant.id, c, ada, T0 - timedelta(hours=n + 1))
    clock = FrozenClock(T0)
    assert await agenda_ready_job(committed_db, clock, make_settings()) == 1
    (event,) = await _ready_events(committed_db)
    assert event.data["total_items"] == 12
    items = event.data["items"]
    assert len(items) == 10
    # Equal values: by due time, the most overdue first.
    assert [i["due_at"] for i in items] == sorted(i["due_at"] for i in items)


async def test_each_member_gets_theirs_at_seven_in_their_own_zone(
    committed_db: Database, committed_url: str
) -> None:
    """A UTC workspace: Kenji in Tokyo (UTC+9) is sent his at 22:00 UTC, Ada (no zone of
    her own) at 07:00 UTC; each for their own local day."""
    tenant = await make_tenant(committed_db)
    async with committed_db.transaction() as s:
        kenji = await af.member(s, tenant.id, "Kenji")
        ada = await af.member(s, tenant.id, "Ada")
        await s.execute(
            text("UPDATE members SET time_zone = 'Asia/Tokyo' WHERE id = :id"), {"id": kenji}
        )
        carl = await sf.contact(s, tenant.id, "Carl", owner_id=kenji)
        midnight = T0.replace(hour=0)  # 2026-11-23 00:00 UTC, 09:00 in Tokyo
        # 23:00 on the 23rd in Tokyo: on his day; 01:00 on the 24th there: not.
        tonight = await af.task(s, tenant.id, carl, kenji, midnight + timedelta(hours=14))
        await af.task(s, tenant.id, carl, kenji, midnight + timedelta(hours=16))
    settings = make_settings()
    clock = FrozenClock(midnight)
    replicas = [Database.from_url(committed_url, pool_size=2) for _ in range(2)]
    try:

        async def tick() -> int:
            sent = await asyncio.gather(*(agenda_ready_job(r, clock, settings) for r in replicas))
            return sum(sent)

        assert await tick() == 1  # Kenji's morning, not yet Ada's (00:00 UTC)
        assert await tick() == 0  # the same instant again: nothing
        clock.advance(timedelta(hours=6, minutes=59))
        assert await tick() == 0  # 06:59 UTC
        clock.advance(timedelta(minutes=1))
        assert await tick() == 1  # 07:00 UTC: Ada's
        clock.advance(timedelta(hours=14, minutes=59))
        assert await tick() == 0  # 21:59 UTC, 06:59 on the 24th in Tokyo
        clock.advance(timedelta(minutes=1))
        assert await tick() == 1  # Kenji's 24th
    finally:
        for r in replicas:
            await r.dispose()
    events = [e.data for e in await _ready_events(committed_db)]
    assert [(e["member"]["id"], e["date"], e["time_zone"]) for e in events] == [
        (str(kenji), "2026-11-23", "Asia/Tokyo"),
        (str(ada), "2026-11-23", "UTC"),
        (str(kenji), "2026-11-24", "Asia/Tokyo"),
    ]
    assert [i["record_id"] for i in events[0]["items"]] == [str(tonight)]
    async with committed_db.transaction() as s:
        claims = (
            await s.execute(
                text("SELECT member_id, day, sent_at FROM agenda_digests ORDER BY sent_at")
            )
        ).all()
    assert [(r.member_id, r.day.isoformat()) for r in claims] == [
        (kenji, "2026-11-23"),
        (ada, "2026-11-23"),
        (kenji, "2026-11-24"),
    ]
