"""Contacts: fields, validation, versioning, erasure and events."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy import text

from app.db import Database
from app.models.contacts.inputs import ContactCreate, EmailEntry
from tests.conftest import Tenant
from tests.contact_fixtures import default_sender, locs, new_contact, new_member
from tests.webhook_helpers import register_endpoint


async def _events(client: httpx.AsyncClient, tenant: Tenant) -> list[dict[str, Any]]:
    response = await client.get("/v1/events", headers=tenant.headers)
    data: list[dict[str, Any]] = response.json()["data"]
    return [e for e in data if e["type"].startswith("contact.")]


GRANTED = {c: {"status": "granted"} for c in ("email", "sms", "call", "mail")}


async def _ok(
    client: httpx.AsyncClient, tenant: Tenant, url: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(url, json=body, headers=tenant.headers)
    assert response.status_code in (200, 201), response.text
    data: dict[str, Any] = response.json()
    return data


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
        ({"first_name": "A", "custom_fields": {"bad\x00key": 1}}, "custom_fields"),
        ({"first_name": "A", "custom_fields": {"a": {"nested\x00": [1]}}}, "custom_fields"),
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
    created_before = len(await _events(client, tenant))
    response = await client.post(
        "/v1/contacts",
        json={"first_name": "B", "external_ids": {"erp": "1", "crm": "7"}},
        headers=tenant.headers,
    )
    assert response.status_code == 409
    assert "crm/7" in response.json()["detail"]
    # The create is refused whole: no contact, no event, and its free key is not kept.
    listed = await client.get("/v1/contacts", params={"q": "B"}, headers=tenant.headers)
    assert [c["first_name"] for c in listed.json()["data"]] == []
    assert len(await _events(client, tenant)) == created_before
    await new_contact(client, tenant, first_name="D", external_ids={"erp": "1"})
    other = await new_contact(client, tenant, first_name="C")
    patched = await client.patch(
        f"/v1/contacts/{other['id']}", json={"external_ids": {"crm": "7"}}, headers=tenant.headers
    )
    assert patched.status_code == 409


MARIA = {
    "first_name": "Maria",
    "last_name": "Lopez",
    "emails": [{"address": "maria@erase.example"}],
    "external_ids": {"crm": "9"},
    "tags": ["8x8"],
    "consent": GRANTED,
}


async def test_delete_erases_the_contact_and_what_hangs_off_it(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await default_sender(client, tenant)  # so that Maria enters the 8x8
    created = await client.post(
        "/v1/contacts",
        json=MARIA,
        headers={**tenant.headers, "Idempotency-Key": "create-maria"},
    )
    assert created.status_code == 201, created.text
    contact = created.json()
    cid = contact["id"]
    url = f"/v1/contacts/{cid}"
    friend = await new_contact(client, tenant, first_name="Friend")
    twin = await new_contact(client, tenant, emails=[{"address": "maria.l@erase.example"}])
    await _ok(client, tenant, f"{url}/merge", {"other_id": twin["id"]})  # the same person
    await _ok(client, tenant, f"{url}/observances", {"kind": "birthday", "month": 5, "day": 1})
    call = {"channel": "call", "direction": "inbound", "occurred_at": "2026-11-01T10:00:00Z"}
    await _ok(client, tenant, f"{url}/interactions", call)
    await _ok(client, tenant, f"{url}/service-records", {"date": "2026-01-01", "service": "Sale"})
    related = {"related_id": cid, "type": "colleague"}  # the erased contact is the related side
    await _ok(client, tenant, f"/v1/contacts/{friend['id']}/relationships", related)
    party = {"kind": "client_party", "name": "Party", "date": "2026-12-01"}
    activity = await _ok(client, tenant, "/v1/engagement-activities", party)
    invite = {"contact_ids": [cid], "status": "invited"}
    await _ok(client, tenant, f"/v1/engagement-activities/{activity['id']}/participants", invite)
    referral = await _ok(
        client,
        tenant,
        "/v1/referrals",
        {
            "source_contact_id": cid,
            "referred_contact_id": friend["id"],
            "notes": "Maria says her sister is moving",
        },
    )
    move = {"to_stage": "contacted", "note": "called Maria's sister"}
    await _ok(client, tenant, f"/v1/referrals/{referral['id']}/transitions", move)
    ids = {"ws": tenant.id, "cid": cid}
    async with db.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO contact_scores (workspace_id, contact_id, score, communication, "
                "reciprocity, appreciation, computed_at, change) "
                "VALUES (:ws, :cid, 20, 1, 1, 1, now(), 0)"
            ),
            ids,
        )
    hanging = {  # table: how its rows name the contact
        "enrollments": "contact_id = :cid",
        "touches": "contact_id = :cid",
        "contact_scores": "contact_id = :cid",
        "observances": "contact_id = :cid",
        "interactions": "contact_id = :cid",
        "service_records": "contact_id = :cid",
        "engagement_participants": "contact_id = :cid",
        # stored once for both sides: the erased contact may be either column
        "contact_relationships": ":cid IN (contact_id, related_id)",
    }

    async def counts() -> dict[str, int]:
        async with db.transaction() as session:
            return {
                t: (
                    await session.execute(
                        text(f"SELECT count(*) FROM {t} WHERE workspace_id = :ws AND {c}"),
                        ids,
                    )
                ).scalar_one()
                for t, c in hanging.items()
            }

    before = await counts()
    assert all(n > 0 for n in before.values()), str(before)

    assert (await client.delete(url, headers=tenant.headers)).status_code == 204
    assert (await client.get(url, headers=tenant.headers)).status_code == 404
    assert (await client.get(f"{url}/observances", headers=tenant.headers)).status_code == 404
    log = await client.get("/v1/interactions", headers=tenant.headers)
    assert log.json()["data"] == []
    assert set((await counts()).values()) == {0}
    friends = await client.get(f"/v1/contacts/{friend['id']}/relationships", headers=tenant.headers)
    assert friends.json()["data"] == []
    again = await client.put(
        "/v1/contacts/by-external-id/crm/9", json={"first_name": "New"}, headers=tenant.headers
    )
    assert again.status_code == 201  # the external id went with the erased contact

    events = (await client.get("/v1/events", params={"limit": 200}, headers=tenant.headers)).json()
    for event in events["data"]:
        assert "maria" not in json.dumps(event["data"]).lower(), event
    about = {
        e["type"]: e["data"]
        for e in events["data"]
        if cid in json.dumps(e) or e["data"].get("erased")
    }
    created_events = [e["data"] for e in events["data"] if e["type"] == "contact.created"]
    assert {"id": cid, "erased": True} in created_events
    assert {"id": twin["id"], "erased": True} in created_events  # merged in earlier
    assert about["referral.created"] == {"id": referral["id"], "erased": True}
    assert about["referral.stage_changed"] == {"id": referral["id"], "erased": True}
    assert about["contact.deleted"] == {"id": cid}
    kept = await client.get(f"/v1/referrals/{referral['id']}", headers=tenant.headers)
    assert kept.json()["notes"] is None
    assert kept.json()["source_contact_id"] is None
    history = await client.get(f"/v1/referrals/{referral['id']}/history", headers=tenant.headers)
    assert [h["note"] for h in history.json()["data"]] == [None, None]
    replay = await client.post(
        "/v1/contacts",
        json=MARIA,
        headers={**tenant.headers, "Idempotency-Key": "create-maria"},
    )
    assert replay.status_code == 410  # the key's one effect is gone; nothing of Maria left
    assert replay.headers["idempotent-replayed"] == "true"
    assert "Maria" not in replay.text
    assert "erase.example" not in replay.text


async def _echo(_host: str, _port: int) -> list[str]:  # resolved here, never sent
    return ["127.0.0.1"]


async def test_erasure_drops_what_receivers_answered_to_the_persons_events(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await register_endpoint(db, tenant, "http://echo.test/in", _echo, allow_private=True)
    maria = await new_contact(client, tenant)
    kept = await new_contact(client, tenant, first_name="Kept", last_name="Other")
    async with db.transaction() as session:  # the receiver echoed each payload back
        await session.execute(
            text(
                "INSERT INTO webhook_attempts (workspace_id, id, delivery_id, attempted_at,"
                " status_code, latency_ms, response_body)"
                " SELECT d.workspace_id, gen_random_uuid(), d.id, now(), 200, 5,"
                " CAST(e.data AS text) FROM webhook_deliveries AS d JOIN events AS e"
                " ON e.workspace_id = d.workspace_id AND e.id = d.event_id"
                " WHERE d.workspace_id = :ws"
            ),
            {"ws": tenant.id},
        )
    deleted = await client.delete(f"/v1/contacts/{maria['id']}", headers=tenant.headers)
    assert deleted.status_code == 204
    async with db.transaction() as session:
        bodies = (
            await session.execute(
                text("SELECT response_body FROM webhook_attempts WHERE workspace_id = :ws"),
                {"ws": tenant.id},
            )
        ).scalars()
        answered = [b for b in bodies if b is not None]
    assert len(answered) == 1
    assert kept["id"] in answered[0]  # the other contact's answer stays
    assert not any("Maria" in b for b in answered)


async def test_erasure_finds_events_through_the_index(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    """The scrub reads the events about one contact, not the whole outbox."""
    from app.services.contacts.erasure import _SCRUB_EVENTS

    async with db.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO events (workspace_id, event_uid, type, occurred_at, data) "
                "SELECT :ws, gen_random_uuid(), 'contact.updated', now(), "
                "jsonb_build_object('id', gen_random_uuid()) FROM generate_series(1, 20000)"
            ),
            {"ws": tenant.id},
        )
        await session.execute(text("ANALYZE events"))
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = await session.execute(
            text(f"EXPLAIN {_SCRUB_EVENTS.text}"),
            {"ws": tenant.id, "ids": ["5a3f0c1e-8d2b-4c6a-9f1e-2b7d4e6a8c10"]},
        )
        assert "ix_events_contact_refs" in "\n".join(r[0] for r in plan)


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


@pytest.mark.parametrize(
    "address", ["Dana@EXAMPLE.com", "dana+tag@Sub.Example.org", "d@xn--bcher-kva.example"]
)
def test_email_addresses_read_as_pydantic_email_str_reads_them(address: str) -> None:
    """``EmailAddress`` remembers validated addresses: asked twice, it gives EmailStr's
    normal form both times."""
    reference = TypeAdapter(EmailStr)
    for _ in range(2):
        assert EmailEntry(address=address).address == reference.validate_python(address)


def test_a_refused_email_address_is_refused_every_time() -> None:
    for _ in range(2):
        with pytest.raises(ValidationError, match="not a valid email address"):
            EmailEntry(address="dana@@example.com")


def test_a_domain_is_checked_once_and_its_refusal_every_time() -> None:
    """Domains' checks are remembered per domain (``common``): addresses sharing a valid
    domain read as EmailStr reads them, and an invalid domain is refused each time, also
    after the valid ones (nothing of a refusal is remembered)."""
    reference = TypeAdapter(EmailStr)
    for local in ("ana", "Bo.Lee", "c+d"):
        address = f"{local}@Shared-Domain.Example"
        assert EmailEntry(address=address).address == reference.validate_python(address)
    for local in ("ana", "bo"):
        with pytest.raises(ValidationError, match="not a valid email address"):
            EmailEntry(address=f"{local}@bad_domain.example")


@pytest.mark.parametrize(
    "custom_fields",
    [
        {"deep": [[{"k": ["\x00"]}]]},  # in a string, nested
        {"a": {"b\x00": 1}},  # in a key
        {"big": 2**70, "s": "\x00"},  # beside a number JSON's writer refuses
    ],
)
def test_nul_is_refused_wherever_it_is(custom_fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="NUL characters"):
        ContactCreate(first_name="A", custom_fields=custom_fields)


def test_text_that_reads_like_an_escaped_nul_is_kept() -> None:
    """``\\u0000`` as six characters is text, not a NUL: the JSON check looks closer."""
    fields = {"note": "\\u0000 is how JSON writes NUL", "big": 2**70}
    assert ContactCreate(first_name="A", custom_fields=fields).custom_fields == fields
