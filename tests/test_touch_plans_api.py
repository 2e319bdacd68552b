"""Touch plans over HTTP: templates checked at save, ETags, edits touch only what is not due."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.db import Database
from app.models.touches.tables import Touch
from app.services.touches.emit import emit_due_touches
from app.services.touches.render import SAMPLE_CONTEXT, render, send_context
from tests.conftest import T0, Tenant
from tests.touch_fixtures import add_contact, add_default_sender


@pytest.fixture(autouse=True)
async def _signed(db: Database, tenant: Tenant) -> None:
    """Plans here name the member: the workspace signs for ownerless contacts."""
    async with db.transaction() as session:
        await add_default_sender(session, tenant.id, at=T0)


def plan_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Quarterly hello",
        "referral_reminder": "Send us a friend: {{ member.name }} will call them.",
        "steps": [
            {
                "channel": "email",
                "content_kind": "newsletter",
                "mode": "automated",
                "subject_template": "Old news for {{ contact.first_name }}",
                "body_template": "Hello {{ contact.first_name }}. {{ referral_reminder }}",
                "timing": {"kind": "after_enrollment", "days": 0},
            },
            {
                "channel": "email",
                "content_kind": "newsletter",
                "mode": "automated",
                "subject_template": "Old follow-up",
                "body_template": "Again",
                "timing": {"kind": "after_enrollment", "days": 10},
            },
        ],
    }
    body.update(overrides)
    return body


async def test_a_template_error_is_a_422_naming_the_step_field(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = plan_body()
    body["steps"][1]["body_template"] = "{% if x %}{{ contact.name|shout }}{% endif %}"
    body["steps"][0]["subject_template"] = "{{ contact.first_name"
    r = await client.post("/v1/touch-plans", json=body, headers=tenant.headers)
    assert r.status_code == 422
    locs = [e["loc"] for e in r.json()["errors"]]
    assert locs == [
        ["body", "steps", 0, "subject_template"],
        ["body", "steps", 1, "body_template"],
    ]
    assert "shout" in r.json()["errors"][1]["msg"]


SANDBOX_ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ contact.__class__ }}",
    "{{ '{0.__class__}'.format(contact) }}",
    "{% for c in ().__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ self.__init__.__globals__ }}",
]


@pytest.mark.parametrize("source", SANDBOX_ESCAPES)
async def test_a_template_trying_to_leave_the_sandbox_is_refused_at_save(
    client: httpx.AsyncClient, tenant: Tenant, source: str
) -> None:
    body = plan_body()
    body["steps"][1]["body_template"] = f"Hi {{{{ contact.first_name }}}} {source}"
    r = await client.post("/v1/touch-plans", json=body, headers=tenant.headers)
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert error["loc"] == ["body", "steps", 1, "body_template"]
    assert error["type"] == "template_error"
    assert "is unsafe" in error["msg"]
    # Had it reached the database some other way, sending it would not run it either.
    assert "<class" not in (render(source, send_context(SAMPLE_CONTEXT)) or "")
    r = await client.post(
        "/v1/touch-plans", json=plan_body(referral_reminder=source), headers=tenant.headers
    )
    assert r.status_code == 422, r.text
    assert [e["loc"] for e in r.json()["errors"]] == [["body", "referral_reminder"]]


async def test_a_yearly_date_that_does_not_exist_is_a_422_on_the_timing(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = plan_body()
    body["steps"][0]["timing"] = {"kind": "yearly_date", "month": 4, "day": 31}
    r = await client.post("/v1/touch-plans", json=body, headers=tenant.headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"][:5] == ["body", "steps", 0, "timing", "yearly_date"]
    body["steps"][0]["timing"] = {"kind": "yearly_date", "month": 11, "weekday": 3, "nth": 4}
    r = await client.post("/v1/touch-plans", json=body, headers=tenant.headers)
    assert r.status_code == 201, r.text
    assert r.json()["steps"][0]["timing"]["nth"] == 4


async def test_an_unknown_field_or_timing_is_refused_at_save(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = plan_body()
    body["steps"][0]["body_template"] = "Hi {{ contact.nickname }}"
    r = await client.post("/v1/touch-plans", json=body, headers=tenant.headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "steps", 0, "body_template"]
    body = plan_body()
    body["steps"][0]["timing"] = {"kind": "nth_weekday", "every_months": 1, "weekday": 0}
    r = await client.post("/v1/touch-plans", json=body, headers=tenant.headers)
    assert r.status_code == 422
    body = plan_body(referral_reminder="")
    r = await client.post("/v1/touch-plans", json=body, headers=tenant.headers)
    assert r.status_code == 422


async def test_plan_crud_with_etags(client: httpx.AsyncClient, tenant: Tenant) -> None:
    r = await client.post("/v1/touch-plans", json=plan_body(), headers=tenant.headers)
    assert r.status_code == 201, r.text
    plan = r.json()
    assert r.headers["etag"] == '"1"'
    assert [s["position"] for s in plan["steps"]] == [0, 1]
    url = f"/v1/touch-plans/{plan['id']}"
    stale = {**tenant.headers, "If-Match": '"7"'}
    r = await client.patch(url, json={"name": "Renamed"}, headers=stale)
    assert r.status_code == 412
    fresh = {**tenant.headers, "If-Match": '"1"'}
    r = await client.patch(url, json={"name": "Renamed", "pause_on_reply": True}, headers=fresh)
    assert r.status_code == 200
    assert r.json()["name"] == "Renamed"
    assert r.json()["pause_on_reply"] is True
    assert r.headers["etag"] == '"2"'
    assert (await client.delete(url, headers=stale)).status_code == 412
    assert (await client.delete(url, headers=tenant.headers)).status_code == 204
    assert (await client.get(url, headers=tenant.headers)).status_code == 404


async def test_every_workspace_gets_editable_builtin_plans(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    r = await client.get("/v1/touch-plans", headers=tenant.headers)
    plans = {p["builtin_key"]: p for p in r.json()["data"]}
    assert set(plans) == {"8x8", "33_touch", "12_direct", "advocate_appreciation"}
    assert len(plans["8x8"]["steps"]) == 8
    assert plans["33_touch"]["repeat_yearly"] is True
    r = await client.patch(
        f"/v1/touch-plans/{plans['8x8']['id']}",
        json={"audience": {"segments": ["prospect"], "tags": []}},
        headers=tenant.headers,
    )
    assert r.status_code == 200
    assert r.json()["audience"] == {"segments": ["prospect"], "tags": []}


async def test_plan_edits_change_only_touches_not_yet_due(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    plan = (await client.post("/v1/touch-plans", json=plan_body(), headers=tenant.headers)).json()
    async with db.transaction() as session:
        contact = await add_contact(session, tenant.id, at=T0)
    r = await client.post(
        "/v1/enrollments",
        json={
            "plan_id": plan["id"],
            "contact_id": str(contact.id),
            "start_date": str(T0.date() - timedelta(days=1)),
            "catch_up": True,
        },
        headers=tenant.headers,
    )
    assert r.status_code == 201, r.text
    async with db.transaction() as session:
        assert await emit_due_touches(session, at=T0) == 1
    steps = plan["steps"]
    steps[0]["subject_template"] = "New news for {{ contact.first_name }}"
    steps[1]["subject_template"] = "New follow-up"
    steps[1]["timing"] = {"kind": "after_enrollment", "days": 12}
    r = await client.patch(
        f"/v1/touch-plans/{plan['id']}",
        json={"steps": steps},
        headers={**tenant.headers, "If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    assert [s["id"] for s in r.json()["steps"]] == [s["id"] for s in plan["steps"]]
    async with db.transaction() as session:
        assert await emit_due_touches(session, at=T0 + timedelta(days=11)) == 1
        rows = await session.execute(
            select(Touch.subject, Touch.due_date).where(Touch.workspace_id == tenant.id)
        )
        got = sorted((r.due_date, r.subject) for r in rows)
    assert got == [
        (T0.date() - timedelta(days=1), "Old news for Pat"),  # already due: kept as sent
        (T0.date() + timedelta(days=11), "New follow-up"),  # re-planned: new day, new text
    ]


async def test_a_removed_step_takes_its_future_touches_along(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    plan = (await client.post("/v1/touch-plans", json=plan_body(), headers=tenant.headers)).json()
    async with db.transaction() as session:
        contact = await add_contact(session, tenant.id, at=T0)
    body = {"plan_id": plan["id"], "contact_id": str(contact.id)}
    assert (await client.post("/v1/enrollments", json=body, headers=tenant.headers)).is_success
    r = await client.patch(
        f"/v1/touch-plans/{plan['id']}",
        json={"steps": plan["steps"][:1]},
        headers=tenant.headers,
    )
    assert r.status_code == 200
    r = await client.get("/v1/touches", params={"plan_id": plan["id"]}, headers=tenant.headers)
    assert [t["step_id"] for t in r.json()["data"]] == [plan["steps"][0]["id"]]


async def test_another_workspaces_plan_is_not_found(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    plan = (await client.post("/v1/touch-plans", json=plan_body(), headers=tenant.headers)).json()
    url = f"/v1/touch-plans/{plan['id']}"
    headers = other_tenant.headers
    assert (await client.get(url, headers=headers)).status_code == 404
    assert (await client.patch(url, json={"name": "x"}, headers=headers)).status_code == 404
    assert (await client.delete(url, headers=headers)).status_code == 404
    step = plan_body()["steps"][0]
    step["id"] = plan["steps"][0]["id"]
    r = await client.post(
        "/v1/touch-plans", json=plan_body(steps=[step]), headers=other_tenant.headers
    )
    assert r.status_code == 201  # a step id in a new plan is ignored, never shared
    assert r.json()["steps"][0]["id"] != step["id"]
    assert uuid.UUID(r.json()["id"])
