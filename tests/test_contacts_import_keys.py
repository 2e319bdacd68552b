"""External ids in an import: known ones are found, and a claim reports exactly the keys
another writer holds (it inserts the rest)."""

from __future__ import annotations

import uuid

import httpx

from app.db import Database
from app.services.contacts.importing.rows import claim, known_keys
from tests.conftest import Tenant
from tests.contact_fixtures import new_contact


async def test_a_claim_reports_the_keys_another_contact_holds_and_inserts_the_rest(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    holder = await new_contact(client, tenant, external_ids={"crm": "X", "hubspot": "7"})
    other = await new_contact(client, tenant, first_name="Dana")
    mine = uuid.UUID(other["id"])
    async with db.transaction() as session:
        lost = await claim(
            session,
            tenant.id,
            [(mine, ("crm", "X")), (mine, ("crm", "Y")), (mine, ("zendesk", "7"))],
        )
        known = await known_keys(
            session, tenant.id, {("crm", "X"), ("crm", "Y"), ("zendesk", "7"), ("crm", "Z")}
        )
    assert lost == {("crm", "X")}
    assert known == {
        ("crm", "X"): uuid.UUID(holder["id"]),
        ("crm", "Y"): mine,
        ("zendesk", "7"): mine,
    }


async def test_a_claim_with_nothing_taken_reports_nothing(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    contact = uuid.UUID((await new_contact(client, tenant))["id"])
    async with db.transaction() as session:
        assert await claim(session, tenant.id, [(contact, ("crm", "1"))]) == set()
        assert await known_keys(session, tenant.id, {("crm", "1")}) == {("crm", "1"): contact}
