"""Touches follow contacts: audiences enrol on create and change, do-not-contact holds and
its clearing resumes, consent withdrawn skips and given back re-plans, an inbound reply
pauses plans with pause_on_reply. Driven through the contacts API.

The built-in plans' templates name the member, so each workspace here has a default
sender (``signed``) unless the test is about not having one.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx

from app.clock import FrozenClock
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


async def add_member(client: httpx.AsyncClient, tenant: Tenant, name: str = "Dana") -> str:
    body = {"name": name, "email": f"{name.lower()}@example.com"}
    r = await client.post("/v1/members", json=body, headers=tenant.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def signed(client: httpx.AsyncClient, tenant: Tenant) -> str:
    """Give the workspace a default sender; returns the member's id."""
    member_id = await add_member(client, tenant)
    r = await client.patch(
        "/v1/workspace", json={"default_sender_member_id": member_id}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["default_sender_member_id"] == member_id
    return member_id


async def touches_of(client: httpx.AsyncClient, tenant: Tenant, contact_id: str) -> list[Any]:
    r = await client.get(
        "/v1/touches", params={"contact_id": contact_id, "limit": 200}, headers=tenant.headers
    )
    return list(r.json()["data"])


async def events(client: httpx.AsyncClient, tenant: Tenant, kind: str) -> list[Any]:
    r = await client.get("/v1/events", params={"types": kind, "limit": 200}, headers=tenant.headers)
    return [e["data"] for e in r.json()["data"]]


async def test_a_contact_entering_an_audience_is_enrolled_once(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    plans = await plan_ids(client, tenant)
    await signed(client, tenant)
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


async def test_without_anyone_to_sign_a_contact_enters_such_plans_once_it_has_an_owner(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = {"first_name": "Ed", "tags": ["8x8"], "consent": GRANTED}
    contact = (await client.post("/v1/contacts", json=body, headers=tenant.headers)).json()
    assert await enrolments(client, tenant, contact["id"]) == []
    owner = await add_member(client, tenant, "Lee")
    r = await client.patch(
        f"/v1/contacts/{contact['id']}", json={"owner_id": owner}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    assert len(await enrolments(client, tenant, contact["id"])) == 1


async def test_do_not_contact_skips_pending_touches_and_clearing_it_resumes_from_today(
    client: httpx.AsyncClient, tenant: Tenant, clock: FrozenClock
) -> None:
    await signed(client, tenant)
    body = {"first_name": "Bo", "tags": ["8x8"], "consent": GRANTED}
    contact = (await client.post("/v1/contacts", json=body, headers=tenant.headers)).json()
    url = f"/v1/contacts/{contact['id']}"
    r = await client.patch(url, json={"do_not_contact": True}, headers=tenant.headers)
    assert r.status_code == 200, r.text
    touches = await touches_of(client, tenant, contact["id"])
    assert len(touches) == 8
    assert {(t["status"], t["reason"]) for t in touches} == {("skipped", "do_not_contact")}
    skipped = await events(client, tenant, "touch.skipped")
    assert sorted(e["id"] for e in skipped) == sorted(t["id"] for t in touches)
    [enrolment] = await enrolments(client, tenant, contact["id"])
    assert (enrolment["status"], enrolment["reason"]) == ("paused", "do_not_contact")
    r = await client.post(f"/v1/enrollments/{enrolment['id']}/resume", headers=tenant.headers)
    assert r.status_code == 409  # not while the contact is do-not-contact

    clock.advance(timedelta(days=10))  # weeks 1 and 2 pass while held
    r = await client.patch(url, json={"do_not_contact": False}, headers=tenant.headers)
    assert r.status_code == 200, r.text
    [enrolment] = await enrolments(client, tenant, contact["id"])
    assert (enrolment["status"], enrolment["reason"]) == ("active", None)
    by_day = {
        (date.fromisoformat(t["due_at"][:10]) - T0.date()).days: t["status"]
        for t in await touches_of(client, tenant, contact["id"])
    }
    assert by_day == {
        0: "skipped", 7: "skipped", 14: "scheduled", 21: "scheduled", 28: "scheduled",
        35: "scheduled", 42: "scheduled", 49: "scheduled",
    }  # fmt: skip


async def test_consent_withdrawn_skips_the_channel_and_given_back_plans_it_again(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await signed(client, tenant)
    body = {"first_name": "Flo", "tags": ["8x8"], "consent": GRANTED}
    contact = (await client.post("/v1/contacts", json=body, headers=tenant.headers)).json()
    url = f"/v1/contacts/{contact['id']}"
    no_email = {**GRANTED, "email": {"status": "denied"}}
    r = await client.patch(url, json={"consent": no_email}, headers=tenant.headers)
    assert r.status_code == 200, r.text
    touches = await touches_of(client, tenant, contact["id"])
    assert {t["channel"]: (t["status"], t["reason"]) for t in touches} == {
        "email": ("skipped", "no_consent"),
        "card": ("scheduled", None),
        "call": ("scheduled", None),
        "gift": ("scheduled", None),
    }
    assert len(await events(client, tenant, "touch.skipped")) == 4
    [enrolment] = await enrolments(client, tenant, contact["id"])
    assert enrolment["status"] == "active"

    r = await client.patch(url, json={"consent": GRANTED}, headers=tenant.headers)
    assert r.status_code == 200, r.text
    touches = await touches_of(client, tenant, contact["id"])
    assert len(touches) == 8
    assert {t["status"] for t in touches} == {"scheduled"}


async def test_an_inbound_interaction_pauses_pause_on_reply_plans(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await signed(client, tenant)
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
    await signed(client, tenant)
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
