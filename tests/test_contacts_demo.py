"""The demo data of `make run` has contacts of every segment, some losing touch."""

from __future__ import annotations

from collections import Counter

import httpx

from app.db import Database
from app.demo.contacts import seed_contacts
from tests.conftest import T0, Tenant


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
