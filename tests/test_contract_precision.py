"""The document says exactly what the API accepts: what it refuses, it does not advertise.

Found by running Schemathesis against a served instance (`st run --checks all`): bodies
valid by the document that the API refused, and values the document forbids that the API
took. Each test pins one such gap shut.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.main import create_app
from tests.conftest import Tenant, make_settings


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    document: dict[str, Any] = create_app(make_settings()).openapi()
    return document


@pytest.mark.parametrize("value", ["0", "1700000000", "2026-1-5", "20261201"])
async def test_a_date_is_only_yyyy_mm_dd(
    client: httpx.AsyncClient, tenant: Tenant, value: str
) -> None:
    response = await client.get(f"/v1/analytics/funnel?to={value}", headers=tenant.headers)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["query", "to"]


async def test_an_iso_date_still_works(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get("/v1/analytics/funnel?to=2026-11-30", headers=tenant.headers)
    assert response.status_code == 200, response.text
    assert response.json()["period"]["end_date"] == "2026-11-30"


def test_every_tagged_union_member_requires_its_tag(spec: dict[str, Any]) -> None:
    tagged = {
        name: schema
        for name, schema in spec["components"]["schemas"].items()
        if "const" in schema.get("properties", {}).get("kind", {})
    }
    assert {"FixedAmount", "PercentAmount", "TieredAmount", "AfterEnrollment"} <= set(tagged)
    assert [n for n, s in tagged.items() if "kind" not in s.get("required", [])] == []


def test_fields_that_refuse_null_are_not_documented_as_nullable(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for model, fields in (
        ("ContactUpdate", ["kind", "segment", "tags", "consent", "do_not_contact"]),
        ("ActivityUpdate", ["kind", "name", "date", "cost"]),
    ):
        for field in fields:
            prop = schemas[model]["properties"][field]
            assert {"type": "null"} not in prop.get("anyOf", []), (model, field)
    nullable = schemas["ContactUpdate"]["properties"]["first_name"]  # may be cleared
    assert {"type": "null"} in nullable["anyOf"]


async def test_a_null_where_the_document_has_none_is_refused(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await client.post("/v1/contacts", json={"first_name": "Ada"}, headers=tenant.headers)
    response = await client.patch(
        f"/v1/contacts/{created.json()['id']}", json={"kind": None}, headers=tenant.headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "kind"]
