"""Contacts: fields, validation, versioning, erasure and events."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Tenant
from tests.contact_fixtures import locs, new_contact, new_member


async def _events(client: httpx.AsyncClient, tenant: Tenant) -> list[dict[str, Any]]:
    response = await client.get("/v1/events", headers=tenant.headers)
    data: list[dict[str, Any]] = response.json()["data"]
    return [e for e in data if e["type"].startswith("contact.")]


async def test_create_normalises_emails_phones_and_tags(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact = await new_contact(
        client,
        tenant,
        emails=[
            {"address": "maria@work.example", "type": "work"},
            {"address": "maria@home.example", "type": "home", "primary": True},
        ],
        phones=[{"number": "(415) 555-0123"}, {"number": "+44 20 7946 0958", "type": "work"}],
        tags=["vip", " vip ", "2024-buyer"],
        address={"city": "Oakland", "country": "us"},
    )
    assert contact["primary_email"] == "maria@home.example"
    assert [p["number"] for p in contact["phones"]] == ["+14155550123", "+442079460958"]
    assert contact["primary_phone"] == "+14155550123"
    assert contact["tags"] == ["vip", "2024-buyer"]
    assert contact["address"]["country"] == "US"
    assert contact["display_name"] == "Maria Lopez"
    assert contact["version"] == 1


async def test_default_region_parses_national_numbers(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact = await new_contact(
        client, tenant, default_region="GB", phones=[{"number": "020 7946 0958"}]
    )
    assert contact["primary_phone"] == "+442079460958"


async def test_business_contact_sorts_by_company(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = {"kind": "business", "company_name": "Acme Lending", "segment": "allied_resource"}
    response = await client.post(
        "/v1/contacts", json={**body, "allied_category": "Lender"}, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    assert response.json()["display_name"] == "Acme Lending"
    assert response.json()["allied_category"] == "lender"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"first_name": ""}, "first_name"),
        ({"first_name": "x" * 201}, "first_name"),
        ({"last_name": 5}, "last_name"),
        ({"kind": "robot", "first_name": "A"}, "kind"),
        ({"first_name": "A", "emails": [{"address": "not-an-email"}]}, "emails"),
        ({"first_name": "A", "emails": [{"address": "a@x.example", "type": "pager"}]}, "emails"),
        (
            {
                "first_name": "A",
                "emails": [
                    {"address": "a@x.example", "primary": True},
                    {"address": "b@x.example", "primary": True},
                ],
            },
            "emails",
        ),
        ({"first_name": "A", "phones": [{"number": "12"}]}, "phones"),
        ({"first_name": "A", "phones": [{"number": "+1 555 0000 000"}]}, "phones"),
        ({"first_name": "A", "default_region": "XX"}, "default_region"),
        ({"first_name": "A", "address": {"country": "USA"}}, "address"),
        ({"first_name": "A", "time_zone": "EST"}, "time_zone"),
        ({"first_name": "A", "time_zone": "Mars/Base"}, "time_zone"),
        ({"first_name": "A", "locale": "english please"}, "locale"),
        ({"first_name": "A", "owner_id": "nope"}, "owner_id"),
        ({"first_name": "A", "segment": "friend"}, "segment"),
        ({"first_name": "A", "allied_category": "has space"}, "allied_category"),
        ({"first_name": "A", "advocacy_stage": "fan"}, "advocacy_stage"),
        ({"first_name": "A", "family": [{"name": "Kid"}]}, "family"),
        (
            {"first_name": "A", "family": [{"name": "K", "relation": "c", "birthday": "x"}]},
            "family",
        ),
        ({"first_name": "A", "interests": [""]}, "interests"),
        ({"first_name": "A", "tags": ["x" * 101]}, "tags"),
        ({"first_name": "A", "tags": "vip"}, "tags"),
        ({"first_name": "A", "custom_fields": [1]}, "custom_fields"),
        ({"first_name": "A", "custom_fields": {"blob": "x" * 17_000}}, "custom_fields"),
        ({"first_name": "A", "consent": {"email": {"status": "maybe"}}}, "consent"),
        ({"first_name": "A", "consent": {"fax": {"status": "granted"}}}, "consent"),
        (
            {"first_name": "A", "consent": {"sms": {"status": "granted", "at": "2026-01-01"}}},
            "consent",
        ),
        ({"first_name": "A", "do_not_contact": "sometimes"}, "do_not_contact"),
        ({"first_name": "A", "external_ids": {"Bad Source": "1"}}, "external_ids"),
        ({"first_name": "A", "external_ids": {"crm": ""}}, "external_ids"),
        ({"first_name": "A", "last_engaged_at": "2026-01-01T00:00:00Z"}, "last_engaged_at"),
        ({"first_name": "A", "emails": None}, "emails"),
        ({"first_name": "A\x00"}, "first_name"),
    ],
)
async def test_bad_input_is_422_naming_the_field(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/v1/contacts", json=body, headers=tenant.headers)
    assert any(field in loc for loc in locs(response)), response.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "first_name"),
        ({"kind": "business", "first_name": "A"}, "company_name"),
        ({"first_name": "A", "segment": "allied_resource"}, "allied_category"),
        ({"first_name": "A", "allied_category": "lender"}, "allied_category"),
        ({"first_name": "A", "owner_id": "00000000-0000-4000-8000-000000000000"}, "owner_id"),
    ],
)
async def test_rules_over_the_whole_contact_are_422_naming_the_field(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/v1/contacts", json=body, headers=tenant.headers)
    assert any(field in loc for loc in locs(response)), response.text


async def test_owner_must_be_a_member_of_the_same_workspace(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = await new_member(client, tenant, "dana@acme.example")
    theirs = await new_member(client, other_tenant, "rival@rival.example")
    assert (await new_contact(client, tenant, owner_id=mine))["owner_id"] == mine
    response = await client.post(
        "/v1/contacts", json={"first_name": "A", "owner_id": theirs}, headers=tenant.headers
    )
    assert ["body", "owner_id"] in locs(response)


async def test_patch_changes_only_sent_fields_and_reports_them(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact = await new_contact(client, tenant, tags=["a"], job_title="Chef")
    url = f"/v1/contacts/{contact['id']}"
    response = await client.patch(
        url,
        json={"last_name": "Lopez-Garcia", "advocacy_stage": "advocate", "job_title": None},
        headers={**tenant.headers, "If-Match": '"1"'},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["tags"] == ["a"]
    assert body["job_title"] is None
    assert body["advocacy_stage"] == "advocate"
    assert body["advocacy_stage_manual"] is True
    assert body["version"] == 2
    assert response.headers["etag"] == '"2"'
    updated = [e for e in await _events(client, tenant) if e["type"] == "contact.updated"]
    assert updated[-1]["data"]["changed_fields"] == ["advocacy_stage", "job_title", "last_name"]


async def test_stale_if_match_is_412(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await new_contact(client, tenant)
    url = f"/v1/contacts/{contact['id']}"
    await client.patch(url, json={"first_name": "Mia"}, headers=tenant.headers)
    stale = await client.patch(
        url, json={"first_name": "Ria"}, headers={**tenant.headers, "If-Match": '"1"'}
    )
    assert stale.status_code == 412


async def test_patch_keeps_rules_on_the_merged_contact(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact = await new_contact(client, tenant)
    url = f"/v1/contacts/{contact['id']}"
    response = await client.patch(url, json={"segment": "allied_resource"}, headers=tenant.headers)
    assert ["body", "allied_category"] in locs(response)
    response = await client.patch(
        url, json={"first_name": None, "last_name": None}, headers=tenant.headers
    )
    assert ["body", "first_name"] in locs(response)
    response = await client.patch(url, json={"segment": None}, headers=tenant.headers)
    assert ["body", "segment"] in locs(response)
    allied = await client.patch(
        url,
        json={"segment": "allied_resource", "allied_category": "inspector"},
        headers=tenant.headers,
    )
    back = await client.patch(url, json={"segment": "client"}, headers=tenant.headers)
    assert allied.json()["allied_category"] == "inspector"
    assert back.json()["allied_category"] is None


async def test_external_id_of_another_contact_is_409(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await new_contact(client, tenant, external_ids={"crm": "7"})
    response = await client.post(
        "/v1/contacts",
        json={"first_name": "B", "external_ids": {"crm": "7"}},
        headers=tenant.headers,
    )
    assert response.status_code == 409
    other = await new_contact(client, tenant, first_name="C")
    patched = await client.patch(
        f"/v1/contacts/{other['id']}", json={"external_ids": {"crm": "7"}}, headers=tenant.headers
    )
    assert patched.status_code == 409


async def test_delete_erases_the_contact_and_what_hangs_off_it(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact = await new_contact(client, tenant, external_ids={"crm": "9"})
    url = f"/v1/contacts/{contact['id']}"
    await client.post(
        f"{url}/observances",
        json={"kind": "birthday", "month": 5, "day": 1},
        headers=tenant.headers,
    )
    await client.post(
        f"{url}/interactions",
        json={"channel": "call", "direction": "inbound", "occurred_at": "2026-11-01T10:00:00Z"},
        headers=tenant.headers,
    )
    assert (await client.delete(url, headers=tenant.headers)).status_code == 204
    assert (await client.get(url, headers=tenant.headers)).status_code == 404
    assert (await client.get(f"{url}/observances", headers=tenant.headers)).status_code == 404
    log = await client.get("/v1/interactions", headers=tenant.headers)
    assert log.json()["data"] == []
    again = await client.put(
        "/v1/contacts/by-external-id/crm/9", json={"first_name": "New"}, headers=tenant.headers
    )
    assert again.status_code == 201  # the external id went with the erased contact
    deleted = [e for e in await _events(client, tenant) if e["type"] == "contact.deleted"]
    assert deleted[0]["data"] == {"id": contact["id"]}


async def test_created_event_carries_the_contact(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await new_contact(client, tenant)
    (created,) = [e for e in await _events(client, tenant) if e["type"] == "contact.created"]
    assert created["data"]["id"] == contact["id"]
    assert created["data"]["display_name"] == "Maria Lopez"


async def test_other_tenant_cannot_read_change_or_delete(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    contact = await new_contact(client, tenant)
    url = f"/v1/contacts/{contact['id']}"
    foreign = other_tenant.headers
    assert (await client.get(url, headers=foreign)).status_code == 404
    assert (await client.patch(url, json={"first_name": "X"}, headers=foreign)).status_code == 404
    assert (await client.delete(url, headers=foreign)).status_code == 404
    assert (await client.get("/v1/contacts", headers=foreign)).json()["data"] == []
    assert (await client.get(url, headers=tenant.headers)).json()["first_name"] == "Maria"
