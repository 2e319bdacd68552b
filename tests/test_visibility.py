"""Record visibility: under ``visibility: own`` an agent sees only their own contacts and
the records hanging off them, exactly as another workspace would not see them.

The walk reuses the tenancy test's registry of id routes and its world: the world is built
by an admin, its contacts handed to agent A; then every route naming a contact, referral,
reward, enrolment or touch is called with agent B's session token (404 problem+json each)
and with A's (found). Lists and reports are compared across A, B, a leader and the admin.
"""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import httpx

from tests.conftest import Tenant
from tests.test_tenancy_routes import ROUTES, World, _fill, _owner_order, build_world, id_routes

#: Path parameters naming records seen through a contact (``platform.visibility``).
RECORD_PARAMETERS = (
    "{contact_id}",
    "{referral_id}",
    "{reward_id}",
    "{enrollment_id}",
    "{touch_id}",
)
CONTACTS = ("contact_id", "other_contact_id", "third_contact_id", "spare_contact_id")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _member(client: httpx.AsyncClient, tenant: Tenant, name: str, role: str) -> str:
    body = {"name": name, "email": f"{name.lower()}@example.com", "role": role}
    created = await client.post("/v1/members", json=body, headers=tenant.headers)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def _session(client: httpx.AsyncClient, tenant: Tenant, member_id: str) -> dict[str, str]:
    minted = await client.post(f"/v1/members/{member_id}/sessions", headers=tenant.headers)
    assert minted.status_code == 201, minted.text
    return _bearer(minted.json()["token"])


async def _visibility(client: httpx.AsyncClient, tenant: Tenant, value: str) -> None:
    body = {"visibility": value}
    changed = await client.patch("/v1/workspace", json=body, headers=tenant.headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["visibility"] == value


async def _team(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, Any]:
    """A world owned by agent A, and session headers for A, B, a leader and an admin."""
    people = {
        role: await _member(client, tenant, name, kind)
        for role, name, kind in (
            ("a", "Avery", "agent"),
            ("b", "Blake", "agent"),
            ("leader", "Lee", "leader"),
            ("admin", "Ada", "admin"),
        )
    }
    world = await build_world(client, tenant)
    for name in CONTACTS:
        handed = await client.patch(
            f"/v1/contacts/{world[name]}", json={"owner_id": people["a"]}, headers=tenant.headers
        )
        assert handed.status_code == 200, handed.text
    headers = {role: await _session(client, tenant, mid) for role, mid in people.items()}
    await _visibility(client, tenant, "own")
    return {"world": world, "people": people, "headers": headers}


def _record_routes() -> list[tuple[str, str]]:
    return sorted(r for r in ROUTES if any(p in r[1] for p in RECORD_PARAMETERS))


def test_the_walk_covers_every_record_route_of_the_app() -> None:
    every = {r for r in id_routes() if any(p in r[1] for p in RECORD_PARAMETERS)}
    walked = set(_record_routes()) | {("PUT", "/v1/contacts/by-external-id/{source}/{external_id}")}
    assert len(every) > 40
    assert sorted(every - walked) == []


async def test_an_agent_gets_404_on_every_route_for_another_agents_records(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    team = await _team(client, tenant)
    world: World = team["world"]
    b, a = team["headers"]["b"], team["headers"]["a"]
    leaks: list[str] = []
    for method, path in _record_routes():
        body = ROUTES[(method, path)](world)
        response = await client.request(method, _fill(path, world), json=body, headers=b)
        problem = response.headers.get("content-type") == "application/problem+json"
        if response.status_code != 404 or not problem:
            leaks.append(f"{method} {path}: {response.status_code} {response.text[:120]}")
    assert leaks == []

    # The same calls by A find every record: the 404s above were visibility, not typos.
    missing: list[str] = []
    writes: dict[str, str] = {}  # request id -> the write A made
    for method, path in sorted(_record_routes(), key=_owner_order):
        body = ROUTES[(method, path)](world)
        response = await client.request(method, _fill(path, world), json=body, headers=a)
        if response.status_code == 404 or response.status_code >= 500:
            missing.append(f"{method} {path}: {response.status_code} {response.text[:120]}")
        if method != "GET" and response.is_success:
            writes[response.headers["x-request-id"]] = f"{method} {path}"
    assert missing == []

    # Every write A made left an audit row naming A (and B's refused ones none).
    a_id = team["people"]["a"]
    audited: set[str] = set()
    cursor: str | None = None
    while True:
        params = {"actor_id": a_id, "limit": 200, **({"cursor": cursor} if cursor else {})}
        page = await client.get("/v1/audit-log", params=params, headers=team["headers"]["admin"])
        assert page.status_code == 200, page.text
        for entry in page.json()["data"]:
            assert entry["actor"]["id"] == a_id
            assert entry["actor"]["type"] == "member"
            audited.add(entry["request_id"])
        cursor = page.json()["next_cursor"]
        if not page.json()["data"] or cursor is None:
            break
    assert len(writes) > 20
    assert sorted(w for rid, w in writes.items() if rid not in audited) == []
    b_rows = await client.get(
        "/v1/audit-log", params={"actor_id": team["people"]["b"]}, headers=team["headers"]["admin"]
    )
    assert b_rows.json()["data"] == []


async def _ids(client: httpx.AsyncClient, path: str, headers: dict[str, str], key: str) -> set[str]:
    response = await client.get(path, headers=headers, params={"limit": 200})
    assert response.status_code == 200, (path, response.text)
    return {str(item[key]) for item in response.json()["data"]}


async def test_lists_and_reports_count_only_what_the_viewer_sees(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    team = await _team(client, tenant)
    world: World = team["world"]
    h = team["headers"]
    mine = {world[n] for n in CONTACTS}
    # An upsert by B of a key naming nothing of B's creates B's own contact.
    upsert = await client.put(
        "/v1/contacts/by-external-id/crm/B-1", json={"first_name": "Bea"}, headers=h["b"]
    )
    assert upsert.status_code == 201, upsert.text
    bs = {str(upsert.json()["id"])}
    assert upsert.json()["owner_id"] == team["people"]["b"]
    call = {"channel": "call", "direction": "inbound", "occurred_at": "2026-11-01T10:00:00Z"}
    logged = await client.post(
        f"/v1/contacts/{world['contact_id']}/interactions", json=call, headers=h["a"]
    )
    assert logged.status_code == 201, logged.text

    lists = {
        "/v1/contacts": "id",
        "/v1/analytics/losing-touch": "contact_id",
        "/v1/touches": "contact_id",
        "/v1/enrollments": "contact_id",
        "/v1/interactions": "contact_id",
        "/v1/rewards": "referrer_id",
        "/v1/referrals": "source_contact_id",
    }
    for path, key in lists.items():
        seen_by_b = await _ids(client, path, h["b"], key)
        seen_by_a = await _ids(client, path, h["a"], key)
        seen_by_leader = await _ids(client, path, h["leader"], key)
        assert seen_by_b & mine == set(), path
        assert seen_by_a, path
        assert seen_by_a <= mine, path
        assert seen_by_a <= seen_by_leader, path
    assert bs <= await _ids(client, "/v1/contacts", h["b"], "id")
    assert bs & await _ids(client, "/v1/contacts", h["a"], "id") == set()

    exported = await client.get("/v1/contacts/export", params={"format": "csv"}, headers=h["b"])
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert {r["id"] for r in rows} == bs

    funnel = {
        role: (await client.get("/v1/analytics/funnel", headers=h[role])).json()["received"]
        for role in ("a", "b", "leader", "admin")
    }
    assert funnel == {"a": 1, "b": 0, "leader": 1, "admin": 1}
    value = {
        role: (await client.get("/v1/analytics/referral-value", headers=h[role])).json()
        for role in ("a", "b")
    }
    assert value["a"]["total"]["inputs"]["contacts"] == 1
    assert value["b"]["total"]["inputs"]["contacts"] == 0

    # The event feed is the whole team's: refused to agents, open to the leader.
    assert (await client.get("/v1/events", headers=h["b"])).status_code == 403
    assert (await client.get("/v1/events", headers=h["leader"])).status_code == 200


async def test_sharing_and_team_visibility_open_a_contact_to_another_agent(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    team = await _team(client, tenant)
    world: World = team["world"]
    h, people = team["headers"], team["people"]
    contact = f"/v1/contacts/{world['contact_id']}"
    assert (await client.get(contact, headers=h["b"])).status_code == 404
    shared = await client.put(f"{contact}/shares/{people['b']}", headers=h["a"])
    assert shared.status_code in (200, 201), shared.text
    assert (await client.get(contact, headers=h["b"])).status_code == 200
    assert world["contact_id"] in await _ids(client, "/v1/contacts", h["b"], "id")
    other = f"/v1/contacts/{world['other_contact_id']}"
    assert (await client.get(other, headers=h["b"])).status_code == 404
    await _visibility(client, tenant, "team")
    assert (await client.get(other, headers=h["b"])).status_code == 200


async def test_an_assistant_sees_the_agents_it_assists(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    team = await _team(client, tenant)
    world: World = team["world"]
    body = {
        "name": "Sam",
        "email": "sam@example.com",
        "role": "assistant",
        "assists": [team["people"]["a"]],
    }
    created = await client.post("/v1/members", json=body, headers=tenant.headers)
    assert created.status_code == 201, created.text
    sam = await _session(client, tenant, str(created.json()["id"]))
    found = await client.get(f"/v1/contacts/{world['contact_id']}", headers=sam)
    assert found.status_code == 200, found.text


async def test_a_members_writes_are_attributed_in_the_audit_log(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    team = await _team(client, tenant)
    world: World = team["world"]
    h, a_id = team["headers"], team["people"]["a"]
    contact = f"/v1/contacts/{world['contact_id']}"
    changed = await client.patch(contact, json={"first_name": "Renamed"}, headers=h["a"])
    assert changed.status_code == 200
    birthday = {"kind": "anniversary", "month": 6, "day": 2}
    added = await client.post(f"{contact}/observances", json=birthday, headers=h["a"])
    assert added.status_code == 201, added.text

    refused = await client.get("/v1/audit-log", headers=h["a"])
    assert refused.status_code == 403
    log = await client.get("/v1/audit-log", params={"actor_id": a_id}, headers=h["admin"])
    assert log.status_code == 200, log.text
    entries = log.json()["data"]
    assert {e["actor"]["id"] for e in entries} == {a_id}
    assert all(e["actor"] == {"type": "member", "id": a_id, "name": "Avery"} for e in entries)
    update = next(e for e in entries if e["action"] == "contact.updated")
    assert update["resource_id"] == world["contact_id"]
    assert update["changes"]["first_name"] == {"before": "Contact", "after": "Renamed"}
    # The event (and so the webhook payload) names A too; an API key's write names the key.
    events = await client.get(
        "/v1/events", params={"types": "contact.updated", "limit": 200}, headers=h["leader"]
    )
    mine = [e for e in events.json()["data"] if e["data"]["id"] == world["contact_id"]]
    assert mine[-1]["actor"] == {"type": "member", "id": a_id, "name": "Avery"}
    by_key = await client.patch(contact, json={"job_title": "Broker"}, headers=tenant.headers)
    assert by_key.status_code == 200
    keyed = await client.get(
        "/v1/audit-log", params={"resource_id": world["contact_id"]}, headers=h["admin"]
    )
    newest = keyed.json()["data"][0]
    assert newest["actor"]["type"] == "api_key"
    assert newest["changes"]["job_title"] == {"before": None, "after": "Broker"}
    generic = next(e for e in entries if e["action"] == "createObservance")
    assert generic["resource_type"] == "observances"
    assert uuid.UUID(generic["resource_id"]) == uuid.UUID(added.json()["id"])


async def test_a_key_bound_to_an_agent_acts_within_the_agents_role(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    team = await _team(client, tenant)
    world: World = team["world"]
    body = {"name": "agent's key", "scopes": ["admin"], "member_id": team["people"]["b"]}
    created = await client.post("/v1/api-keys", json=body, headers=tenant.headers)
    assert created.status_code == 201, created.text
    bound = _bearer(created.json()["key"])
    me = await client.get("/v1/me", headers=bound)
    assert me.json()["actor"]["id"] == team["people"]["b"]
    assert sorted(me.json()["scopes"]) == ["read", "write"]  # admin, within an agent's role
    assert (await client.get("/v1/contacts", headers=bound)).status_code == 200
    assert (await client.get("/v1/api-keys", headers=bound)).status_code == 403
    mine = await client.get(f"/v1/contacts/{world['contact_id']}", headers=bound)
    assert mine.status_code == 404  # B's key sees what B sees
