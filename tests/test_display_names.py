"""Every list and report names a contact by its display name ("Maria Santos", a business's
company name), as the contact itself shows it, never by the lowercased sort key."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import T0, Tenant
from tests.contact_fixtures import new_contact

PERIOD = {"from": str(T0.date().replace(month=1, day=1)), "to": str(T0.date())}


async def _get(client: httpx.AsyncClient, tenant: Tenant, url: str, **params: Any) -> Any:
    response = await client.get(url, params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_lists_and_reports_show_display_names(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    maria = await new_contact(client, tenant, first_name="Maria", last_name="Santos")
    acme = await new_contact(
        client, tenant, kind="business", company_name="Acme Title", first_name="Pat"
    )
    lender = await new_contact(
        client,
        tenant,
        kind="business",
        first_name=None,
        last_name=None,
        company_name="Lenders Inc",
        segment="allied_resource",
        allied_category="lender",
    )
    client_ = await new_contact(client, tenant, first_name="Jo", last_name="Client")
    names = {maria["id"]: "Maria Santos", acme["id"]: "Acme Title", lender["id"]: "Lenders Inc"}
    names[client_["id"]] = "Jo Client"
    for contact in (maria, acme, lender, client_):
        assert contact["display_name"] == names[contact["id"]]

    for source in (maria, acme):
        body = {"source_contact_id": source["id"], "referred_contact_id": client_["id"]}
        made = await client.post("/v1/referrals", json=body, headers=tenant.headers)
        assert made.status_code == 201, made.text
        move = {"to_stage": "closed", "actual_value": "1000.00"}
        url = f"/v1/referrals/{made.json()['id']}/transitions"
        assert (await client.post(url, json=move, headers=tenant.headers)).status_code == 200
    record = {"date": str(T0.date()), "service": "mortgage", "partner_id": lender["id"]}
    url = f"/v1/contacts/{client_['id']}/service-records"
    assert (await client.post(url, json=record, headers=tenant.headers)).status_code == 201
    assert (await client.post("/v1/scores/recompute", headers=tenant.headers)).status_code == 200

    losing = await _get(client, tenant, "/v1/analytics/losing-touch", limit=200)
    assert {i["contact_id"]: i["name"] for i in losing["data"]} == names
    scores = await _get(client, tenant, "/v1/scores", limit=200)
    assert {i["contact_id"]: i["name"] for i in scores["data"]} == names
    value = await _get(client, tenant, "/v1/analytics/referral-value", by="source", **PERIOD)
    assert {r["key"]: r["label"] for r in value["rows"] if r["key"]} == {
        maria["id"]: "Maria Santos",
        acme["id"]: "Acme Title",
    }
    mix = await _get(client, tenant, "/v1/analytics/lead-sources", by="source", **PERIOD)
    assert sorted(r["label"] for r in mix["sources"]) == ["Acme Title", "Maria Santos"]
    allied = await _get(client, tenant, "/v1/analytics/allied-resources", **PERIOD)
    assert [r["name"] for r in allied["partners"]] == ["Lenders Inc"]
