"""Tenancy, structurally: every route that takes an id answers another workspace 404.

The app's routes are walked, not listed by hand: a new route with a path parameter fails
``test_every_id_route_is_in_the_tenancy_registry`` until it is added to ``ROUTES`` (with
a valid body, so the request reaches the tenancy check rather than a 422) or to
``EXEMPT`` with the test that covers it. ``test_every_id_route_answers_404_to_another_workspace``
then builds one of every resource in workspace A and calls each route with B's key; the
same calls made afterwards with A's key must not be 404, so the ids are real and the 404
is tenancy, not a typo in the fixture.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from fastapi.routing import iter_route_contexts
from sqlalchemy import select

from app.db import Database
from app.main import create_app
from app.models.contacts.tables import Contact
from tests.conftest import T0, Tenant, make_settings

World = dict[str, str]
Body = Callable[[World], Any] | None

RECEIVED_RULE = {
    "trigger": "received",
    "amount": {"kind": "fixed", "amount": "25.00"},
    "currency": "USD",
    "reward_kind": "gift_card",
    "approval_required": True,
}
CSV_IMPORT = "first_name,last_name,email\nIda,Imported,ida@example.com\n"


def _none(_w: World) -> None:
    return None


def _empty(_w: World) -> dict[str, Any]:
    return {}


def _const(value: dict[str, Any]) -> Callable[[World], dict[str, Any]]:
    return lambda _w: value


# (method, path template) -> the JSON body to send (``None``: no body). The path's
# parameters are filled from the world built in workspace A.
ROUTES: dict[tuple[str, str], Callable[[World], Any]] = {
    ("PATCH", "/v1/api-keys/{key_id}"): _const({"name": "Renamed"}),
    ("DELETE", "/v1/api-keys/{key_id}"): _none,
    ("GET", "/v1/members/{member_id}"): _none,
    ("PATCH", "/v1/members/{member_id}"): _const({"name": "Renamed"}),
    ("DELETE", "/v1/members/{member_id}"): _none,
    ("POST", "/v1/members/{member_id}/calendar-token"): _none,
    ("GET", "/v1/members/{member_id}/agenda"): _none,
    ("POST", "/v1/members/{member_id}/agenda/snoozes"): _const(
        {"key": "task:none", "until": "2030-01-01"}
    ),
    ("POST", "/v1/members/{member_id}/agenda/dismissals"): _const(
        {"key": "task:none", "reason": "Not needed"}
    ),
    ("POST", "/v1/members/{member_id}/sessions"): _none,
    ("GET", "/v1/contacts/imports/{import_id}"): _none,
    ("GET", "/v1/contacts/{contact_id}"): _none,
    ("PATCH", "/v1/contacts/{contact_id}"): _const({"first_name": "Renamed"}),
    ("DELETE", "/v1/contacts/{contact_id}"): _none,
    ("POST", "/v1/contacts/{contact_id}/merge"): lambda w: {"other_id": w["spare_contact_id"]},
    ("GET", "/v1/contacts/{contact_id}/observances"): _none,
    ("POST", "/v1/contacts/{contact_id}/observances"): _const(
        {"kind": "birthday", "month": 5, "day": 1}
    ),
    ("DELETE", "/v1/contacts/{contact_id}/observances/{observance_id}"): _none,
    ("GET", "/v1/contacts/{contact_id}/interactions"): _none,
    ("POST", "/v1/contacts/{contact_id}/interactions"): _const(
        {"channel": "call", "direction": "inbound", "occurred_at": "2026-11-01T10:00:00Z"}
    ),
    ("GET", "/v1/contacts/{contact_id}/relationships"): _none,
    ("POST", "/v1/contacts/{contact_id}/relationships"): lambda w: {
        "related_id": w["third_contact_id"],
        "type": "spouse",
    },
    ("DELETE", "/v1/contacts/{contact_id}/relationships/{relationship_id}"): _none,
    ("GET", "/v1/contacts/{contact_id}/service-records"): _none,
    ("POST", "/v1/contacts/{contact_id}/service-records"): _const(
        {"date": "2026-01-01", "service": "Sale"}
    ),
    ("DELETE", "/v1/contacts/{contact_id}/service-records/{record_id}"): _none,
    ("GET", "/v1/contacts/{contact_id}/reciprocity"): _none,
    ("GET", "/v1/contacts/{contact_id}/shares"): _none,
    ("PUT", "/v1/contacts/{contact_id}/shares/{member_id}"): _none,
    ("DELETE", "/v1/contacts/{contact_id}/shares/{member_id}"): _none,
    ("GET", "/v1/contacts/{contact_id}/rewards"): _none,
    ("GET", "/v1/contacts/{contact_id}/score"): _none,
    ("GET", "/v1/contacts/{contact_id}/score/history"): _none,
    ("GET", "/v1/contacts/{contact_id}/advocacy"): _none,
    ("PUT", "/v1/contacts/{contact_id}/advocacy"): _const({"stage": "engaged"}),
    ("DELETE", "/v1/contacts/{contact_id}/advocacy/override"): _none,
    ("GET", "/v1/contacts/{contact_id}/advocacy/history"): _none,
    ("GET", "/v1/engagement-activities/{activity_id}"): _none,
    ("PATCH", "/v1/engagement-activities/{activity_id}"): _const({"name": "Renamed"}),
    ("DELETE", "/v1/engagement-activities/{activity_id}"): _none,
    ("GET", "/v1/engagement-activities/{activity_id}/participants"): _none,
    ("POST", "/v1/engagement-activities/{activity_id}/participants"): lambda w: {
        "contact_ids": [w["third_contact_id"]],
        "status": "invited",
    },
    ("DELETE", "/v1/engagement-activities/{activity_id}/participants/{contact_id}"): _none,
    ("GET", "/v1/webhook-endpoints/{endpoint_id}"): _none,
    ("PATCH", "/v1/webhook-endpoints/{endpoint_id}"): _const({"description": "renamed"}),
    ("DELETE", "/v1/webhook-endpoints/{endpoint_id}"): _none,
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/rotate-secret"): _none,
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/test"): _none,
    ("GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries"): _none,
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/replay"): _const(
        {"since": "2020-01-01T00:00:00Z", "status": "all"}
    ),
    ("GET", "/v1/webhook-deliveries/{delivery_id}"): _none,
    ("POST", "/v1/webhook-deliveries/{delivery_id}/retry"): _none,
    ("GET", "/v1/referrals/{referral_id}"): _none,
    ("PATCH", "/v1/referrals/{referral_id}"): _const({"notes": "renamed"}),
    ("DELETE", "/v1/referrals/{referral_id}"): _none,
    ("POST", "/v1/referrals/{referral_id}/transitions"): _const({"to_stage": "contacted"}),
    ("GET", "/v1/referrals/{referral_id}/history"): _none,
    ("GET", "/v1/reward-programs/{program_id}"): _none,
    ("PATCH", "/v1/reward-programs/{program_id}"): _const({"name": "Renamed"}),
    ("DELETE", "/v1/reward-programs/{program_id}"): _none,
    ("GET", "/v1/rewards/{reward_id}"): _none,
    ("POST", "/v1/rewards/{reward_id}/approve"): _none,
    ("POST", "/v1/rewards/{reward_id}/issue"): _none,
    ("POST", "/v1/rewards/{reward_id}/cancel"): _none,
    ("GET", "/v1/experiments/{experiment_id}"): _none,
    ("PATCH", "/v1/experiments/{experiment_id}"): _const({"name": "Renamed"}),
    ("DELETE", "/v1/experiments/{experiment_id}"): _none,
    ("POST", "/v1/experiments/{experiment_id}/start"): _none,
    ("POST", "/v1/experiments/{experiment_id}/stop"): _none,
    ("GET", "/v1/experiments/{experiment_id}/results"): _none,
    ("GET", "/v1/touch-plans/{plan_id}"): _none,
    ("PATCH", "/v1/touch-plans/{plan_id}"): _const({"name": "Renamed"}),
    ("DELETE", "/v1/touch-plans/{plan_id}"): _none,
    ("GET", "/v1/enrollments/{enrollment_id}"): _none,
    ("POST", "/v1/enrollments/{enrollment_id}/pause"): _none,
    ("POST", "/v1/enrollments/{enrollment_id}/resume"): _none,
    ("POST", "/v1/enrollments/{enrollment_id}/cancel"): _none,
    ("GET", "/v1/touches/{touch_id}"): _none,
    ("POST", "/v1/touches/{touch_id}/outcome"): _const({"outcome": "completed"}),
}

# Routes whose path parameters are not row ids, each with the test that covers it.
EXEMPT: dict[tuple[str, str], str] = {
    ("PUT", "/v1/contacts/by-external-id/{source}/{external_id}"): (
        "an upsert key in the caller's own namespace: "
        "test_upsert_by_external_id_never_reaches_another_workspace"
    ),
}


def id_routes() -> set[tuple[str, str]]:
    """Every (method, path) of the app whose path takes a parameter."""
    found: set[tuple[str, str]] = set()
    for context in iter_route_contexts(create_app(make_settings()).routes):
        path = context.path
        if path and "{" in path:
            found |= {(method, path) for method in context.methods or ()}
    return found


def test_every_id_route_is_in_the_tenancy_registry() -> None:
    routes = id_routes()
    assert len(routes) > 60  # the walk sees the included routers, not an empty list
    assert sorted(routes - ROUTES.keys() - EXEMPT.keys()) == []
    assert sorted((ROUTES.keys() | EXEMPT.keys()) - routes) == []  # no stale entries


async def _post(client: httpx.AsyncClient, tenant: Tenant, path: str, body: Any) -> Any:
    response = await client.post(path, json=body, headers=tenant.headers)
    assert response.status_code in (200, 201, 202), (path, response.text)
    return response.json()


async def build_world(client: httpx.AsyncClient, tenant: Tenant) -> World:
    """One of every resource an id route can name, in ``tenant``'s workspace."""
    w: World = {}
    w["key_id"] = (await _post(client, tenant, "/v1/api-keys", {"name": "spare"}))["id"]
    member = {"name": "Dana", "email": "dana@example.com"}
    w["member_id"] = (await _post(client, tenant, "/v1/members", member))["id"]
    sender = {"default_sender_member_id": w["member_id"]}  # the built-in plans name one
    assert (await client.patch("/v1/workspace", json=sender, headers=tenant.headers)).is_success
    imported = await client.post(
        "/v1/contacts/imports",
        content=CSV_IMPORT.encode(),
        headers={**tenant.headers, "Content-Type": "text/csv"},
    )
    assert imported.status_code in (200, 201, 202), imported.text
    w["import_id"] = imported.json()["id"]
    for name in ("contact", "other_contact", "third_contact", "spare_contact"):
        body = {"first_name": name.title(), "last_name": "Tenant"}
        w[f"{name}_id"] = (await _post(client, tenant, "/v1/contacts", body))["id"]
    contact = f"/v1/contacts/{w['contact_id']}"
    birthday = {"kind": "birthday", "month": 3, "day": 4}
    w["observance_id"] = (await _post(client, tenant, f"{contact}/observances", birthday))["id"]
    related = {"related_id": w["other_contact_id"], "type": "colleague"}
    w["relationship_id"] = (await _post(client, tenant, f"{contact}/relationships", related))["id"]
    record = {"date": "2026-01-01", "service": "Sale"}
    w["record_id"] = (await _post(client, tenant, f"{contact}/service-records", record))["id"]
    party = {"kind": "client_party", "name": "Party", "date": "2026-12-01"}
    w["activity_id"] = (await _post(client, tenant, "/v1/engagement-activities", party))["id"]
    invite = {"contact_ids": [w["contact_id"]], "status": "invited"}
    await _post(
        client, tenant, f"/v1/engagement-activities/{w['activity_id']}/participants", invite
    )

    hook = {"url": "http://127.0.0.1:9/hooks"}
    w["endpoint_id"] = (await _post(client, tenant, "/v1/webhook-endpoints", hook))["id"]
    test = await _post(client, tenant, f"/v1/webhook-endpoints/{w['endpoint_id']}/test", None)
    w["delivery_id"] = test["delivery_id"]

    default = {"name": "Thanks", "rules": [RECEIVED_RULE], "is_default": True}
    await _post(client, tenant, "/v1/reward-programs", default)
    arms = []
    for name in ("Arm A", "Arm B"):
        program = {"name": name, "rules": [RECEIVED_RULE], "is_default": False}
        arms.append((await _post(client, tenant, "/v1/reward-programs", program))["id"])
    w["program_id"] = arms[0]
    referral = {"source_contact_id": w["contact_id"], "referred_contact_id": w["third_contact_id"]}
    w["referral_id"] = (await _post(client, tenant, "/v1/referrals", referral))["id"]
    rewards = await client.get(
        "/v1/rewards", params={"referral_id": w["referral_id"]}, headers=tenant.headers
    )
    w["reward_id"] = rewards.json()["data"][0]["id"]
    design = {
        "name": "Which thanks",
        "starts_at": (T0 + timedelta(days=1)).isoformat(),
        "ends_at": (T0 + timedelta(days=90)).isoformat(),
        "arms": [{"name": "A", "program_id": arms[0]}, {"name": "B", "program_id": arms[1]}],
    }
    w["experiment_id"] = (await _post(client, tenant, "/v1/experiments", design))["id"]

    plans = await client.get("/v1/touch-plans", headers=tenant.headers)
    w["plan_id"] = plans.json()["data"][0]["id"]
    enrolment = {"plan_id": w["plan_id"], "contact_id": w["other_contact_id"]}
    w["enrollment_id"] = (await _post(client, tenant, "/v1/enrollments", enrolment))["id"]
    adhoc = {
        "contact_id": w["contact_id"],
        "channel": "call",
        "content_kind": "check_in",
        "due_at": (T0 + timedelta(days=1)).isoformat(),
    }
    w["touch_id"] = (await _post(client, tenant, "/v1/touches", adhoc))["id"]
    return w


def _fill(path: str, world: World) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: world[m.group(1)], path)


def _owner_order(route: tuple[str, str]) -> tuple[int, int]:
    """Reads, then writes, then deletes, deepest first (a child before its parent)."""
    method, path = route
    rank = {"GET": 0, "DELETE": 2}.get(method, 1)
    return (rank, -path.count("/") if rank == 2 else 0)


async def test_every_id_route_answers_404_to_another_workspace(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    world = await build_world(client, tenant)
    leaks: list[str] = []
    for (method, path), body in ROUTES.items():
        response = await client.request(
            method, _fill(path, world), json=body(world), headers=other_tenant.headers
        )
        problem = response.headers.get("content-type") == "application/problem+json"
        if response.status_code != 404 or not problem:
            leaks.append(f"{method} {path}: {response.status_code} {response.text[:120]}")
    assert leaks == []

    # The same calls by the owner find every resource: the ids above were real.
    missing: list[str] = []
    for method, path in sorted(ROUTES, key=_owner_order):
        body = ROUTES[(method, path)]
        response = await client.request(
            method, _fill(path, world), json=body(world), headers=tenant.headers
        )
        if response.status_code == 404 or response.status_code >= 500:
            missing.append(f"{method} {path}: {response.status_code} {response.text[:120]}")
    assert missing == []


async def test_upsert_by_external_id_never_reaches_another_workspace(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, db: Database
) -> None:
    path = "/v1/contacts/by-external-id/crm/C-1"
    mine = await client.put(path, json={"first_name": "Mine"}, headers=tenant.headers)
    theirs = await client.put(path, json={"first_name": "Theirs"}, headers=other_tenant.headers)
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    async with db.sessionmaker() as session:
        rows = (
            await session.execute(
                select(Contact.workspace_id, Contact.first_name).where(
                    Contact.id.in_([mine.json()["id"], theirs.json()["id"]])
                )
            )
        ).all()
    assert sorted((str(r.workspace_id), r.first_name) for r in rows) == sorted(
        [(str(tenant.id), "Mine"), (str(other_tenant.id), "Theirs")]
    )
