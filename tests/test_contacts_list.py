"""Listing contacts: filters, prefix search, sorts and keyset cursors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from app.clock import FrozenClock
from tests.conftest import T0, Tenant
from tests.contact_fixtures import locs, new_contact, new_member


async def _ids(client: httpx.AsyncClient, tenant: Tenant, **params: Any) -> list[str]:
    response = await client.get("/v1/contacts", params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["data"]]


async def _all_pages(
    client: httpx.AsyncClient, tenant: Tenant, **params: Any
) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/contacts", params=query, headers=tenant.headers)).json()
        seen += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


async def _engage(
    client: httpx.AsyncClient, tenant: Tenant, contact_id: str, days_ago: int
) -> None:
    at = (T0 - timedelta(days=days_ago)).isoformat()
    response = await client.post(
        f"/v1/contacts/{contact_id}/interactions",
        json={"channel": "call", "direction": "inbound", "occurred_at": at},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text


async def test_q_matches_prefixes_of_name_company_email_and_phone(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    maria = await new_contact(
        client,
        tenant,
        last_name="O'Brien",
        company="Harbor Title",
        emails=[{"address": "mob@harbormail.example"}],
        phones=[{"number": "(415) 555-0123"}],
    )
    await new_contact(client, tenant, first_name="Sam", last_name="Ortega")
    for q in (
        "mar",
        "MARIA o'bri",
        "harb",
        "harbormail",
        "mob@harbor",
        "415 555",
        "+1 (415) 555-01",
    ):
        assert await _ids(client, tenant, q=q) == [maria["id"]], q
    assert await _ids(client, tenant, q="maria sam") == []


@pytest.mark.parametrize("q", ["a & b", "x:* | !y", "'", "\\", "(((", "a<->b", "é"])
async def test_q_never_passes_syntax_to_the_database(
    client: httpx.AsyncClient, tenant: Tenant, q: str
) -> None:
    await new_contact(client, tenant)
    response = await client.get("/v1/contacts", params={"q": q}, headers=tenant.headers)
    assert response.status_code in (200, 422), response.text


async def test_q_without_letters_or_digits_is_422(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.get("/v1/contacts", params={"q": "!!!"}, headers=tenant.headers)
    assert ["query", "q"] in locs(response)


async def test_filters(client: httpx.AsyncClient, tenant: Tenant) -> None:
    owner = await new_member(client, tenant, "dana@acme.example")
    a = await new_contact(
        client,
        tenant,
        segment="client",
        tags=["vip", "golf"],
        owner_id=owner,
        consent={"email": {"status": "granted"}, "sms": {"status": "denied"}},
    )
    b = await new_contact(
        client,
        tenant,
        first_name="Lena",
        segment="allied_resource",
        allied_category="lender",
        tags=["golf"],
        advocacy_stage="advocate",
        do_not_contact=True,
    )
    assert await _ids(client, tenant, segment="client") == [a["id"]]
    assert sorted(await _ids(client, tenant, tags_any=["vip", "golf"])) == sorted(
        [a["id"], b["id"]]
    )
    assert await _ids(client, tenant, tags_all=["vip", "golf"]) == [a["id"]]
    assert await _ids(client, tenant, owner_id=owner) == [a["id"]]
    assert await _ids(client, tenant, advocacy_stage="advocate") == [b["id"]]
    assert await _ids(client, tenant, allied_category="lender") == [b["id"]]
    assert await _ids(client, tenant, consent="email") == [a["id"]]
    assert await _ids(client, tenant, consent="sms") == []
    assert await _ids(client, tenant, do_not_contact="true") == [b["id"]]


async def test_losing_touch_filter_includes_the_never_engaged(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    recent = await new_contact(client, tenant, first_name="Recent")
    stale = await new_contact(client, tenant, first_name="Stale")
    never = await new_contact(client, tenant, first_name="Never")
    await _engage(client, tenant, recent["id"], days_ago=10)
    await _engage(client, tenant, stale["id"], days_ago=200)
    cutoff = (T0 - timedelta(days=90)).isoformat()
    losing = await _ids(client, tenant, engaged_before=cutoff, sort="last_engaged")
    assert losing == [never["id"], stale["id"]]
    assert await _ids(client, tenant, engaged_after=cutoff) == [recent["id"]]


async def test_updated_since(client: httpx.AsyncClient, tenant: Tenant, clock: FrozenClock) -> None:
    old = await new_contact(client, tenant)
    clock.advance(timedelta(hours=1))
    fresh = await new_contact(client, tenant, first_name="Fresh")
    since = (T0 + timedelta(minutes=30)).isoformat()
    assert await _ids(client, tenant, updated_since=since) == [fresh["id"]]
    await client.patch(f"/v1/contacts/{old['id']}", json={"job_title": "X"}, headers=tenant.headers)
    assert len(await _ids(client, tenant, updated_since=since)) == 2


@pytest.mark.parametrize(
    "sort", ["name", "-name", "created", "-created", "last_engaged", "-last_engaged"]
)
async def test_every_sort_pages_through_every_contact_once_in_order(
    client: httpx.AsyncClient, tenant: Tenant, clock: FrozenClock, sort: str
) -> None:
    names = ["Zoe", "adam", "Mia", "mia", "Bo"]
    created = []
    for i, name in enumerate(names):
        clock.advance(timedelta(minutes=1))
        contact = await new_contact(client, tenant, first_name=name, last_name="Same")
        created.append(contact)
        if i % 2 == 0:
            await _engage(client, tenant, contact["id"], days_ago=i)
    seen = await _all_pages(client, tenant, sort=sort)
    assert sorted(c["id"] for c in seen) == sorted(c["id"] for c in created)
    key = {
        "name": lambda c: (f"same {c['first_name'].lower()}", c["id"]),
        "created": lambda c: (c["created_at"], c["id"]),
        "last_engaged": lambda c: (c["last_engaged_at"] or "", c["id"]),
    }[sort.lstrip("-")]
    assert [c["id"] for c in seen] == [
        c["id"] for c in sorted(seen, key=key, reverse=sort.startswith("-"))
    ]


async def test_cursor_of_another_sort_is_422(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for _ in range(3):
        await new_contact(client, tenant)
    page = await client.get("/v1/contacts", params={"limit": 1}, headers=tenant.headers)
    response = await client.get(
        "/v1/contacts",
        params={"limit": 1, "sort": "created", "cursor": page.json()["next_cursor"]},
        headers=tenant.headers,
    )
    assert ["query", "cursor"] in locs(response)
