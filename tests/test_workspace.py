"""Workspace settings: validation, ETags and optimistic concurrency."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Tenant


async def test_defaults(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get("/v1/workspace", headers=tenant.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["lapse_threshold_days"] == 90
    assert body["referral_follow_up_hours"] == 24
    assert body["send_window"] == {"start": "09:00", "end": "20:00"}
    assert body["score_weights"] == {
        "communication": 0.4,
        "reciprocity": 0.35,
        "appreciation": 0.25,
    }
    assert response.headers["etag"] == '"1"'


async def test_patch_changes_settings_and_bumps_version(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.patch(
        "/v1/workspace",
        json={
            "time_zone": "Europe/Berlin",
            "send_window": {"start": "08:30", "end": "18:00"},
            "score_weights": {"communication": 0.5, "reciprocity": 0.3, "appreciation": 0.2},
        },
        headers={**tenant.headers, "If-Match": '"1"'},
    )
    assert response.status_code == 200, response.text
    assert response.json()["time_zone"] == "Europe/Berlin"
    assert response.json()["version"] == 2
    assert response.headers["etag"] == '"2"'


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"score_weights": {"communication": 0.5, "reciprocity": 0.5, "appreciation": 0.5}},
            "score_weights",
        ),
        (
            {"score_weights": {"communication": -0.5, "reciprocity": 1, "appreciation": 0.5}},
            "score_weights",
        ),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"time_zone": "EST"}, "time_zone"),
        ({"lapse_threshold_days": 0}, "lapse_threshold_days"),
        ({"referral_follow_up_hours": "soon"}, "referral_follow_up_hours"),
        ({"send_window": {"start": "20:00", "end": "09:00"}}, "send_window"),
        ({"send_window": {"start": "9am", "end": "18:00"}}, "start"),
        ({"send_window": {"start": "09:00:00", "end": "18:00"}}, "start"),
        ({"name": ""}, "name"),
        ({"name": "a\u0000b"}, "name"),
        ({"colour": "blue"}, "colour"),
    ],
)
async def test_bad_settings_are_422_naming_the_field(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, object], field: str
) -> None:
    response = await client.patch("/v1/workspace", json=body, headers=tenant.headers)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert any(field in err["loc"] for err in problem["errors"]), problem
    unchanged = await client.get("/v1/workspace", headers=tenant.headers)
    assert unchanged.json()["version"] == 1


async def test_stale_if_match_is_412(client: httpx.AsyncClient, tenant: Tenant) -> None:
    first = await client.patch(
        "/v1/workspace", json={"name": "One"}, headers={**tenant.headers, "If-Match": '"1"'}
    )
    assert first.status_code == 200
    stale = await client.patch(
        "/v1/workspace", json={"name": "Two"}, headers={**tenant.headers, "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    assert (await client.get("/v1/workspace", headers=tenant.headers)).json()["name"] == "One"


async def test_patch_needs_admin_scope(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await client.post(
        "/v1/api-keys", json={"name": "w", "scopes": ["read", "write"]}, headers=tenant.headers
    )
    writer = {"Authorization": f"Bearer {created.json()['key']}"}
    response = await client.patch("/v1/workspace", json={"name": "X"}, headers=writer)
    assert response.status_code == 403


@pytest.mark.parametrize("value", ["null", "3", '"abc"', "x" * 65])
async def test_malformed_if_match_is_422_naming_the_header(
    client: httpx.AsyncClient, tenant: Tenant, value: str
) -> None:
    """A header is a string or absent: `null` is just a malformed ETag, not "no precondition"."""
    response = await client.patch(
        "/v1/workspace", json={"name": "Kept?"}, headers={**tenant.headers, "If-Match": value}
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [error["loc"] for error in response.json()["errors"]] == [["header", "If-Match"]]
    after = await client.get("/v1/workspace", headers=tenant.headers)
    assert after.json()["name"] != "Kept?"


def test_if_match_is_documented_as_a_string_only() -> None:
    from app.main import create_app

    document = create_app().openapi()
    (header,) = [
        p for p in document["paths"]["/v1/workspace"]["patch"]["parameters"] if p["in"] == "header"
    ]
    assert header["name"] == "If-Match"
    assert header["schema"]["type"] == "string"
    assert "anyOf" not in header["schema"]
    assert header["schema"]["pattern"]
