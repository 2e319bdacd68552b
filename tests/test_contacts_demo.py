"""The demo data of `make run` has contacts of every segment, some losing touch."""

from __future__ import annotations

from collections import Counter

import httpx

from app.db import Database
from app.demo import demo_agent_session
from app.demo.contacts import seed_contacts
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
