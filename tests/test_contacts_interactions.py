"""The communication log and engagement: last_engaged_at and lapses."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.clock import FrozenClock
from app.db import Database
from app.services.contacts.interactions import log_interaction
from tests.conftest import T0, Tenant
from tests.contact_fixtures import default_sender, locs, new_contact, new_member


def _at(days_ago: float) -> str:
    return (T0 - timedelta(days=days_ago)).isoformat().replace("+00:00", "Z")


async def _log(
    client: httpx.AsyncClient, tenant: Tenant, contact_id: str, **fields: Any
) -> httpx.Response:
    body = {"channel": "call", "direction": "inbound", "occurred_at": _at(1), **fields}
    return await client.post(
        f"/v1/contacts/{contact_id}/interactions", json=body, headers=tenant.headers
    )


async def _contact(client: httpx.AsyncClient, tenant: Tenant, contact_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/contacts/{contact_id}", headers=tenant.headers)
    data: dict[str, Any] = response.json()
    return data


async def test_inbound_and_two_way_move_last_engaged_forward_only(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact = await new_contact(client, tenant)
    cid = contact["id"]
    assert (await _log(client, tenant, cid, occurred_at=_at(5))).status_code == 201
    assert (await _contact(client, tenant, cid))["last_engaged_at"] == _at(5)
    await _log(client, tenant, cid, direction="two_way", occurred_at=_at(2))
    assert (await _contact(client, tenant, cid))["last_engaged_at"] == _at(2)
    await _log(client, tenant, cid, occurred_at=_at(30))  # back-filled: older than the latest
    await _log(client, tenant, cid, direction="outbound", occurred_at=_at(0))
    assert (await _contact(client, tenant, cid))["last_engaged_at"] == _at(2)


async def test_engagement_clears_a_lapse_only_when_recent_enough(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    contact = await new_contact(client, tenant)
    async with db.transaction() as session:
        await session.execute(
            text("UPDATE contacts SET lapsed_at = :t WHERE id = :id"),
            {"t": T0 - timedelta(days=1), "id": contact["id"]},
        )
    await _log(client, tenant, contact["id"], occurred_at=_at(200))
    assert (await _contact(client, tenant, contact["id"]))["lapsed_at"] is not None
    await _log(client, tenant, contact["id"], occurred_at=_at(3))
    assert (await _contact(client, tenant, contact["id"]))["lapsed_at"] is None


async def test_log_interaction_is_callable_by_other_features(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    contact = await new_contact(client, tenant)
    async with db.transaction() as session:
        entry = await log_interaction(
            session,
            tenant.id,
            contact["id"],
            channel="email",
            direction="two_way",
            occurred_at=T0,
            summary="replied to the market report",
            at=T0,
        )
    assert entry.channel == "email"
    assert (await _contact(client, tenant, contact["id"]))["last_engaged_at"] == _at(0)


async def test_workspace_log_filters(client: httpx.AsyncClient, tenant: Tenant) -> None:
    member = await new_member(client, tenant, "sam@acme.example")
    a = await new_contact(client, tenant)
    b = await new_contact(client, tenant, first_name="Bo")
    await _log(client, tenant, a["id"], member_id=member, occurred_at=_at(10))
    await _log(client, tenant, b["id"], channel="email", direction="outbound", occurred_at=_at(5))
    await _log(client, tenant, b["id"], channel="meeting", direction="two_way", occurred_at=_at(1))

    async def summaries(**params: Any) -> list[str]:
        response = await client.get("/v1/interactions", params=params, headers=tenant.headers)
        assert response.status_code == 200, response.text
        return [f"{i['channel']}:{i['direction']}" for i in response.json()["data"]]

    assert await summaries() == ["meeting:two_way", "email:outbound", "call:inbound"]
    assert await summaries(member_id=member) == ["call:inbound"]
    assert await summaries(channel="email") == ["email:outbound"]
    assert await summaries(direction="two_way") == ["meeting:two_way"]
    assert await summaries(occurred_after=_at(6), occurred_before=_at(2)) == ["email:outbound"]
    per_contact = await client.get(f"/v1/contacts/{b['id']}/interactions", headers=tenant.headers)
    assert len(per_contact.json()["data"]) == 2


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"channel": "pigeon"}, "channel"),
        ({"direction": "sideways"}, "direction"),
        ({"occurred_at": "2026-11-01T10:00:00"}, "occurred_at"),
        ({"occurred_at": _at(-1)}, "occurred_at"),
        ({"member_id": "00000000-0000-4000-8000-000000000000"}, "member_id"),
        ({"duration_seconds": -1}, "duration_seconds"),
        ({"summary": "x" * 10_001}, "summary"),
        ({"touch_id": "t1"}, "touch_id"),
    ],
)
async def test_bad_interaction_is_422_naming_the_field(
    client: httpx.AsyncClient, tenant: Tenant, fields: dict[str, Any], field: str
) -> None:
    contact = await new_contact(client, tenant)
    response = await _log(client, tenant, contact["id"], **fields)
    assert any(field in loc for loc in locs(response)), response.text


async def test_other_tenant_cannot_log_or_read(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    contact = await new_contact(client, tenant)
    await _log(client, tenant, contact["id"])
    assert (await _log(client, other_tenant, contact["id"])).status_code == 404
    url = f"/v1/contacts/{contact['id']}/interactions"
    assert (await client.get(url, headers=other_tenant.headers)).status_code == 404
    theirs = await client.get("/v1/interactions", headers=other_tenant.headers)
    assert theirs.json()["data"] == []
    member = await new_member(client, other_tenant, "rival@rival.example")
    response = await _log(client, tenant, contact["id"], member_id=member)
    assert ["body", "member_id"] in locs(response)


async def test_engagement_moves_version_and_updated_at_so_syncs_see_it(
    client: httpx.AsyncClient, tenant: Tenant, clock: FrozenClock
) -> None:
    contact = await new_contact(client, tenant)
    clock.advance(timedelta(hours=1))
    later = clock.now()
    assert (await _log(client, tenant, contact["id"], occurred_at=_at(1))).status_code == 201
    engaged = await _contact(client, tenant, contact["id"])
    assert engaged["version"] == contact["version"] + 1
    assert engaged["updated_at"] == later.isoformat().replace("+00:00", "Z")
    since = (later - timedelta(minutes=1)).isoformat()
    synced = await client.get(
        "/v1/contacts", params={"updated_since": since}, headers=tenant.headers
    )
    assert [c["id"] for c in synced.json()["data"]] == [contact["id"]]
    assert (await _log(client, tenant, contact["id"], occurred_at=_at(5))).status_code == 201
    backfilled = await _contact(client, tenant, contact["id"])
    assert backfilled["version"] == engaged["version"]  # nothing moved: no new version


async def test_touch_id_must_be_a_touch_of_the_contact(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    granted = {c: {"status": "granted"} for c in ("email", "sms", "call", "mail")}
    await default_sender(client, tenant)  # the 8x8 names the member
    mine = await new_contact(client, tenant, tags=["8x8"], consent=granted)
    other = await new_contact(client, tenant, first_name="Other")
    touches = await client.get(
        "/v1/touches", params={"contact_id": mine["id"]}, headers=tenant.headers
    )
    touch_id = touches.json()["data"][0]["id"]
    unknown = await _log(client, tenant, mine["id"], touch_id=str(uuid.uuid4()))
    assert ["body", "touch_id"] in locs(unknown)
    elsewhere = await _log(client, tenant, other["id"], touch_id=touch_id)
    assert ["body", "touch_id"] in locs(elsewhere)
    linked = await _log(client, tenant, mine["id"], touch_id=touch_id, direction="outbound")
    assert linked.status_code == 201, linked.text
    assert linked.json()["touch_id"] == touch_id
