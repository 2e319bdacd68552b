"""Upsert by external id: create or update, idempotent, and safe under concurrency."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import func, select

from app.db import Database
from app.models.contacts.tables import Contact, ContactExternalId
from tests.conftest import Tenant, make_tenant
from tests.contact_fixtures import locs, replica_clients

URL = "/v1/contacts/by-external-id/hubspot/51"


async def test_put_creates_then_updates_only_the_sent_fields(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await client.put(
        URL, json={"first_name": "Maria", "tags": ["vip"]}, headers=tenant.headers
    )
    assert created.status_code == 201, created.text
    assert created.json()["external_ids"] == {"hubspot": "51"}
    assert created.headers["location"] == f"/v1/contacts/{created.json()['id']}"
    updated = await client.put(URL, json={"last_name": "Lopez"}, headers=tenant.headers)
    assert updated.status_code == 200
    assert updated.json()["id"] == created.json()["id"]
    assert updated.json()["tags"] == ["vip"]
    assert updated.json()["display_name"] == "Maria Lopez"
    same = await client.put(URL, json={"last_name": "Lopez"}, headers=tenant.headers)
    assert same.status_code == 200
    assert same.json()["version"] == updated.json()["version"]  # nothing changed


async def test_put_keeps_the_path_id_when_the_body_lists_other_ids(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = {"first_name": "Maria", "external_ids": {"salesforce": "003X"}}
    created = await client.put(URL, json=body, headers=tenant.headers)
    assert created.json()["external_ids"] == {"hubspot": "51", "salesforce": "003X"}
    again = await client.put(URL, json={"external_ids": {}}, headers=tenant.headers)
    assert again.json()["external_ids"] == {"hubspot": "51"}


async def test_put_validates_path_and_body(client: httpx.AsyncClient, tenant: Tenant) -> None:
    bad_source = await client.put(
        "/v1/contacts/by-external-id/Hub Spot/1", json={"first_name": "A"}, headers=tenant.headers
    )
    assert ["path", "source"] in locs(bad_source)
    no_name = await client.put(URL, json={"tags": ["x"]}, headers=tenant.headers)
    assert ["body", "first_name"] in locs(no_name)


async def test_other_tenant_has_its_own_external_ids(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = await client.put(URL, json={"first_name": "Mine"}, headers=tenant.headers)
    theirs = await client.put(URL, json={"first_name": "Theirs"}, headers=other_tenant.headers)
    assert theirs.status_code == 201
    assert theirs.json()["id"] != mine.json()["id"]
    got = await client.get(f"/v1/contacts/{mine.json()['id']}", headers=tenant.headers)
    assert got.json()["first_name"] == "Mine"


async def test_concurrent_upserts_of_one_id_create_one_contact(committed_db: Database) -> None:
    tenant = await make_tenant(committed_db)
    async with replica_clients(committed_db) as clients:
        for n in range(5):
            url = f"/v1/contacts/by-external-id/crm/{n}"
            responses = await asyncio.gather(
                *(
                    c.put(url, json={"first_name": f"Racer {i}"}, headers=tenant.headers)
                    for i, c in enumerate(clients)
                )
            )
            assert sorted(r.status_code for r in responses) == [200, 201], [
                r.text for r in responses
            ]
            assert len({r.json()["id"] for r in responses}) == 1
    async with committed_db.transaction() as session:
        contacts = await session.scalar(
            select(func.count()).select_from(Contact).where(Contact.workspace_id == tenant.id)
        )
        keys = await session.scalar(
            select(func.count())
            .select_from(ContactExternalId)
            .where(ContactExternalId.workspace_id == tenant.id)
        )
    assert (contacts, keys) == (5, 5)
