"""Observances, relationships and service records of a contact."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.models.contacts.log_schemas import ObservanceKind
from app.services.touches import timing as touch_timing
from tests.conftest import Tenant
from tests.contact_fixtures import locs, new_contact, new_member

NOWHERE = "00000000-0000-4000-8000-000000000000"


async def _post(
    client: httpx.AsyncClient, tenant: Tenant, contact_id: str, what: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(f"/v1/contacts/{contact_id}/{what}", json=body, headers=tenant.headers)


async def _list(
    client: httpx.AsyncClient, tenant: Tenant, contact_id: str, what: str
) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/contacts/{contact_id}/{what}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def test_observance_kinds_match_the_touch_timing_rules() -> None:
    assert ObservanceKind == touch_timing.ObservanceKind


async def test_observances_in_calendar_order_with_next_date(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact = await new_contact(client, tenant)
    cid = contact["id"]
    leap = {"kind": "birthday", "month": 2, "day": 29, "year": 1992}
    home = {"kind": "home_anniversary", "month": 12, "day": 1, "year": 2019}
    custom = {"kind": "custom", "label": "Retired", "month": 6, "day": 30}
    for body in (home, leap, custom):
        assert (await _post(client, tenant, cid, "observances", body)).status_code == 201
    listed = await _list(client, tenant, cid, "observances")
    assert [(o["month"], o["day"]) for o in listed] == [(2, 29), (6, 30), (12, 1)]
    # Today is 2026-11-23: 2027 is a common year, so 29 February falls on the 28th.
    assert [o["next_occurrence"] for o in listed] == ["2027-02-28", "2027-06-30", "2026-12-01"]
    deleted = await client.delete(
        f"/v1/contacts/{cid}/observances/{listed[0]['id']}", headers=tenant.headers
    )
    assert deleted.status_code == 204
    assert len(await _list(client, tenant, cid, "observances")) == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "nameday", "month": 1, "day": 1}, "kind"),
        ({"kind": "birthday", "month": 13, "day": 1}, "month"),
        ({"kind": "birthday", "month": 4, "day": 31}, "day"),
        ({"kind": "birthday", "month": 2, "day": 29, "year": 1991}, "day"),
        ({"kind": "birthday", "month": 2, "day": 30}, "day"),
        ({"kind": "birthday", "month": 1, "day": 1, "year": 1800}, "year"),
        ({"kind": "custom", "month": 1, "day": 1}, "label"),
    ],
)
async def test_bad_observance_is_422_naming_the_field(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], field: str
) -> None:
    contact = await new_contact(client, tenant)
    response = await _post(client, tenant, contact["id"], "observances", body)
    assert any(field in loc for loc in locs(response)), response.text


async def test_symmetric_relationship_is_stored_once_and_seen_from_both_sides(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ana = await new_contact(client, tenant, first_name="Ana")
    ben = await new_contact(client, tenant, first_name="Ben")
    made = await _post(
        client, tenant, ana["id"], "relationships", {"related_id": ben["id"], "type": "spouse"}
    )
    assert made.status_code == 201, made.text
    again = await _post(
        client, tenant, ben["id"], "relationships", {"related_id": ana["id"], "type": "spouse"}
    )
    assert again.status_code == 409
    (from_ben,) = await _list(client, tenant, ben["id"], "relationships")
    assert (from_ben["related_id"], from_ben["type"]) == (ana["id"], "spouse")


async def test_parent_and_child_invert_across_sides(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    mom = await new_contact(client, tenant, first_name="Mom")
    kid = await new_contact(client, tenant, first_name="Kid")
    made = await _post(
        client, tenant, kid["id"], "relationships", {"related_id": mom["id"], "type": "parent"}
    )
    assert made.json()["type"] == "parent"
    dup = await _post(
        client, tenant, mom["id"], "relationships", {"related_id": kid["id"], "type": "child"}
    )
    assert dup.status_code == 409  # the same fact, said from the other side
    (from_mom,) = await _list(client, tenant, mom["id"], "relationships")
    assert (from_mom["related_id"], from_mom["type"]) == (kid["id"], "child")
    referrer = await new_contact(client, tenant, first_name="Ref")
    await _post(
        client,
        tenant,
        kid["id"],
        "relationships",
        {"related_id": referrer["id"], "type": "referred_by"},
    )
    (from_referrer,) = await _list(client, tenant, referrer["id"], "relationships")
    assert from_referrer["type"] == "referred"
    gone = await client.delete(
        f"/v1/contacts/{mom['id']}/relationships/{from_mom['id']}", headers=tenant.headers
    )
    assert gone.status_code == 204
    assert len(await _list(client, tenant, kid["id"], "relationships")) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "spouse"}, "related_id"),
        ({"related_id": NOWHERE, "type": "spouse"}, "related_id"),
        ({"related_id": "SELF", "type": "spouse"}, "related_id"),
        ({"related_id": "OTHER", "type": "nemesis"}, "type"),
        ({"related_id": "OTHER", "type": "custom"}, "label"),
        ({"related_id": "OTHER", "type": "custom", "label": "x" * 101}, "label"),
    ],
)
async def test_bad_relationship_is_422_naming_the_field(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], field: str
) -> None:
    me = await new_contact(client, tenant)
    other = await new_contact(client, tenant, first_name="Other")
    ids = {"SELF": me["id"], "OTHER": other["id"]}
    if "related_id" in body:
        body = {**body, "related_id": ids.get(body["related_id"], body["related_id"])}
    response = await _post(client, tenant, me["id"], "relationships", body)
    assert any(field in loc for loc in locs(response)), response.text


async def test_service_record_with_ratings_and_partner(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    client_contact = await new_contact(client, tenant, segment="client")
    lender = await new_contact(
        client, tenant, first_name="Lee", segment="allied_resource", allied_category="lender"
    )
    member = await new_member(client, tenant, "dana@acme.example")
    body = {
        "date": "2026-10-01",
        "service": "Home purchase",
        "value": "425000.00",
        "member_id": member,
        "partner_id": lender["id"],
        "ratings": {"communication": 9, "quality": 8, "value": 7, "satisfaction": 9},
    }
    made = await _post(client, tenant, client_contact["id"], "service-records", body)
    assert made.status_code == 201, made.text
    assert made.json()["value"] == "425000.00"
    assert made.json()["ratings"]["quality"] == 8
    listed = await _list(client, tenant, client_contact["id"], "service-records")
    assert [r["id"] for r in listed] == [made.json()["id"]]
    url = f"/v1/contacts/{client_contact['id']}/service-records/{made.json()['id']}"
    assert (await client.delete(url, headers=tenant.headers)).status_code == 204


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"date": "yesterday"}, "date"),
        ({"service": ""}, "service"),
        ({"value": "-1"}, "value"),
        ({"value": "1.234"}, "value"),
        ({"ratings": {"communication": 0}}, "ratings"),
        ({"ratings": {"satisfaction": 11}}, "ratings"),
        ({"member_id": NOWHERE}, "member_id"),
        ({"partner_id": NOWHERE}, "partner_id"),
        ({"partner_id": "NOT_ALLIED"}, "partner_id"),
    ],
)
async def test_bad_service_record_is_422_naming_the_field(
    client: httpx.AsyncClient, tenant: Tenant, fields: dict[str, Any], field: str
) -> None:
    contact = await new_contact(client, tenant)
    plain = await new_contact(client, tenant, first_name="Plain")
    if fields.get("partner_id") == "NOT_ALLIED":
        fields = {"partner_id": plain["id"]}
    body = {"date": "2026-10-01", "service": "Listing", **fields}
    response = await _post(client, tenant, contact["id"], "service-records", body)
    assert any(field in loc for loc in locs(response)), response.text


async def test_other_tenant_cannot_reach_records(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    me = await new_contact(client, tenant)
    spouse = await new_contact(client, tenant, first_name="Sp")
    obs = await _post(
        client, tenant, me["id"], "observances", {"kind": "birthday", "month": 1, "day": 2}
    )
    rel = await _post(
        client, tenant, me["id"], "relationships", {"related_id": spouse["id"], "type": "spouse"}
    )
    rec = await _post(
        client, tenant, me["id"], "service-records", {"date": "2026-01-01", "service": "S"}
    )
    base = f"/v1/contacts/{me['id']}"
    foreign = other_tenant.headers
    for what in ("observances", "relationships", "service-records"):
        assert (await client.get(f"{base}/{what}", headers=foreign)).status_code == 404
    assert (
        await _post(
            client,
            other_tenant,
            me["id"],
            "observances",
            {"kind": "birthday", "month": 1, "day": 2},
        )
    ).status_code == 404
    for url in (
        f"{base}/observances/{obs.json()['id']}",
        f"{base}/relationships/{rel.json()['id']}",
        f"{base}/service-records/{rec.json()['id']}",
    ):
        assert (await client.delete(url, headers=foreign)).status_code == 404
    theirs = await new_contact(client, other_tenant, first_name="Theirs")
    cross = await _post(
        client, tenant, me["id"], "relationships", {"related_id": theirs["id"], "type": "colleague"}
    )
    assert ["body", "related_id"] in locs(cross)
    lender = await new_contact(
        client, other_tenant, first_name="L", segment="allied_resource", allied_category="lender"
    )
    cross = await _post(
        client,
        tenant,
        me["id"],
        "service-records",
        {"date": "2026-01-01", "service": "S", "partner_id": lender["id"]},
    )
    assert ["body", "partner_id"] in locs(cross)
