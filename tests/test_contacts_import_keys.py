"""Keys in an import: the contacts a batch's external ids, e-mails and phones point at are
found in one statement, and a claim reports exactly the keys another writer holds (it
inserts the rest)."""

from __future__ import annotations

import uuid

import httpx

from app.db import Database
from app.services.contacts.importing.match import lookup
from app.services.contacts.importing.rows import Key, Row, claim
from tests.conftest import Tenant
from tests.contact_fixtures import new_contact


def _row(keys: list[Key], emails: tuple[str, ...] = (), phones: tuple[str, ...] = ()) -> Row:
    return Row(2, keys, emails, phones, None, [], "", "", "", "", b"")


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
        keys = [("crm", "X"), ("crm", "Y"), ("zendesk", "7"), ("crm", "Z")]
        found = await lookup(session, tenant.id, [_row(keys)], ["external_id"])
    assert lost == {("crm", "X")}
    assert found.external == {
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
        found = await lookup(session, tenant.id, [_row([("crm", "1")])], ["external_id"])
    assert found.external == {("crm", "1"): contact}


async def test_emails_match_any_address_without_case_and_phones_any_number(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    two = await new_contact(
        client,
        tenant,
        emails=[{"address": "Dana@Work.example"}, {"address": "dana@home.example"}],
        phones=[{"number": "+14155550123"}, {"number": "+14155550199"}],
    )
    await new_contact(client, other_tenant, emails=[{"address": "dana@home.example"}])
    row = _row([], ("DANA@work.example", "dana@home.example"), ("+14155550199",))
    async with db.transaction() as session:
        found = await lookup(session, tenant.id, [row], ["email", "phone"])
        only_email = await lookup(session, tenant.id, [row], ["email"])
    me = uuid.UUID(two["id"])  # the other workspace's contact is not found
    assert found.emails == {"dana@work.example": {me}, "dana@home.example": {me}}
    assert found.phones == {"+14155550199": {me}}
    assert only_email.phones == {}
