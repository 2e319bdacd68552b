"""Members: CRUD, uniqueness, pagination and tenant isolation."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Tenant


async def _create(client: httpx.AsyncClient, tenant: Tenant, n: int) -> dict[str, object]:
    response = await client.post(
        "/v1/members",
        json={"name": f"Member {n}", "email": f"m{n}@example.com", "role": "agent"},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def test_crud(client: httpx.AsyncClient, tenant: Tenant) -> None:
    member = await _create(client, tenant, 1)
    url = f"/v1/members/{member['id']}"
    got = await client.get(url, headers=tenant.headers)
    assert got.json()["email"] == "m1@example.com"
    assert got.headers["etag"] == '"1"'
    patched = await client.patch(
        url, json={"role": "leader", "active": False}, headers={**tenant.headers, "If-Match": '"1"'}
    )
    assert patched.json()["role"] == "leader"
    assert patched.json()["active"] is False
    assert (await client.delete(url, headers=tenant.headers)).status_code == 204
    assert (await client.get(url, headers=tenant.headers)).status_code == 404


async def test_duplicate_email_is_409_case_insensitive(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await _create(client, tenant, 1)
    response = await client.post(
        "/v1/members", json={"name": "Dup", "email": "M1@Example.com"}, headers=tenant.headers
    )
    assert response.status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "A", "email": "not-an-email"}, "email"),
        ({"name": "A", "email": "a@example.com", "role": "boss"}, "role"),
        ({"email": "a@example.com"}, "name"),
        ({"name": "A" * 201, "email": "a@example.com"}, "name"),
        ({"name": "A", "email": "a@example.com", "active": "maybe"}, "active"),
        ({"name": "A", "email": "a@example.com", "extra": 1}, "extra"),
    ],
)
async def test_bad_member_input_is_422_naming_the_field(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, object], field: str
) -> None:
    response = await client.post("/v1/members", json=body, headers=tenant.headers)
    assert response.status_code == 422
    assert any(field in err["loc"] for err in response.json()["errors"])


async def test_pages_cover_every_member_once(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = {str((await _create(client, tenant, n))["id"]) for n in range(7)}
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/v1/members", params=params, headers=tenant.headers)).json()
        seen += [m["id"] for m in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(created)
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 201}, {"limit": "x"}, {"cursor": "garbage"}, {"cursor": "W10"}],
)
async def test_bad_paging_is_422(
    client: httpx.AsyncClient, tenant: Tenant, params: dict[str, object]
) -> None:
    response = await client.get("/v1/members", params=params, headers=tenant.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"][0] == "query"


async def test_other_workspace_sees_404_everywhere(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    member = await _create(client, tenant, 1)
    url = f"/v1/members/{member['id']}"
    h = other_tenant.headers
    assert (await client.get(url, headers=h)).status_code == 404
    assert (await client.patch(url, json={"name": "X"}, headers=h)).status_code == 404
    assert (await client.delete(url, headers=h)).status_code == 404
    assert (await client.get("/v1/members", headers=h)).json()["data"] == []
    assert (await client.get(url, headers=tenant.headers)).json()["name"] == "Member 1"


async def test_patch_with_a_stale_if_match_is_412_and_changes_nothing(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    member = await _create(client, tenant, 1)
    url = f"/v1/members/{member['id']}"
    first = await client.patch(
        url, json={"name": "First edit"}, headers={**tenant.headers, "If-Match": '"1"'}
    )
    assert first.status_code == 200
    assert first.headers["etag"] == '"2"'
    stale = await client.patch(
        url, json={"name": "Lost update"}, headers={**tenant.headers, "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    assert stale.json()["type"].endswith("/precondition-failed")
    current = await client.get(url, headers=tenant.headers)
    assert current.json()["name"] == "First edit"
    assert current.headers["etag"] == '"2"'


async def test_a_members_time_zone_is_set_changed_and_cleared(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    plain = await _create(client, tenant, 1)
    assert plain["time_zone"] is None  # the workspace's
    created = await client.post(
        "/v1/members",
        json={"name": "Kiri", "email": "kiri@example.com", "time_zone": "Asia/Tokyo"},
        headers=tenant.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["time_zone"] == "Asia/Tokyo"
    url = f"/v1/members/{created.json()['id']}"
    moved = await client.patch(
        url, json={"time_zone": "Pacific/Auckland"}, headers={**tenant.headers, "If-Match": '"1"'}
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["time_zone"], moved.headers["etag"]) == ("Pacific/Auckland", '"2"')
    renamed = await client.patch(url, json={"name": "Kiri T."}, headers=tenant.headers)
    assert renamed.json()["time_zone"] == "Pacific/Auckland"  # left out: unchanged
    cleared = await client.patch(url, json={"time_zone": None}, headers=tenant.headers)
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["time_zone"] is None
    assert (await client.get(url, headers=tenant.headers)).json()["time_zone"] is None
    listed = (await client.get("/v1/members", headers=tenant.headers)).json()["data"]
    assert {m["name"]: m["time_zone"] for m in listed} == {"Member 1": None, "Kiri T.": None}
    log = await client.get(
        "/v1/audit-log",
        params={"resource_type": "member", "resource_id": created.json()["id"]},
        headers=tenant.headers,
    )
    assert log.status_code == 200, log.text
    zones = [e["changes"]["time_zone"] for e in log.json()["data"] if "time_zone" in e["changes"]]
    assert {"before": "Pacific/Auckland", "after": None} in zones
    assert {"before": "Asia/Tokyo", "after": "Pacific/Auckland"} in zones


@pytest.mark.parametrize("zone", ["EST", "Mars/Olympus_Mons", "", "x" * 65, 7])
async def test_an_unknown_time_zone_is_422_naming_time_zone(
    client: httpx.AsyncClient, tenant: Tenant, zone: object
) -> None:
    body = {"name": "A", "email": "a@example.com", "time_zone": zone}
    refused = await client.post("/v1/members", json=body, headers=tenant.headers)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert [e["loc"] for e in refused.json()["errors"]] == [["body", "time_zone"]]
    member = await _create(client, tenant, 1)
    url = f"/v1/members/{member['id']}"
    bad = await client.patch(url, json={"time_zone": zone}, headers=tenant.headers)
    assert bad.status_code == 422, bad.text
    assert [e["loc"] for e in bad.json()["errors"]] == [["body", "time_zone"]]
    current = await client.get(url, headers=tenant.headers)
    assert (current.json()["time_zone"], current.headers["etag"]) == (None, '"1"')
