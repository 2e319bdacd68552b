"""A task announced ahead (``task.assigned``) is withdrawn (``task.cancelled``) whenever it
will not fall due after all, and only then: a to-do list fed by ``task.*`` stays true."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import httpx

from app.clock import FrozenClock
from app.config import Settings
from app.db import Database
from app.services.touches.jobs import emit_touches
from tests.conftest import T0, Tenant
from tests.test_touch_emit import events_of

GRANTED = {c: {"status": "granted"} for c in ("email", "sms", "call", "mail")}
CALL = {
    "channel": "call",
    "content_kind": "call",
    "mode": "manual",
    "body_template": "Call {{ contact.name }}",
}


def _calls(*days: int) -> dict[str, Any]:
    steps = [{**CALL, "timing": {"kind": "after_enrollment", "days": d}} for d in days]
    return {"name": "Calls", "referral_reminder": "Refer a friend.", "steps": steps}


async def _setup(
    client: httpx.AsyncClient, tenant: Tenant, *days: int
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A contact enrolled today in a plan of manual calls on the given days."""
    r = await client.post("/v1/touch-plans", json=_calls(*days), headers=tenant.headers)
    assert r.status_code == 201, r.text
    plan = r.json()
    body = {"first_name": "Ana", "consent": GRANTED}
    contact = (await client.post("/v1/contacts", json=body, headers=tenant.headers)).json()
    body = {"plan_id": plan["id"], "contact_id": contact["id"]}
    r = await client.post("/v1/enrollments", json=body, headers=tenant.headers)
    assert r.status_code == 201, r.text
    return plan, contact, r.json()


async def _reasons(db: Database, tenant: Tenant) -> Counter[str]:
    return Counter(e["reason"] for e in await events_of(db, tenant.id, "task.cancelled"))


async def test_pausing_withdraws_the_tasks_and_resuming_assigns_new_ones(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    _, _, enrolment = await _setup(client, tenant, 7, 14)
    assigned = await events_of(db, tenant.id, "task.assigned")
    assert len(assigned) == 2
    url = f"/v1/enrollments/{enrolment['id']}"
    assert (await client.post(f"{url}/pause", headers=tenant.headers)).status_code == 200
    withdrawn = await events_of(db, tenant.id, "task.cancelled")
    assert sorted(e["id"] for e in withdrawn) == sorted(e["id"] for e in assigned)
    assert {e["reason"] for e in withdrawn} == {"enrollment_paused"}
    assert (await client.post(f"{url}/resume", headers=tenant.headers)).status_code == 200
    again = await events_of(db, tenant.id, "task.assigned")
    assert len(again) == 4  # two new tasks, new ids
    assert (await client.post(f"{url}/cancel", headers=tenant.headers)).status_code == 200
    assert await _reasons(db, tenant) == {"enrollment_paused": 2, "enrollment_cancelled": 2}


async def test_a_plan_edit_withdraws_only_the_tasks_of_a_removed_step(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    plan, _, _ = await _setup(client, tenant, 7, 14)
    url = f"/v1/touch-plans/{plan['id']}"
    etag = (await client.get(url, headers=tenant.headers)).headers["etag"]
    kept = {k: v for k, v in plan["steps"][0].items() if k != "position"}  # same id
    r = await client.patch(
        url, json={"steps": [kept]}, headers={**tenant.headers, "If-Match": etag}
    )
    assert r.status_code == 200, r.text
    assigned = {
        e["step"]["position"]: e["id"] for e in await events_of(db, tenant.id, "task.assigned")
    }
    (withdrawn,) = await events_of(db, tenant.id, "task.cancelled")
    assert (withdrawn["id"], withdrawn["reason"]) == (assigned[1], "replanned")
    touches = await client.get("/v1/touches", params={"limit": 50}, headers=tenant.headers)
    assert [t["id"] for t in touches.json()["data"]] == [assigned[0]]  # kept its id


async def test_do_not_contact_and_staleness_withdraw_tasks(
    client: httpx.AsyncClient,
    db: Database,
    tenant: Tenant,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    _, contact, _ = await _setup(client, tenant, 1)
    _, other, _ = await _setup(client, tenant, 1)
    r = await client.patch(
        f"/v1/contacts/{contact['id']}", json={"do_not_contact": True}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    clock.set(T0 + timedelta(days=10))  # the scheduler was down past the other's validity
    await emit_touches(db, clock, settings)
    withdrawn = {
        e["contact_id"]: e["reason"] for e in await events_of(db, tenant.id, "task.cancelled")
    }
    assert withdrawn == {contact["id"]: "do_not_contact", other["id"]: "stale"}
    assert await events_of(db, tenant.id, "task.due") == []
