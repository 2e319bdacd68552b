"""Suggested advocacy stages: the documented rules, manual overrides, history and events."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import select

from app.clock import FrozenClock
from app.db import Database
from app.models.contacts.tables import Contact
from app.models.platform.event import Event
from app.models.scores.tables import ContactStageHistory
from tests import score_fixtures as f
from tests.conftest import T0, Tenant

DAY = timedelta(days=1)


async def _stage_events(db: Database, ws: uuid.UUID) -> list[dict[str, object]]:
    async with db.transaction() as s:
        stmt = (
            select(Event.data)
            .where(Event.workspace_id == ws, Event.type == "contact.stage_changed")
            .order_by(Event.id)
        )
        return list((await s.execute(stmt)).scalars().all())


async def _stages(db: Database, ids: dict[str, uuid.UUID]) -> dict[str, str]:
    async with db.transaction() as s:
        rows = await s.execute(select(Contact.id, Contact.advocacy_stage))
        by_id = {r[0]: r[1] for r in rows.all()}
    return {name: by_id[cid] for name, cid in ids.items()}


async def _population(db: Database, ws: uuid.UUID) -> dict[str, uuid.UUID]:
    """One contact per rule, engaged recently enough not to lapse unless stated."""
    ids: dict[str, uuid.UUID] = {}
    async with db.transaction() as s:

        async def person(name: str, engaged: int = 1, **extra: object) -> uuid.UUID:
            ids[name] = await f.contact(
                s, ws, name, created_at=T0 - 900 * DAY, last_engaged_at=T0 - engaged * DAY, **extra
            )
            return ids[name]

        await person("seeker")
        outbound = await person("outbound_only")
        for k in range(3):
            await f.interaction(s, ws, outbound, T0 - k * DAY, direction="outbound")
        engaged = await person("engaged")
        await f.interaction(s, ws, engaged, T0 - 10 * DAY, direction="two_way")
        act = await f.activity(s, ws, "Roundtable", (T0 - 40 * DAY).date())
        await f.attend(s, ws, act, engaged, T0 - 40 * DAY)
        stale = await person("engaged_long_ago")
        for k in range(2):
            await f.interaction(s, ws, stale, T0 - (400 + k) * DAY)
        advocate = await person("advocate")
        await f.referral(s, ws, source=advocate, received_at=T0 - 700 * DAY)
        core = await person("core")
        for k in range(3):
            await f.referral(s, ws, source=core, received_at=T0 - (30 + 90 * k) * DAY)
        almost = await person("two_this_year")
        for k in range(2):
            await f.referral(s, ws, source=almost, received_at=T0 - (30 + 90 * k) * DAY)
        lapsed_core = await person("lapsed_core", engaged=100, lapsed_at=T0 - 5 * DAY)
        for k in range(3):
            await f.referral(s, ws, source=lapsed_core, received_at=T0 - (30 + 60 * k) * DAY)
        pinned = await person("pinned", advocacy_stage_manual=True)
        for k in range(3):
            await f.referral(s, ws, source=pinned, received_at=T0 - (30 + 60 * k) * DAY)
    return ids


async def test_suggested_stages_follow_the_documented_rules(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    ids = await _population(db, tenant.id)
    r = await client.post("/v1/scores/recompute", headers=tenant.headers)
    assert r.json()["stages_changed"] == 5
    assert await _stages(db, ids) == {
        "seeker": "seeker",
        "outbound_only": "seeker",  # outbound touches are not engagement
        "engaged": "engaged",  # one two-way interaction + one event attended
        "engaged_long_ago": "seeker",  # outside 12 months
        "advocate": "advocate",  # one referral, ever
        "core": "core_advocate",  # 3 referrals in 12 months
        "two_this_year": "advocate",  # below the core threshold of 3
        "lapsed_core": "advocate",  # a lapse lowers the suggestion one stage
        "pinned": "seeker",  # set by hand: never overridden
    }
    events = await _stage_events(db, tenant.id)
    assert len(events) == 5
    assert {
        "id": str(ids["core"]),
        "from_stage": "seeker",
        "to_stage": "core_advocate",
    }.items() <= (next(e for e in events if e["id"] == str(ids["core"])).items())
    async with db.transaction() as s:
        history = (await s.execute(select(ContactStageHistory))).scalars().all()
    assert {h.source for h in history} == {"suggested"}
    assert len(history) == 5

    # Nothing changes the second time: no events, no history.
    r = await client.post("/v1/scores/recompute", headers=tenant.headers)
    assert r.json()["stages_changed"] == 0
    assert len(await _stage_events(db, tenant.id)) == 5


async def test_advocacy_answer_explains_the_suggestion(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    ids = await _population(db, tenant.id)
    body = (
        await client.get(f"/v1/contacts/{ids['pinned']}/advocacy", headers=tenant.headers)
    ).json()
    assert body["stage"] == "seeker"
    assert body["manual"] is True
    assert body["suggested_stage"] == "core_advocate"
    assert body["facts"] == {
        "referrals_12_months": 3,
        "referrals_ever": 3,
        "engagements_12_months": 0,
        "lapsed": False,
        "core_advocate_referrals": 3,
    }
    assert "3 referrals in 12 months" in body["reason"]
    lapsed = (
        await client.get(f"/v1/contacts/{ids['lapsed_core']}/advocacy", headers=tenant.headers)
    ).json()
    assert lapsed["suggested_stage"] == "advocate"
    assert "lapsed" in lapsed["reason"]


async def test_manual_stage_is_kept_until_the_override_is_cleared(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, clock: FrozenClock
) -> None:
    ids = await _population(db, tenant.id)
    core = ids["core"]
    r = await client.put(
        f"/v1/contacts/{core}/advocacy", json={"stage": "engaged"}, headers=tenant.headers
    )
    assert r.status_code == 200
    assert (r.json()["stage"], r.json()["manual"]) == ("engaged", True)
    await client.post("/v1/scores/recompute", headers=tenant.headers)
    assert (await _stages(db, {"core": core}))["core"] == "engaged"

    clock.advance(timedelta(hours=1))
    r = await client.delete(f"/v1/contacts/{core}/advocacy/override", headers=tenant.headers)
    assert (r.json()["stage"], r.json()["manual"]) == ("core_advocate", False)

    history = (
        await client.get(f"/v1/contacts/{core}/advocacy/history", headers=tenant.headers)
    ).json()["data"]
    assert [(h["from_stage"], h["to_stage"], h["source"]) for h in history] == [
        ("seeker", "engaged", "manual"),
        ("engaged", "core_advocate", "suggested"),
    ]
    events = [e for e in await _stage_events(db, tenant.id) if e["id"] == str(core)]
    assert [e["source"] for e in events] == ["manual", "suggested"]


async def test_core_advocate_threshold_is_a_setting(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    ids = await _population(db, tenant.id)
    r = await client.patch(
        "/v1/analytics/settings", json={"core_advocate_referrals": 2}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    await client.post("/v1/scores/recompute", headers=tenant.headers)
    assert (await _stages(db, {"x": ids["two_this_year"]}))["x"] == "core_advocate"


async def test_advocacy_is_tenant_isolated(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    ids = await _population(db, tenant.id)
    core = ids["core"]
    h = other_tenant.headers
    assert (await client.get(f"/v1/contacts/{core}/advocacy", headers=h)).status_code == 404
    put = await client.put(f"/v1/contacts/{core}/advocacy", json={"stage": "seeker"}, headers=h)
    assert put.status_code == 404
    assert (
        await client.delete(f"/v1/contacts/{core}/advocacy/override", headers=h)
    ).status_code == 404
    assert (await client.get(f"/v1/contacts/{core}/advocacy/history", headers=h)).status_code == 404
    # The other workspace's recompute sees none of these contacts.
    assert (await client.post("/v1/scores/recompute", headers=h)).json()["stages_changed"] == 0


async def test_unknown_stage_is_refused(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    ids = await _population(db, tenant.id)
    r = await client.put(
        f"/v1/contacts/{ids['core']}/advocacy", json={"stage": "fan"}, headers=tenant.headers
    )
    assert r.status_code == 422
