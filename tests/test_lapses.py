"""Lapses fire once per lapse, across concurrent sessions, and again only after re-engagement."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
from sqlalchemy import select

from app.db import Database
from app.models.contacts.tables import Contact
from app.models.platform.event import Event
from app.services.contacts.interactions import mark_engaged
from app.services.scores.lapses import mark_lapses
from tests import score_fixtures as f
from tests.conftest import T0, Tenant, make_tenant

DAY = timedelta(days=1)


async def _lapse_events(db: Database, ws: uuid.UUID) -> list[dict[str, object]]:
    async with db.transaction() as s:
        stmt = select(Event.data).where(Event.workspace_id == ws, Event.type == "contact.lapsed")
        return list((await s.execute(stmt)).scalars().all())


async def test_lapse_fires_once_across_concurrent_sessions_and_again_after_new_engagement(
    committed_db: Database,
) -> None:
    tenant = await make_tenant(committed_db)
    async with committed_db.transaction() as s:
        drifting = await f.contact(s, tenant.id, "Drifting", created_at=T0 - 200 * DAY)
        await mark_engaged(s, tenant.id, [drifting], T0 - 91 * DAY, at=T0 - 91 * DAY)
        fresh = await f.contact(s, tenant.id, "Fresh", created_at=T0 - 10 * DAY)

    # Session A marks the lapse and keeps its transaction open; session B runs meanwhile.
    async with committed_db.transaction() as a:
        assert await mark_lapses(a, tenant.id, at=T0) == (1, 0)
        async with committed_db.transaction() as b:
            assert await mark_lapses(b, tenant.id, at=T0) == (0, 0)  # skipped, not waited
    async with committed_db.transaction() as b:
        assert await mark_lapses(b, tenant.id, at=T0 + DAY) == (0, 0)  # already lapsed

    # Both replicas at once, from scratch on another contact.
    async with committed_db.transaction() as s:
        other = await f.contact(s, tenant.id, "Other", created_at=T0 - 120 * DAY)

    async def run() -> tuple[int, int]:
        async with committed_db.transaction() as s:
            return await mark_lapses(s, tenant.id, at=T0 + DAY)

    results = await asyncio.gather(run(), run(), run())
    assert sorted(r[0] for r in results) == [0, 0, 1]

    events = await _lapse_events(committed_db, tenant.id)
    assert sorted(e["id"] for e in events) == sorted([str(drifting), str(other)])
    first = next(e for e in events if e["id"] == str(drifting))
    assert first["lapse_threshold_days"] == 90
    assert first["last_engaged_at"] == (T0 - 91 * DAY).isoformat().replace("+00:00", "Z")

    # A new engagement ends the lapse; only a new lapse 90+ days later fires again.
    later = T0 + 10 * DAY
    async with committed_db.transaction() as s:
        await mark_engaged(s, tenant.id, [drifting, fresh, other], later, at=later)
    async with committed_db.transaction() as s:
        lapsed_at = await s.scalar(select(Contact.lapsed_at).where(Contact.id == drifting))
        assert lapsed_at is None
        assert await mark_lapses(s, tenant.id, at=later + 89 * DAY) == (0, 0)
    async with committed_db.transaction() as s:
        assert await mark_lapses(s, tenant.id, at=later + 91 * DAY) == (3, 0)
    events = await _lapse_events(committed_db, tenant.id)
    assert [e["id"] for e in events].count(str(drifting)) == 2
    assert [e["id"] for e in events].count(str(fresh)) == 1


async def test_recompute_marks_lapses_and_losing_touch_lists_longest_first(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    async with db.transaction() as s:
        ws = tenant.id
        never = await f.contact(s, ws, "Never", created_at=T0 - 30 * DAY)
        old = await f.contact(
            s, ws, "Old", created_at=T0 - 400 * DAY, last_engaged_at=T0 - 120 * DAY
        )
        recent = await f.contact(
            s, ws, "Recent", created_at=T0 - 400 * DAY, last_engaged_at=T0 - DAY
        )
        mid = await f.contact(
            s, ws, "Mid", created_at=T0 - 400 * DAY, last_engaged_at=T0 - 60 * DAY
        )
    r = await client.post("/v1/scores/recompute", headers=tenant.headers)
    assert r.json()["lapsed"] == 1

    seen: list[dict[str, object]] = []
    cursor = None
    while True:
        url = "/v1/analytics/losing-touch?limit=1" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(url, headers=tenant.headers)).json()
        seen += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # Never engaged first (whatever its age), then by last engagement, oldest first.
    assert [x["contact_id"] for x in seen] == [str(c) for c in (never, old, mid, recent)]
    assert [x["days_since_engagement"] for x in seen] == [30, 120, 60, 1]
    assert [x["lapsed"] for x in seen] == [False, True, False, False]

    lapsed_only = await client.get("/v1/analytics/losing-touch?lapsed=true", headers=tenant.headers)
    assert [x["contact_id"] for x in lapsed_only.json()["data"]] == [str(old)]


async def test_a_longer_threshold_ends_lapses_that_no_longer_hold(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    async with db.transaction() as s:
        await f.contact(
            s, tenant.id, "Old", created_at=T0 - 400 * DAY, last_engaged_at=T0 - 120 * DAY
        )
    assert (await client.post("/v1/scores/recompute", headers=tenant.headers)).json()["lapsed"] == 1
    await client.patch("/v1/workspace", json={"lapse_threshold_days": 180}, headers=tenant.headers)
    body = (await client.post("/v1/scores/recompute", headers=tenant.headers)).json()
    assert (body["lapsed"], body["recovered"]) == (0, 1)


async def test_losing_touch_is_tenant_isolated(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    async with db.transaction() as s:
        await f.contact(s, tenant.id, "Mine")
    page = await client.get("/v1/analytics/losing-touch", headers=other_tenant.headers)
    assert page.json() == {"data": [], "next_cursor": None}


async def test_an_empty_workspace_has_no_lapses_and_no_events(db: Database, tenant: Tenant) -> None:
    async with db.transaction() as s:
        assert await mark_lapses(s, tenant.id, at=T0) == (0, 0)
    assert await _lapse_events(db, tenant.id) == []
