"""Enrolments and touches over HTTP: lists, outcomes, interactions, tenancy, calendar."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy import select

from app.db import Database
from app.models.contacts.tables import Interaction
from app.models.touches.tables import Touch
from app.services.touches.emit import emit_due_touches
from tests.conftest import T0, Tenant
from tests.test_touch_emit import events_of
from tests.test_touch_enrollment import builtin_plan
from tests.touch_fixtures import add_contact, add_default_sender, add_member, add_observance


@pytest.fixture(autouse=True)
async def _signed(db: Database, tenant: Tenant) -> None:
    """The built-in plans name the member: the workspace signs for ownerless contacts."""
    async with db.transaction() as session:
        await add_default_sender(session, tenant.id, at=T0)


async def enrol(
    client: httpx.AsyncClient, tenant: Tenant, plan_id: uuid.UUID, contact_id: uuid.UUID, **kw: Any
) -> dict[str, Any]:
    body = {"plan_id": str(plan_id), "contact_id": str(contact_id), **kw}
    r = await client.post("/v1/enrollments", json=body, headers=tenant.headers)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


async def test_enrolment_lifecycle_pause_resume_cancel(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    plan_id = await builtin_plan(db, tenant, "8x8")
    async with db.transaction() as session:
        contact = await add_contact(session, tenant.id, at=T0)
    e = await enrol(client, tenant, plan_id, contact.id)
    url = f"/v1/enrollments/{e['id']}"
    again = {"plan_id": str(plan_id), "contact_id": str(contact.id)}
    assert (
        await client.post("/v1/enrollments", json=again, headers=tenant.headers)
    ).status_code == 409

    async def scheduled() -> int:
        r = await client.get(
            "/v1/touches",
            params={"contact_id": str(contact.id), "status": "scheduled"},
            headers=tenant.headers,
        )
        return len(r.json()["data"])

    assert await scheduled() == 8
    r = await client.post(f"{url}/pause", headers={**tenant.headers, "If-Match": '"1"'})
    assert r.json()["status"] == "paused"
    assert await scheduled() == 0
    assert (await client.post(f"{url}/pause", headers=tenant.headers)).status_code == 409
    r = await client.post(f"{url}/resume", headers={**tenant.headers, "If-Match": '"1"'})
    assert r.status_code == 412
    r = await client.post(f"{url}/resume", headers=tenant.headers)
    assert r.json()["status"] == "active"
    assert await scheduled() == 7  # planned again from now: the 09:00 card was missed
    r = await client.post(f"{url}/cancel", headers=tenant.headers)
    assert r.json()["status"] == "cancelled"
    r = await client.get(
        "/v1/touches",
        params={"contact_id": str(contact.id), "status": "cancelled"},
        headers=tenant.headers,
    )
    assert {t["reason"] for t in r.json()["data"]} == {"enrollment_cancelled"}
    r = await client.get("/v1/enrollments", params={"status": "cancelled"}, headers=tenant.headers)
    assert [x["id"] for x in r.json()["data"]] == [e["id"]]


async def test_bulk_enrolment_over_http(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    plan_id = await builtin_plan(db, tenant, "33_touch")
    async with db.transaction() as session:
        for tag in (["sphere"], ["sphere", "vip"], []):
            await add_contact(session, tenant.id, at=T0, tags=tag)
    body = {"plan_id": str(plan_id), "tags": ["sphere"]}
    r = await client.post("/v1/enrollments/bulk", json=body, headers=tenant.headers)
    assert r.json() == {"plan_id": str(plan_id), "enrolled": 2, "skipped": 0}
    r = await client.post("/v1/enrollments/bulk", json=body, headers=tenant.headers)
    assert r.json()["enrolled"] == 0
    r = await client.post(
        "/v1/enrollments/bulk", json={"plan_id": str(plan_id)}, headers=tenant.headers
    )
    assert r.status_code == 422


async def test_touch_list_filters(client: httpx.AsyncClient, db: Database, tenant: Tenant) -> None:
    async with db.transaction() as session:
        member = await add_member(session, tenant.id, at=T0)
        a = await add_contact(session, tenant.id, at=T0)
        b = await add_contact(session, tenant.id, at=T0, first_name="Bo")
    for contact, channel, days in ((a, "call", 1), (a, "email", 5), (b, "call", 2)):
        r = await client.post(
            "/v1/touches",
            json={
                "contact_id": str(contact.id),
                "channel": channel,
                "content_kind": "check_in",
                "due_at": (T0 + timedelta(days=days)).isoformat(),
                "assignee_id": str(member.id) if channel == "call" else None,
            },
            headers=tenant.headers,
        )
        assert r.status_code == 201, r.text

    async def ids(**params: Any) -> list[tuple[str, str]]:
        r = await client.get("/v1/touches", params=params, headers=tenant.headers)
        assert r.status_code == 200, r.text
        return [(t["contact_id"], t["channel"]) for t in r.json()["data"]]

    assert await ids(contact_id=str(a.id)) == [(str(a.id), "call"), (str(a.id), "email")]
    assert await ids(assignee_id=str(member.id)) == [(str(a.id), "call"), (str(b.id), "call")]
    assert await ids(channel="email") == [(str(a.id), "email")]
    window = {"due_after": (T0 + timedelta(days=2)).isoformat()}
    window["due_before"] = (T0 + timedelta(days=5)).isoformat()
    assert await ids(**window) == [(str(b.id), "call")]
    assert len(await ids(status=["scheduled", "due"])) == 3


async def test_outcome_completes_the_touch_and_logs_an_interaction(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    async with db.transaction() as session:
        contact = await add_contact(session, tenant.id, at=T0)
    r = await client.post(
        "/v1/touches",
        json={
            "contact_id": str(contact.id),
            "channel": "email",
            "mode": "automated",
            "content_kind": "thank_you",
            "subject": "Thank you!",
            "body": "Thanks for the referral.",
            "due_at": T0.isoformat(),
        },
        headers=tenant.headers,
    )
    touch = r.json()
    url = f"/v1/touches/{touch['id']}/outcome"
    async with db.transaction() as session:
        assert await emit_due_touches(session, at=T0) == 1
    r = await client.post(
        url, json={"outcome": "sent", "provider_message_id": "msg-1"}, headers=tenant.headers
    )
    assert r.json()["status"] == "sent"
    r = await client.post(url, json={"outcome": "delivered"}, headers=tenant.headers)
    assert r.json()["status"] == "completed"
    assert r.json()["provider_message_id"] == "msg-1"
    again = await client.post(url, json={"outcome": "delivered"}, headers=tenant.headers)
    assert again.json()["version"] == r.json()["version"]  # a sender's retry changes nothing
    r = await client.post(url, json={"outcome": "bounced"}, headers=tenant.headers)
    assert r.status_code == 409
    async with db.transaction() as session:
        logged = (await session.execute(select(Interaction))).scalars().all()
    assert [(i.touch_id, i.direction, i.channel) for i in logged] == [
        (uuid.UUID(touch["id"]), "outbound", "email")
    ]
    (completed,) = await events_of(db, tenant.id, "touch.completed")
    assert completed["id"] == touch["id"]


async def test_a_bounce_fails_the_touch_with_its_reason(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    async with db.transaction() as session:
        contact = await add_contact(session, tenant.id, at=T0)
    body = {"contact_id": str(contact.id), "channel": "sms", "content_kind": "note"}
    r = await client.post(
        "/v1/touches", json={**body, "due_at": T0.isoformat()}, headers=tenant.headers
    )
    async with db.transaction() as session:
        await emit_due_touches(session, at=T0)
    r = await client.post(
        f"/v1/touches/{r.json()['id']}/outcome",
        json={"outcome": "bounced", "note": "number disconnected"},
        headers=tenant.headers,
    )
    assert (r.json()["status"], r.json()["reason"]) == ("failed", "number disconnected")
    (failed,) = await events_of(db, tenant.id, "touch.failed")
    assert failed["reason"] == "number disconnected"


async def test_finishing_the_last_touch_completes_the_enrolment(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    plan_id = await builtin_plan(db, tenant, "8x8")
    async with db.transaction() as session:
        contact = await add_contact(session, tenant.id, at=T0)
    e = await enrol(client, tenant, plan_id, contact.id)
    for week in range(8):
        async with db.transaction() as session:
            assert await emit_due_touches(session, at=T0 + timedelta(weeks=week)) == 1
            stmt = select(Touch.id).where(Touch.status == "due")
            touch_id = (await session.execute(stmt)).scalar_one()
        r = await client.post(
            f"/v1/touches/{touch_id}/outcome", json={"outcome": "completed"}, headers=tenant.headers
        )
        assert r.status_code == 200
        status = (await client.get(f"/v1/enrollments/{e['id']}", headers=tenant.headers)).json()
        assert status["status"] == ("completed" if week == 7 else "active")
    (done,) = await events_of(db, tenant.id, "enrollment.completed")
    assert done == {
        "id": e["id"],
        "contact_id": str(contact.id),
        "plan_id": str(plan_id),
        "completed_at": done["completed_at"],
        "touches": {
            "completed": 8, "sent": 0, "skipped": 0, "failed": 0, "cancelled": 0, "unconfirmed": 0
        },
    }  # fmt: skip


async def test_every_id_route_hides_other_workspaces(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    plan_id = await builtin_plan(db, tenant, "8x8")
    async with db.transaction() as session:
        contact = await add_contact(session, tenant.id, at=T0)
        member = await add_member(session, tenant.id, at=T0)
    e = await enrol(client, tenant, plan_id, contact.id)
    r = await client.get("/v1/touches", headers=tenant.headers)
    touch_id = r.json()["data"][0]["id"]
    h = other_tenant.headers
    for method, url, body in (
        ("GET", f"/v1/enrollments/{e['id']}", None),
        ("POST", f"/v1/enrollments/{e['id']}/pause", None),
        ("POST", f"/v1/enrollments/{e['id']}/resume", None),
        ("POST", f"/v1/enrollments/{e['id']}/cancel", None),
        ("GET", f"/v1/touches/{touch_id}", None),
        ("POST", f"/v1/touches/{touch_id}/outcome", {"outcome": "completed"}),
        ("POST", f"/v1/members/{member.id}/calendar-token", None),
        ("POST", "/v1/enrollments", {"plan_id": str(plan_id), "contact_id": str(contact.id)}),
    ):
        r = await client.request(method, url, json=body, headers=h)
        assert r.status_code == 404, (method, url, r.status_code)
    own = await builtin_plan(db, other_tenant, "8x8")
    r = await client.post(
        "/v1/enrollments", json={"plan_id": str(own), "contact_id": str(contact.id)}, headers=h
    )
    assert r.status_code == 404
    r = await client.post(
        "/v1/touches",
        json={
            "contact_id": str(contact.id),
            "channel": "call",
            "content_kind": "x",
            "due_at": T0.isoformat(),
        },
        headers=h,
    )
    assert r.status_code == 404
    for params in ({"contact_id": str(contact.id)}, {"plan_id": str(plan_id)}):
        assert (await client.get("/v1/touches", params=params, headers=h)).json()["data"] == []


async def test_calendar_feed_lists_a_members_touches_and_contacts_dates(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    plan_id = await builtin_plan(db, tenant, "8x8")
    async with db.transaction() as session:
        member = await add_member(session, tenant.id, at=T0)
        contact = await add_contact(session, tenant.id, at=T0, owner_id=member.id)
        await add_observance(session, tenant.id, contact.id, kind="birthday", month=1, day=9, at=T0)
    await enrol(client, tenant, plan_id, contact.id)
    r = await client.post(f"/v1/members/{member.id}/calendar-token", headers=tenant.headers)
    assert r.status_code == 201
    token = r.json()["token"]
    r = await client.get("/v1/calendar.ics", params={"token": token})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/calendar")
    events = Calendar.from_ical(r.content).walk("VEVENT")
    summaries = [str(e["SUMMARY"]) for e in events]
    assert len([s for s in summaries if "(Pat Lee)" in s]) == 8
    assert "Pat Lee: birthday" in summaries
    r = await client.post(f"/v1/members/{member.id}/calendar-token", headers=tenant.headers)
    assert (await client.get("/v1/calendar.ics", params={"token": token})).status_code == 401
    assert (await client.get("/v1/calendar.ics", params={"token": r.json()["token"]})).is_success
    assert (await client.get("/v1/calendar.ics", params={"token": "nope"})).status_code == 401
