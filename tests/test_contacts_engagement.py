"""Engagement activities and participants; attendance counts as engagement."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Tenant
from tests.contact_fixtures import locs, new_contact

PARTY = {
    "kind": "client_party",
    "name": "Spring client party",
    "date": "2026-11-20",
    "cost": "1250.00",
    "audience": "past clients",
}


async def _activity(client: httpx.AsyncClient, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    response = await client.post(
        "/v1/engagement-activities", json={**PARTY, **fields}, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def _set(
    client: httpx.AsyncClient, tenant: Tenant, activity_id: str, ids: list[str], status: str
) -> httpx.Response:
    return await client.post(
        f"/v1/engagement-activities/{activity_id}/participants",
        json={"contact_ids": ids, "status": status},
        headers=tenant.headers,
    )


async def test_activity_crud_with_versions(client: httpx.AsyncClient, tenant: Tenant) -> None:
    activity = await _activity(client, tenant)
    assert activity["cost"] == "1250.00"
    url = f"/v1/engagement-activities/{activity['id']}"
    patched = await client.patch(
        url, json={"name": "Summer party"}, headers={**tenant.headers, "If-Match": '"1"'}
    )
    assert patched.json()["version"] == 2
    stale = await client.patch(
        url, json={"name": "Autumn"}, headers={**tenant.headers, "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    await _activity(client, tenant, kind="webcast", date="2026-12-01")
    listed = await client.get("/v1/engagement-activities", headers=tenant.headers)
    assert [a["kind"] for a in listed.json()["data"]] == ["webcast", "client_party"]
    only = await client.get(
        "/v1/engagement-activities", params={"kind": "webcast"}, headers=tenant.headers
    )
    assert len(only.json()["data"]) == 1
    assert (await client.delete(url, headers=tenant.headers)).status_code == 204
    assert (await client.get(url, headers=tenant.headers)).status_code == 404


async def test_attending_counts_as_engagement_on_the_activity_day(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    activity = await _activity(client, tenant)
    a = await new_contact(client, tenant)
    b = await new_contact(client, tenant, first_name="Bo")
    invited = await _set(client, tenant, activity["id"], [a["id"], b["id"]], "invited")
    assert invited.status_code == 200, invited.text
    attended = await _set(client, tenant, activity["id"], [a["id"]], "attended")
    assert attended.json()[0]["attended_at"] == "2026-11-20T12:00:00Z"
    got = await client.get(f"/v1/contacts/{a['id']}", headers=tenant.headers)
    assert got.json()["last_engaged_at"] == "2026-11-20T12:00:00Z"
    not_yet = await client.get(f"/v1/contacts/{b['id']}", headers=tenant.headers)
    assert not_yet.json()["last_engaged_at"] is None
    url = f"/v1/engagement-activities/{activity['id']}/participants"
    everyone = await client.get(url, headers=tenant.headers)
    assert len(everyone.json()["data"]) == 2
    went = await client.get(url, params={"status": "attended"}, headers=tenant.headers)
    assert [p["contact_id"] for p in went.json()["data"]] == [a["id"]]
    removed = await client.delete(f"{url}/{b['id']}", headers=tenant.headers)
    assert removed.status_code == 204


async def test_merge_keeps_one_participant_row_with_the_furthest_status(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    activity = await _activity(client, tenant)
    keep = await new_contact(client, tenant)
    other = await new_contact(client, tenant, first_name="Dup")
    await _set(client, tenant, activity["id"], [keep["id"]], "invited")
    await _set(client, tenant, activity["id"], [other["id"]], "attended")
    merged = await client.post(
        f"/v1/contacts/{keep['id']}/merge", json={"other_id": other["id"]}, headers=tenant.headers
    )
    assert merged.status_code == 200, merged.text
    url = f"/v1/engagement-activities/{activity['id']}/participants"
    (row,) = (await client.get(url, headers=tenant.headers)).json()["data"]
    assert (row["contact_id"], row["status"]) == (keep["id"], "attended")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "picnic"}, "kind"),
        ({"name": ""}, "name"),
        ({"date": "soon"}, "date"),
        ({"cost": "-5"}, "cost"),
        ({"cost": "abc"}, "cost"),
        ({"audience": "x" * 501}, "audience"),
    ],
)
async def test_bad_activity_is_422_naming_the_field(
    client: httpx.AsyncClient, tenant: Tenant, fields: dict[str, Any], field: str
) -> None:
    response = await client.post(
        "/v1/engagement-activities", json={**PARTY, **fields}, headers=tenant.headers
    )
    assert any(field in loc for loc in locs(response)), response.text


async def test_bad_participants_are_422_naming_the_field(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    activity = await _activity(client, tenant)
    mine = await new_contact(client, tenant)
    theirs = await new_contact(client, other_tenant)
    assert ["body", "status"] in locs(
        await _set(client, tenant, activity["id"], [mine["id"]], "maybe")
    )
    assert ["body", "contact_ids"] in locs(
        await _set(client, tenant, activity["id"], [], "invited")
    )
    foreign = await _set(client, tenant, activity["id"], [theirs["id"]], "invited")
    assert ["body", "contact_ids"] in locs(foreign)


async def test_other_tenant_cannot_reach_activities(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    activity = await _activity(client, tenant)
    mine = await new_contact(client, tenant)
    await _set(client, tenant, activity["id"], [mine["id"]], "invited")
    url = f"/v1/engagement-activities/{activity['id']}"
    foreign = other_tenant.headers
    assert (await client.get(url, headers=foreign)).status_code == 404
    assert (await client.patch(url, json={"name": "X"}, headers=foreign)).status_code == 404
    assert (await client.get(f"{url}/participants", headers=foreign)).status_code == 404
    theirs = await new_contact(client, other_tenant)
    assert (
        await _set(client, other_tenant, activity["id"], [theirs["id"]], "invited")
    ).status_code == 404
    assert (
        await client.delete(f"{url}/participants/{mine['id']}", headers=foreign)
    ).status_code == 404
    assert (await client.delete(url, headers=foreign)).status_code == 404
    listed = await client.get("/v1/engagement-activities", headers=foreign)
    assert listed.json()["data"] == []


async def test_attendance_is_never_downgraded(client: httpx.AsyncClient, tenant: Tenant) -> None:
    activity = await _activity(client, tenant)
    a = await new_contact(client, tenant)
    b = await new_contact(client, tenant, first_name="Bo")
    await _set(client, tenant, activity["id"], [a["id"]], "attended")
    again = await _set(client, tenant, activity["id"], [a["id"], b["id"]], "registered")
    assert again.status_code == 200, again.text
    got = {p["contact_id"]: (p["status"], p["attended_at"]) for p in again.json()}
    assert got == {
        a["id"]: ("attended", "2026-11-20T12:00:00Z"),
        b["id"]: ("registered", None),
    }
    back = await _set(client, tenant, activity["id"], [b["id"]], "invited")
    assert back.json()[0]["status"] == "invited"  # only attendance is kept for good
