"""Who signs a touch: the contact's owner, else the workspace's default sender, never
nobody. And templates that print what some contacts lack are saved with a warning."""

from __future__ import annotations

from typing import Any

import httpx

from app.clock import FrozenClock
from app.config import Settings
from app.db import Database
from app.services.touches.jobs import emit_touches
from tests.conftest import T0, Tenant
from tests.test_touch_emit import events_of

GRANTED = {c: {"status": "granted"} for c in ("email", "sms", "call", "mail")}


async def _post(client: httpx.AsyncClient, tenant: Tenant, url: str, body: Any) -> Any:
    r = await client.post(url, json=body, headers=tenant.headers)
    assert r.status_code == 201, r.text
    return r.json()


async def _plan(client: httpx.AsyncClient, tenant: Tenant, key: str) -> str:
    r = await client.get("/v1/touch-plans", params={"limit": 50}, headers=tenant.headers)
    return str(next(p["id"] for p in r.json()["data"] if p["builtin_key"] == key))


async def _member(client: httpx.AsyncClient, tenant: Tenant, name: str) -> str:
    body = {"name": name, "email": f"{name.lower()}@example.com"}
    return str((await _post(client, tenant, "/v1/members", body))["id"])


async def _default_sender(client: httpx.AsyncClient, tenant: Tenant, member_id: Any) -> Any:
    return await client.patch(
        "/v1/workspace", json={"default_sender_member_id": member_id}, headers=tenant.headers
    )


async def test_a_plan_naming_the_member_is_refused_for_a_contact_nobody_signs_for(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact = await _post(client, tenant, "/v1/contacts", {"first_name": "Ana"})
    body = {"plan_id": await _plan(client, tenant, "8x8"), "contact_id": contact["id"]}
    r = await client.post("/v1/enrollments", json=body, headers=tenant.headers)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert [e["loc"] for e in r.json()["errors"]] == [
        ["body", "contact_id"],
        ["workspace", "default_sender_member_id"],
    ]


async def test_the_default_sender_signs_touches_of_contacts_without_an_owner(
    client: httpx.AsyncClient,
    db: Database,
    tenant: Tenant,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    dana = await _member(client, tenant, "Dana")
    r = await _default_sender(client, tenant, dana)
    assert r.status_code == 200, r.text
    assert r.json()["default_sender_member_id"] == dana
    body = {"first_name": "Ana", "emails": [{"address": "ana@example.com"}], "consent": GRANTED}
    contact = await _post(client, tenant, "/v1/contacts", body)
    enrol = {"plan_id": await _plan(client, tenant, "8x8"), "contact_id": contact["id"]}
    await _post(client, tenant, "/v1/enrollments", enrol)
    assert await emit_touches(db, clock, settings) == 1  # week 1: the card, a task
    (task,) = await events_of(db, tenant.id, "task.due")
    assert task["assignee"]["id"] == dana
    assert "or call Dana: we will take great care" in task["body"]
    assert "call :" not in task["body"]


async def test_the_default_sender_must_be_a_member_of_the_workspace(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = await _member(client, other_tenant, "Theirs")
    for member_id in (theirs, "00000000-0000-4000-8000-000000000000"):
        r = await _default_sender(client, tenant, member_id)
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "default_sender_member_id"]
    ours = await _member(client, tenant, "Ours")
    assert (await _default_sender(client, tenant, ours)).status_code == 200
    r = await _default_sender(client, tenant, None)
    assert (r.status_code, r.json()["default_sender_member_id"]) == (200, None)


async def test_deleting_the_default_sender_clears_the_setting(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    dana = await _member(client, tenant, "Dana")
    assert (await _default_sender(client, tenant, dana)).status_code == 200
    r = await client.delete(f"/v1/members/{dana}", headers=tenant.headers)
    assert r.status_code == 204, r.text
    r = await client.get("/v1/workspace", headers=tenant.headers)
    assert r.json()["default_sender_member_id"] is None


async def test_bulk_enrolment_leaves_out_and_counts_contacts_nobody_signs_for(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    owner = await _member(client, tenant, "Lee")
    for name, owner_id in (("Ana", owner), ("Bo", None), ("Cy", None)):
        await _post(
            client,
            tenant,
            "/v1/contacts",
            {"first_name": name, "tags": ["x"], "owner_id": owner_id},
        )
    body = {"plan_id": await _plan(client, tenant, "8x8"), "tags": ["x"]}
    r = await client.post("/v1/enrollments/bulk", json=body, headers=tenant.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["enrolled"], r.json()["skipped"]) == (1, 2)


def _plan_body(subject: str, body: str, reminder: str = "Refer a friend.") -> dict[str, Any]:
    step = {
        "channel": "email",
        "content_kind": "newsletter",
        "mode": "automated",
        "subject_template": subject,
        "body_template": body,
        "timing": {"kind": "after_enrollment", "days": 0},
    }
    return {"name": "Lint", "referral_reminder": reminder, "steps": [step]}


async def test_a_template_printing_an_emptyable_field_is_saved_with_a_warning(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = _plan_body(
        "Hi {{ contact.first_name }}",
        "{% if contact.company %}{{ contact.company }}{% endif %} "
        "{{ contact.job_title | default('') }} {{ contact.first_name or contact.name }} "
        "{{ contact.address.city }}",
        reminder="Call {{ member.name }}",
    )
    plan = await _post(client, tenant, "/v1/touch-plans", body)
    assert [(w["loc"], w["variable"]) for w in plan["warnings"]] == [
        (["steps", 0, "subject_template"], "contact.first_name"),
        (["steps", 0, "body_template"], "contact.address.city"),
    ]
    assert plan["needs_sender"] is True
    got = await client.get(f"/v1/touch-plans/{plan['id']}", headers=tenant.headers)
    assert got.json()["warnings"] == plan["warnings"]
    r = await client.patch(
        f"/v1/touch-plans/{plan['id']}",
        json={"steps": [_plan_body("Hello", "Hello")["steps"][0]], "referral_reminder": "Hi"},
        headers={**tenant.headers, "If-Match": got.headers["etag"]},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["warnings"], r.json()["needs_sender"]) == ([], False)


async def test_a_plan_without_the_member_enrols_a_contact_nobody_signs_for(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    plan = await _post(client, tenant, "/v1/touch-plans", _plan_body("Hi", "Hello"))
    assert plan["needs_sender"] is False
    contact = await _post(client, tenant, "/v1/contacts", {"first_name": "Ana"})
    body = {"plan_id": plan["id"], "contact_id": contact["id"], "start_date": str(T0.date())}
    await _post(client, tenant, "/v1/enrollments", body)


async def test_the_built_in_plans_print_nothing_a_contact_may_lack(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    r = await client.get("/v1/touch-plans", params={"limit": 50}, headers=tenant.headers)
    plans = {p["builtin_key"]: p for p in r.json()["data"]}
    assert sorted(plans) == ["12_direct", "33_touch", "8x8", "advocate_appreciation"]
    assert {key: p["warnings"] for key, p in plans.items()} == {key: [] for key in plans}
    assert {key: p["needs_sender"] for key, p in plans.items()} == dict.fromkeys(plans, True)
