"""Duplicates and merge: everything that points at the merged contact moves."""

from __future__ import annotations

from typing import Any

import httpx

from app.services.contacts_merge import MERGE_REFERENCES
from tests.conftest import Tenant
from tests.contact_fixtures import locs, new_contact


async def _post(
    client: httpx.AsyncClient, tenant: Tenant, url: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(url, json=body, headers=tenant.headers)
    assert response.status_code in (200, 201), response.text
    data: dict[str, Any] = response.json()
    return data


async def _data(client: httpx.AsyncClient, tenant: Tenant, url: str) -> list[dict[str, Any]]:
    response = await client.get(url, headers=tenant.headers)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def test_duplicates_by_email_phone_and_name(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    a = await new_contact(client, tenant, emails=[{"address": "maria@x.example"}])
    b = await new_contact(
        client, tenant, first_name="Mary", emails=[{"address": "MARIA@x.example"}]
    )
    c = await new_contact(client, tenant, first_name="Zed", phones=[{"number": "415-555-0123"}])
    d = await new_contact(client, tenant, first_name="Yan", phones=[{"number": "+14155550123"}])
    await new_contact(client, tenant, first_name="Solo", last_name="Person")
    groups = await _data(client, tenant, "/v1/contacts/duplicates")
    found = {(g["reason"], g["value"]): sorted(g["contact_ids"]) for g in groups}
    assert found == {
        ("email", "maria@x.example"): sorted([a["id"], b["id"]]),
        ("phone", "+14155550123"): sorted([c["id"], d["id"]]),
    }
    e = await new_contact(client, tenant, first_name="maria", last_name="LOPEZ")
    groups = await _data(client, tenant, "/v1/contacts/duplicates")
    names = [g for g in groups if g["reason"] == "name"]
    assert names == [
        {"reason": "name", "value": "lopez maria", "contact_ids": sorted([a["id"], e["id"]])}
    ]


async def test_duplicates_page_with_a_cursor(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for n in range(3):
        for _ in range(2):
            await new_contact(client, tenant, first_name=f"Twin{n}")
    first = await client.get("/v1/contacts/duplicates", params={"limit": 2}, headers=tenant.headers)
    second = await client.get(
        "/v1/contacts/duplicates",
        params={"limit": 2, "cursor": first.json()["next_cursor"]},
        headers=tenant.headers,
    )
    values = [g["value"] for g in first.json()["data"] + second.json()["data"]]
    assert values == ["lopez twin0", "lopez twin1", "lopez twin2"]


async def test_merge_moves_history_fills_gaps_and_deletes_the_other(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    keep = await new_contact(
        client,
        tenant,
        emails=[{"address": "maria@x.example"}],
        tags=["vip"],
        external_ids={"crm": "1"},
        consent={"email": {"status": "granted", "at": "2026-01-01T00:00:00Z"}},
    )
    other = await new_contact(
        client,
        tenant,
        first_name="Mary",
        job_title="Chef",
        emails=[{"address": "mary@y.example"}],
        phones=[{"number": "415-555-0123"}],
        tags=["golf", "vip"],
        external_ids={"hubspot": "9"},
        consent={"email": {"status": "denied", "at": "2026-06-01T00:00:00Z"}},
        advocacy_stage="advocate",
    )
    friend = await new_contact(client, tenant, first_name="Friend")
    lender = await new_contact(
        client, tenant, first_name="Len", segment="allied_resource", allied_category="lender"
    )
    k, o = f"/v1/contacts/{keep['id']}", f"/v1/contacts/{other['id']}"
    call = {"channel": "call", "direction": "inbound", "occurred_at": "2026-11-01T10:00:00Z"}
    await _post(client, tenant, f"{o}/interactions", call)
    await _post(client, tenant, f"{o}/observances", {"kind": "birthday", "month": 3, "day": 4})
    await _post(client, tenant, f"{o}/service-records", {"date": "2026-01-01", "service": "Sale"})
    await _post(
        client,
        tenant,
        f"/v1/contacts/{friend['id']}/service-records",
        {"date": "2026-02-01", "service": "Loan", "partner_id": lender["id"]},
    )
    await _post(
        client, tenant, f"{o}/relationships", {"related_id": friend["id"], "type": "colleague"}
    )
    await _post(client, tenant, f"{o}/relationships", {"related_id": keep["id"], "type": "spouse"})
    await _post(
        client, tenant, f"{k}/relationships", {"related_id": friend["id"], "type": "colleague"}
    )

    merged = await client.post(f"{k}/merge", json={"other_id": other["id"]}, headers=tenant.headers)
    assert merged.status_code == 200, merged.text
    body = merged.json()
    assert (await client.get(o, headers=tenant.headers)).status_code == 404
    assert body["first_name"] == "Maria"  # the kept contact's own values win
    assert body["job_title"] == "Chef"  # gaps are filled
    assert [e["address"] for e in body["emails"]] == ["maria@x.example", "mary@y.example"]
    assert body["primary_email"] == "maria@x.example"
    assert body["primary_phone"] == "+14155550123"
    assert body["tags"] == ["vip", "golf"]
    assert body["external_ids"] == {"crm": "1", "hubspot": "9"}
    assert body["consent"]["email"]["status"] == "denied"  # the latest statement wins
    assert body["advocacy_stage"] == "advocate"
    assert body["last_engaged_at"] == "2026-11-01T10:00:00Z"
    assert len(await _data(client, tenant, f"{k}/interactions")) == 1
    assert len(await _data(client, tenant, f"{k}/observances")) == 1
    assert len(await _data(client, tenant, f"{k}/service-records")) == 1
    relationships = await _data(client, tenant, f"{k}/relationships")
    assert [(r["related_id"], r["type"]) for r in relationships] == [(friend["id"], "colleague")]
    upsert = await client.put(
        "/v1/contacts/by-external-id/hubspot/9", json={}, headers=tenant.headers
    )
    assert upsert.json()["id"] == keep["id"]
    events = (await client.get("/v1/events", headers=tenant.headers)).json()["data"]
    (merged_event,) = [e for e in events if e["type"] == "contact.merged"]
    assert merged_event["data"] == {"id": keep["id"], "merged_id": other["id"]}


async def test_merge_moves_partner_references(client: httpx.AsyncClient, tenant: Tenant) -> None:
    assert ("service_records", "partner_id") in MERGE_REFERENCES
    buyer = await new_contact(client, tenant, first_name="Buyer")
    lenders = [
        await new_contact(
            client, tenant, first_name=f"L{i}", segment="allied_resource", allied_category="lender"
        )
        for i in range(2)
    ]
    record = await _post(
        client,
        tenant,
        f"/v1/contacts/{buyer['id']}/service-records",
        {"date": "2026-02-01", "service": "Loan", "partner_id": lenders[1]["id"]},
    )
    await client.post(
        f"/v1/contacts/{lenders[0]['id']}/merge",
        json={"other_id": lenders[1]["id"]},
        headers=tenant.headers,
    )
    (moved,) = await _data(client, tenant, f"/v1/contacts/{buyer['id']}/service-records")
    assert moved["id"] == record["id"]
    assert moved["partner_id"] == lenders[0]["id"]


async def test_merge_refuses_itself_and_foreign_contacts(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = await new_contact(client, tenant)
    theirs = await new_contact(client, other_tenant)
    url = f"/v1/contacts/{mine['id']}/merge"
    itself = await client.post(url, json={"other_id": mine["id"]}, headers=tenant.headers)
    assert ["body", "other_id"] in locs(itself)
    foreign = await client.post(url, json={"other_id": theirs["id"]}, headers=tenant.headers)
    assert ["body", "other_id"] in locs(foreign)
    reverse = await client.post(
        f"/v1/contacts/{theirs['id']}/merge", json={"other_id": mine["id"]}, headers=tenant.headers
    )
    assert reverse.status_code == 404
    stolen = await client.post(
        url.replace(mine["id"], theirs["id"]),
        json={"other_id": mine["id"]},
        headers=other_tenant.headers,
    )
    assert ["body", "other_id"] in locs(stolen)
    assert (
        await client.get(f"/v1/contacts/{mine['id']}", headers=tenant.headers)
    ).status_code == 200
    dups = await client.get("/v1/contacts/duplicates", headers=other_tenant.headers)
    assert dups.json()["data"] == []
