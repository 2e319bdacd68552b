"""Nothing that must be in the past may be dated ahead (beyond a few minutes of clock
skew), and a referral recorded by mistake can be corrected (PATCH ``received_at``) or
deleted (admin)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from app.clock import FrozenClock
from app.db import Database
from tests.conftest import T0, Tenant
from tests.contact_fixtures import locs, new_contact
from tests.referral_fixtures import add_contact, make_program, move, refer, rewards_of

SKEW = timedelta(minutes=5)


def _iso(delta: timedelta) -> str:
    return (T0 + delta).isoformat()


async def test_a_referral_received_ahead_is_refused_naming_the_field(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    source, referred = await add_contact(db, tenant, "Sam"), await add_contact(db, tenant, "Ann")
    ahead = await client.post(
        "/v1/referrals",
        json={
            "source_contact_id": str(source),
            "referred_contact_id": str(referred),
            "received_at": _iso(timedelta(days=30)),
        },
        headers=tenant.headers,
    )
    assert locs(ahead) == [["body", "received_at"]]
    assert "cannot be in the future" in ahead.json()["errors"][0]["msg"]
    skewed = await refer(client, tenant, source, referred, received_at=_iso(SKEW))
    assert skewed["received_at"] == _iso(SKEW).replace("+00:00", "Z")


async def test_transitions_may_run_a_few_minutes_ahead_not_more(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    source, referred = await add_contact(db, tenant, "Sam"), await add_contact(db, tenant, "Ann")
    referral = await refer(client, tenant, source, referred)
    refused = await move(client, tenant, referral["id"], "contacted", expect=422, at=_iso(SKEW * 2))
    assert refused["errors"][0]["loc"] == ["body", "at"]
    await move(client, tenant, referral["id"], "contacted", at=_iso(SKEW))


async def test_received_at_is_corrected_with_what_follows_from_it(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    source, referred = await add_contact(db, tenant, "Sam"), await add_contact(db, tenant, "Ann")
    referral = await refer(client, tenant, source, referred)
    url = f"/v1/referrals/{referral['id']}"
    earlier = _iso(-timedelta(days=3))
    theirs = await client.patch(url, json={"received_at": earlier}, headers=other_tenant.headers)
    assert theirs.status_code == 404
    fixed = await client.patch(url, json={"received_at": earlier}, headers=tenant.headers)
    assert fixed.status_code == 200, fixed.text
    body = fixed.json()
    assert body["received_at"] == body["stage_changed_at"] == earlier.replace("+00:00", "Z")
    assert body["follow_up_due_at"] == _iso(-timedelta(days=2)).replace("+00:00", "Z")  # +24 h
    history = (await client.get(f"{url}/history", headers=tenant.headers)).json()["data"]
    assert [h["at"] for h in history] == [earlier.replace("+00:00", "Z")]

    for value in (_iso(timedelta(days=30)), None):
        refused = await client.patch(url, json={"received_at": value}, headers=tenant.headers)
        assert locs(refused) == [["body", "received_at"]]
    await move(client, tenant, referral["id"], "contacted", at=_iso(-timedelta(days=1)))
    after_move = await client.patch(
        url, json={"received_at": _iso(-timedelta(hours=1))}, headers=tenant.headers
    )
    assert locs(after_move) == [["body", "received_at"]]  # it moved on before that


async def test_a_mistaken_referral_is_deleted_with_its_history_rewards_and_thank_you(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    source, referred = await add_contact(db, tenant, "Sam"), await add_contact(db, tenant, "Ann")
    rule = {
        "trigger": "received",
        "amount": {"kind": "fixed", "amount": "25.00"},
        "currency": "USD",
    }
    await make_program(client, tenant, [{**rule, "reward_kind": "gift_card"}])
    referral = await refer(client, tenant, source, referred)
    assert len(await rewards_of(client, tenant)) == 1
    touches = await client.get(
        "/v1/touches", params={"contact_id": str(source)}, headers=tenant.headers
    )
    (thank_you,) = touches.json()["data"]
    url = f"/v1/referrals/{referral['id']}"

    assert (await client.delete(url, headers=other_tenant.headers)).status_code == 404
    deleted = await client.delete(url, headers=tenant.headers)
    assert deleted.status_code == 204, deleted.text
    assert (await client.get(url, headers=tenant.headers)).status_code == 404
    assert await rewards_of(client, tenant) == []
    touch = await client.get(f"/v1/touches/{thank_you['id']}", headers=tenant.headers)
    assert (touch.json()["status"], touch.json()["reason"]) == ("cancelled", "referral deleted")
    events = (
        await client.get("/v1/events", params={"types": "referral.deleted"}, headers=tenant.headers)
    ).json()
    assert [e["data"] for e in events["data"]] == [{"id": referral["id"]}]


async def test_deleting_a_referral_takes_an_admin_and_keeps_one_whose_reward_was_issued(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    source, referred = await add_contact(db, tenant, "Sam"), await add_contact(db, tenant, "Ann")
    rule = {
        "trigger": "received",
        "amount": {"kind": "fixed", "amount": "25.00"},
        "currency": "USD",
        "reward_kind": "gift_card",
        "approval_required": False,
    }
    await make_program(client, tenant, [rule])
    referral = await refer(client, tenant, source, referred)
    key = await client.post(
        "/v1/api-keys", json={"name": "writer", "scopes": ["read", "write"]}, headers=tenant.headers
    )
    writer = {"Authorization": f"Bearer {key.json()['key']}"}
    url = f"/v1/referrals/{referral['id']}"
    assert (await client.delete(url, headers=writer)).status_code == 403

    (reward,) = await rewards_of(client, tenant)
    issued = await client.post(f"/v1/rewards/{reward['id']}/issue", headers=tenant.headers)
    assert issued.status_code == 200, issued.text
    kept = await client.delete(url, headers=tenant.headers)
    assert kept.status_code == 409
    problem: dict[str, Any] = kept.json()
    assert problem["issued_reward_ids"] == [reward["id"]]
    assert (await client.get(url, headers=tenant.headers)).status_code == 200


async def test_service_records_interactions_and_attendance_are_never_ahead(
    client: httpx.AsyncClient, tenant: Tenant, clock: FrozenClock
) -> None:
    contact = await new_contact(client, tenant)
    base = f"/v1/contacts/{contact['id']}"
    tomorrow = str(T0.date() + timedelta(days=1))
    record = {"date": tomorrow, "service": "home sale"}
    assert locs(
        await client.post(f"{base}/service-records", json=record, headers=tenant.headers)
    ) == [["body", "date"]]
    today = await client.post(
        f"{base}/service-records", json={**record, "date": str(T0.date())}, headers=tenant.headers
    )
    assert today.status_code == 201, today.text

    call = {"channel": "call", "direction": "inbound", "occurred_at": _iso(timedelta(hours=1))}
    assert locs(await client.post(f"{base}/interactions", json=call, headers=tenant.headers)) == [
        ["body", "occurred_at"]
    ]

    party = {"kind": "client_party", "name": "Spring party", "date": tomorrow}
    activity = await client.post("/v1/engagement-activities", json=party, headers=tenant.headers)
    assert activity.status_code == 201, activity.text
    activity_url = f"/v1/engagement-activities/{activity.json()['id']}"
    people = f"{activity_url}/participants"
    invite = {"contact_ids": [contact["id"]], "status": "invited"}
    assert (await client.post(people, json=invite, headers=tenant.headers)).status_code == 200
    attended = {"contact_ids": [contact["id"]], "status": "attended"}
    ahead = await client.post(people, json=attended, headers=tenant.headers)
    assert locs(ahead) == [["body", "status"]]
    stored = await client.get(base, headers=tenant.headers)
    assert stored.json()["last_engaged_at"] is None  # the lapse clock was not reset

    clock.advance(timedelta(days=1))
    done = await client.post(people, json=attended, headers=tenant.headers)
    assert done.status_code == 200, done.text
    later = {"date": str(T0.date() + timedelta(days=9))}
    moved = await client.patch(activity_url, json=later, headers=tenant.headers)
    assert locs(moved) == [["body", "date"]]  # its attendance would then be ahead
