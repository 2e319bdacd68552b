"""`GET /v1/contacts?lapsed=` lists the contacts the nightly recompute marked lapsed, or the
others; it combines with the other filters and stays inside the workspace."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx

from app.db import Database
from tests import score_fixtures as f
from tests.conftest import T0, Tenant

DAY = timedelta(days=1)


async def _population(db: Database, ws: uuid.UUID) -> dict[str, uuid.UUID]:
    async with db.transaction() as s:
        old = T0 - 400 * DAY
        return {
            "drifted": await f.contact(
                s, ws, "Drifted", created_at=old, last_engaged_at=T0 - 91 * DAY
            ),
            "quiet": await f.contact(
                s, ws, "Quiet", created_at=old, last_engaged_at=T0 - 200 * DAY, segment="prospect"
            ),
            "recent": await f.contact(
                s, ws, "Recent", created_at=old, last_engaged_at=T0 - 89 * DAY
            ),
            "new": await f.contact(s, ws, "New", created_at=T0 - 10 * DAY),
        }


async def _ids(client: httpx.AsyncClient, tenant: Tenant, query: str) -> set[str]:
    r = await client.get(f"/v1/contacts?{query}", headers=tenant.headers)
    assert r.status_code == 200, r.text
    return {c["id"] for c in r.json()["data"]}


async def test_lapsed_true_lists_the_marked_contacts_and_false_the_others(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    ids = await _population(db, tenant.id)
    before = await _ids(client, tenant, "lapsed=true")
    assert before == set()  # nothing is lapsed until the recompute marks it
    r = await client.post("/v1/scores/recompute", headers=tenant.headers)
    assert r.json()["lapsed"] == 2

    assert await _ids(client, tenant, "lapsed=true") == {str(ids["drifted"]), str(ids["quiet"])}
    assert await _ids(client, tenant, "lapsed=false") == {str(ids["recent"]), str(ids["new"])}
    assert len(await _ids(client, tenant, "")) == 4
    assert await _ids(client, tenant, "lapsed=true&segment=prospect") == {str(ids["quiet"])}


async def test_lapsed_filter_pages_with_the_other_sorts(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    ids = await _population(db, tenant.id)
    await client.post("/v1/scores/recompute", headers=tenant.headers)
    seen: list[str] = []
    url = "/v1/contacts?lapsed=true&sort=last_engaged&limit=1"
    cursor: str | None = None
    while True:
        page = (
            await client.get(url + (f"&cursor={cursor}" if cursor else ""), headers=tenant.headers)
        ).json()
        seen += [c["id"] for c in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [str(ids["quiet"]), str(ids["drifted"])]  # longest silence first


async def test_lapsed_filter_is_tenant_isolated(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    await _population(db, tenant.id)
    await client.post("/v1/scores/recompute", headers=tenant.headers)
    assert await _ids(client, other_tenant, "lapsed=true") == set()
    assert await _ids(client, other_tenant, "lapsed=false") == set()


async def test_a_lapsed_value_that_is_not_a_boolean_is_a_422_naming_it(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    r = await client.get("/v1/contacts?lapsed=sometimes", headers=tenant.headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["query", "lapsed"]
