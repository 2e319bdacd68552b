"""The demo data of `make run` has contacts of every segment, some losing touch."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import httpx
from sqlalchemy import select

from app.db import Database
from app.demo import demo_agent_session, seed_team
from app.demo.contacts import seed_contacts
from app.demo.touches import seed_touches
from app.models.platform import MemberCreate
from app.models.platform.event import Event
from app.services import platform
from app.services.touches.emit import emit_due_touches
from tests.conftest import T0, Tenant, make_settings


async def test_demo_contacts_cover_every_segment(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    async with db.transaction() as session:
        await seed_contacts(session, tenant.id, at=T0)
    listed = await client.get("/v1/contacts", params={"limit": 200}, headers=tenant.headers)
    segments = Counter(c["segment"] for c in listed.json()["data"])
    assert set(segments) == {"prospect", "client", "advocate", "core_advocate", "allied_resource"}
    losing = await client.get(
        "/v1/contacts",
        params={"engaged_before": "2026-08-25T00:00:00Z"},
        headers=tenant.headers,
    )
    assert len(losing.json()["data"]) >= 3
    first = listed.json()["data"][0]["id"]
    observances = await client.get(f"/v1/contacts/{first}/observances", headers=tenant.headers)
    assert len(observances.json()["data"]) == 1


async def test_make_run_prints_a_working_session_for_the_demos_agent(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    body = {"name": "Sam Ortega", "email": "sam@demo.example", "role": "agent"}
    created = await client.post("/v1/members", json=body, headers=tenant.headers)
    assert created.status_code == 201, created.text
    name, token, expires_at = await demo_agent_session(db, tenant.id, make_settings(), at=T0)
    assert name == "Sam Ortega"
    assert expires_at > T0
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    assert me.json()["member"]["id"] == created.json()["id"]


async def test_the_demos_scheduler_has_something_to_send_at_once(
    tenant: Tenant, db: Database
) -> None:
    """Prospects on the 8x8 from eight days back: week 2's e-mail, due yesterday, goes out
    at the next send window (10:00 in Los Angeles here); week 1's card is skipped."""
    async with db.transaction() as session:
        for n in range(2):
            body = MemberCreate(name=f"M{n}", email=f"m{n}@demo.example")
            await platform.create_member(session, tenant.id, body, at=T0)
        await seed_contacts(session, tenant.id, at=T0)
        await seed_touches(session, tenant.id, at=T0)
        assert await emit_due_touches(session, at=T0 + timedelta(hours=6)) > 0
        events = await session.execute(
            select(Event.type, Event.data).where(Event.workspace_id == tenant.id)
        )
        kinds = Counter((t, d.get("reason")) for t, d in events.all())
    assert kinds[("touch.due", None)] == 2  # the two prospects' e-mails
    assert kinds[("touch.skipped", "no_consent")] == 2  # the cards: e-mail consent only


async def test_the_demos_agent_opens_an_agenda_with_something_on_it(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    """``make run`` prints the agent's session: their agenda, the first screen a front end
    builds, shows a lapsed advocate, a core advocate about to lapse, a client's birthday in
    three days and today's referral to thank its referrer for."""
    async with db.transaction() as session:
        await seed_team(session, tenant.id, at=T0)
    _name, token, _expires = await demo_agent_session(db, tenant.id, make_settings(), at=T0)
    got = await client.get("/v1/me/agenda", headers={"Authorization": f"Bearer {token}"})
    assert got.status_code == 200, got.text
    items = got.json()["items"]
    seen = {(i["kind"], i["contact"]["name"]) for i in items}
    assert {
        ("reconnect", "Lucas Novak"),
        ("reconnect", "Henry Duval"),
        ("observance", "James Walsh"),
        ("thank", "Maria Santos"),
    } <= seen, items
