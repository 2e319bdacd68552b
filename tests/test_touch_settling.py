"""Outcomes and settling: each report has its event and moment; a touch nobody reports
becomes ``unconfirmed`` after the workspace's grace, so its enrolment can complete."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from app.clock import FrozenClock
from app.config import Settings
from app.db import Database
from app.services.touches.jobs import emit_touches, settle_touches
from tests.conftest import T0, Tenant
from tests.test_touch_emit import events_of
from tests.touch_fixtures import add_contact, add_member


def _two_emails() -> dict[str, Any]:
    step = {
        "channel": "email",
        "content_kind": "newsletter",
        "mode": "automated",
        "subject_template": "News",
        "timing": {"kind": "after_enrollment", "days": 0},
    }
    return {"name": "Two", "referral_reminder": "Send us a friend.", "steps": [step, step]}


async def _released(
    client: httpx.AsyncClient,
    db: Database,
    tenant: Tenant,
    clock: FrozenClock,
    settings: Settings,
) -> tuple[str, list[str]]:
    """A contact enrolled at T0 in two e-mails, both released at T0; (enrolment, touches)."""
    async with db.transaction() as session:
        owner = await add_member(session, tenant.id, at=T0)
        contact = await add_contact(session, tenant.id, at=T0, owner_id=owner.id)
    r = await client.post("/v1/touch-plans", json=_two_emails(), headers=tenant.headers)
    assert r.status_code == 201, r.text
    body = {"plan_id": r.json()["id"], "contact_id": str(contact.id)}
    r = await client.post("/v1/enrollments", json=body, headers=tenant.headers)
    assert r.status_code == 201, r.text
    assert await emit_touches(db, clock, settings) == 2
    return r.json()["id"], [e["id"] for e in await events_of(db, tenant.id, "touch.due")]


async def _outcome(client: httpx.AsyncClient, tenant: Tenant, touch_id: str, outcome: str) -> Any:
    r = await client.post(
        f"/v1/touches/{touch_id}/outcome", json={"outcome": outcome}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    return r.json()


async def test_each_outcome_has_its_event_and_names_its_moment(
    client: httpx.AsyncClient,
    db: Database,
    tenant: Tenant,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    _, (first, second) = await _released(client, db, tenant, clock, settings)
    clock.advance(timedelta(minutes=1))
    assert (await _outcome(client, tenant, first, "sent"))["status"] == "sent"
    clock.advance(timedelta(minutes=1))
    assert (await _outcome(client, tenant, first, "delivered"))["status"] == "completed"
    assert (await _outcome(client, tenant, second, "bounced"))["status"] == "failed"
    (sent,) = await events_of(db, tenant.id, "touch.sent")
    (completed,) = await events_of(db, tenant.id, "touch.completed")
    (failed,) = await events_of(db, tenant.id, "touch.failed")
    moment = (T0 + timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    assert (sent["id"], sent["status"], sent["sent_at"]) == (first, "sent", moment)
    moment = (T0 + timedelta(minutes=2)).isoformat().replace("+00:00", "Z")
    assert (completed["id"], completed["completed_at"]) == (first, moment)
    assert (failed["id"], failed["failed_at"], failed["reason"]) == (second, moment, "bounced")
    assert "completed_at" not in failed
    assert "completed_at" not in sent


async def test_a_touch_never_reported_is_unconfirmed_after_the_grace_and_the_plan_completes(
    client: httpx.AsyncClient,
    db: Database,
    tenant: Tenant,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    enrolment, (first, second) = await _released(client, db, tenant, clock, settings)
    await _outcome(client, tenant, first, "delivered")
    r = await client.get(f"/v1/touches/{second}", headers=tenant.headers)
    due = datetime.fromisoformat(r.json()["due_at"])  # 09:00: planned at the window's opening
    clock.set(due + timedelta(days=14))  # the default grace: 14 days after it fell due
    assert await settle_touches(db, clock, settings) == 0
    r = await client.get(f"/v1/enrollments/{enrolment}", headers=tenant.headers)
    assert r.json()["status"] == "active"

    clock.set(due + timedelta(days=14, seconds=1))
    assert await settle_touches(db, clock, settings) == 1
    r = await client.get(f"/v1/touches/{second}", headers=tenant.headers)
    assert r.json()["status"] == "unconfirmed"
    r = await client.get(f"/v1/enrollments/{enrolment}", headers=tenant.headers)
    assert r.json()["status"] == "completed"
    (done,) = await events_of(db, tenant.id, "enrollment.completed")
    assert done["touches"] == {
        "completed": 1, "sent": 0, "skipped": 0, "failed": 0, "cancelled": 0, "unconfirmed": 1
    }  # fmt: skip
    assert done["completed_at"] == clock.now().isoformat().replace("+00:00", "Z")

    # A report arriving after the grace is still taken.
    assert (await _outcome(client, tenant, second, "delivered"))["status"] == "completed"
    assert len(await events_of(db, tenant.id, "touch.completed")) == 2


async def test_the_grace_is_the_workspaces_setting(
    client: httpx.AsyncClient,
    db: Database,
    tenant: Tenant,
    other_tenant: Tenant,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    r = await client.patch("/v1/workspace", json={"outcome_grace_days": 3}, headers=tenant.headers)
    assert (r.status_code, r.json()["outcome_grace_days"]) == (200, 3)
    r = await client.get("/v1/workspace", headers=other_tenant.headers)
    assert r.json()["outcome_grace_days"] == 14  # the default, and theirs alone
    await _released(client, db, tenant, clock, settings)
    await _released(client, db, other_tenant, clock, settings)
    clock.set(T0 + timedelta(days=3))  # three days after noon: after 09:00 + 3 days
    assert await settle_touches(db, clock, settings) == 2  # ours; theirs wait 14 days
    bad = await client.patch(
        "/v1/workspace", json={"outcome_grace_days": 0}, headers=tenant.headers
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["body", "outcome_grace_days"]
