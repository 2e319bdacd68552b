"""Touches follow contacts: audiences enrol on create and change, do-not-contact cancels,
an inbound reply pauses plans with pause_on_reply. Driven through the contacts API."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import T0, Tenant

GRANTED = {c: {"status": "granted"} for c in ("email", "sms", "call", "mail")}


async def enrolments(client: httpx.AsyncClient, tenant: Tenant, contact_id: str) -> list[Any]:
    r = await client.get(
        "/v1/enrollments", params={"contact_id": contact_id}, headers=tenant.headers
    )
    return list(r.json()["data"])


async def plan_ids(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, str]:
    r = await client.get("/v1/touch-plans", headers=tenant.headers)
    return {p["builtin_key"]: p["id"] for p in r.json()["data"]}


async def test_a_contact_entering_an_audience_is_enrolled_once(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    plans = await plan_ids(client, tenant)
    body = {"first_name": "Ada", "segment": "advocate", "consent": GRANTED}
    r = await client.post("/v1/contacts", json=body, headers=tenant.headers)
    assert r.status_code == 201, r.text
    contact = r.json()
    got = await enrolments(client, tenant, contact["id"])
    assert [(e["plan_id"], e["source"]) for e in got] == [(plans["advocate_appreciation"], "auto")]
    url = f"/v1/contacts/{contact['id']}"
    r = await client.patch(url, json={"tags": ["8x8"]}, headers=tenant.headers)
    assert r.status_code == 200, r.text
    assert {e["plan_id"] for e in await enrolments(client, tenant, contact["id"])} == {
        plans["advocate_appreciation"],
        plans["8x8"],
    }
    await client.patch(url, json={"tags": []}, headers=tenant.headers)
    await client.patch(url, json={"tags": ["8x8"]}, headers=tenant.headers)
    assert len(await enrolments(client, tenant, contact["id"])) == 2


async def test_do_not_contact_cancels_planned_touches(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = {"first_name": "Bo", "tags": ["8x8"], "consent": GRANTED}
    contact = (await client.post("/v1/contacts", json=body, headers=tenant.headers)).json()
    r = await client.patch(
        f"/v1/contacts/{contact['id']}", json={"do_not_contact": True}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    r = await client.get(
        "/v1/touches", params={"contact_id": contact["id"]}, headers=tenant.headers
    )
    touches = r.json()["data"]
    assert len(touches) == 8
    assert {(t["status"], t["reason"]) for t in touches} == {("cancelled", "do_not_contact")}


async def test_an_inbound_interaction_pauses_pause_on_reply_plans(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = {"first_name": "Cy", "tags": ["12-direct", "8x8"], "consent": GRANTED}
    contact = (await client.post("/v1/contacts", json=body, headers=tenant.headers)).json()
    r = await client.post(
        f"/v1/contacts/{contact['id']}/interactions",
        json={"channel": "email", "direction": "inbound", "occurred_at": T0.isoformat()},
        headers=tenant.headers,
    )
    assert r.status_code == 201, r.text
    plans = {v: k for k, v in (await plan_ids(client, tenant)).items()}
    got = {
        plans[e["plan_id"]]: e["status"] for e in await enrolments(client, tenant, contact["id"])
    }
    assert got == {"12_direct": "paused", "8x8": "active"}


async def test_planned_touches_follow_a_new_time_zone_and_new_dates(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = {"first_name": "Di", "tags": ["33-touch"], "consent": GRANTED}
    contact = (await client.post("/v1/contacts", json=body, headers=tenant.headers)).json()

    async def planned(kind: str) -> list[str]:
        r = await client.get(
            "/v1/touches",
            params={"contact_id": contact["id"], "status": "scheduled", "limit": 200},
            headers=tenant.headers,
        )
        return [t["due_at"] for t in r.json()["data"] if t["content_kind"] == kind]

    before = await planned("newsletter")
    assert before[0].endswith("T09:00:00Z")  # no zone: the workspace's (UTC)
    r = await client.patch(
        f"/v1/contacts/{contact['id']}", json={"time_zone": "Asia/Tokyo"}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    after = await planned("newsletter")
    assert len(after) == len(before)
    assert all(d.endswith("T00:00:00Z") for d in after)  # 09:00 in Tokyo

    assert await planned("observance_card") == []
    r = await client.post(
        f"/v1/contacts/{contact['id']}/observances",
        json={"kind": "birthday", "month": 1, "day": 20},
        headers=tenant.headers,
    )
    assert r.status_code == 201, r.text
    assert await planned("observance_card") == ["2027-01-15T00:00:00Z"]  # 5 days before
