"""Reward programs and the rewards ledger through the API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.db import Database
from tests.conftest import Tenant
from tests.referral_fixtures import add_contact, events_of, make_program, move, refer, rewards_of

CLOSED_50 = {
    "trigger": "closed",
    "amount": {"kind": "fixed", "amount": "50.00"},
    "currency": "USD",
}


async def test_program_round_trip_keeps_rules_as_written(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    rules = [
        {
            "trigger": "received",
            "amount": {"kind": "fixed", "amount": "25.00"},
            "currency": "USD",
            "reward_kind": "gift_card",
            "approval_required": False,
        },
        {
            "trigger": "closed",
            "amount": {"kind": "tiered", "tiers": [{"min_value": "0.00", "amount": "100.00"}]},
            "currency": "USD",
            "cap": {"amount": "500.00", "period_days": 365},
            "hold_days": 14,
            "reward_kind": "cash",
        },
    ]
    program = await make_program(client, tenant, rules, name="Thank-you and closing bonus")
    got = await client.get(f"/v1/reward-programs/{program['id']}", headers=tenant.headers)
    assert got.status_code == 200
    body = got.json()
    assert body["is_default"] is True
    assert body["rules"][0]["amount"] == {"kind": "fixed", "amount": "25.00"}
    assert body["rules"][1]["cap"] == {"amount": "500.00", "period_days": 365}
    assert body["rules"][1]["approval_required"] is True  # the default: a human looks first


@pytest.mark.parametrize(
    "bad_rule",
    [
        {**CLOSED_50, "trigger": "stage:lost"},
        {**CLOSED_50, "amount": {"kind": "fixed", "amount": 50.5}},  # a JSON float
        {**CLOSED_50, "amount": {"kind": "fixed", "amount": "-1.00"}},
        {**CLOSED_50, "amount": {"kind": "percent"}},
        {**CLOSED_50, "amount": {"kind": "percent", "percent": "120"}},
        {**CLOSED_50, "amount": {"kind": "tiered", "tiers": []}},
        {
            **CLOSED_50,
            "amount": {
                "kind": "tiered",
                "tiers": [
                    {"min_value": "10.00", "amount": "1.00"},
                    {"min_value": "10.00", "amount": "2.00"},
                ],
            },
        },
        {**CLOSED_50, "currency": "US"},
        {**CLOSED_50, "reward_kind": "bitcoin"},
        {**CLOSED_50, "cap": {"amount": "10.00", "period_days": 0}},
        {**CLOSED_50, "unknown": True},
    ],
)
async def test_invalid_rules_are_refused(
    client: httpx.AsyncClient, tenant: Tenant, bad_rule: dict[str, Any]
) -> None:
    r = await client.post(
        "/v1/reward-programs", json={"name": "Bad", "rules": [bad_rule]}, headers=tenant.headers
    )
    assert r.status_code == 422, r.text


async def test_one_default_per_workspace(client: httpx.AsyncClient, tenant: Tenant) -> None:
    first = await make_program(client, tenant, [CLOSED_50], name="First")
    second = await make_program(client, tenant, [CLOSED_50], name="Second")
    listed = await client.get("/v1/reward-programs", headers=tenant.headers)
    defaults = {p["name"]: p["is_default"] for p in listed.json()["data"]}
    assert defaults == {"First": False, "Second": True}
    r = await client.patch(
        f"/v1/reward-programs/{first['id']}",
        json={"is_default": True},
        headers={**tenant.headers, "If-Match": '"2"'},  # yielding the default bumped it
    )
    assert r.status_code == 200, r.text
    again = await client.get(f"/v1/reward-programs/{second['id']}", headers=tenant.headers)
    assert again.json()["is_default"] is False


async def test_patch_replaces_rules_and_checks_the_version(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    program = await make_program(client, tenant, [CLOSED_50])
    url = f"/v1/reward-programs/{program['id']}"
    new_rule = {**CLOSED_50, "amount": {"kind": "fixed", "amount": "60.00"}}
    r = await client.patch(
        url, json={"rules": [new_rule]}, headers={**tenant.headers, "If-Match": '"1"'}
    )
    assert r.status_code == 200
    assert r.json()["rules"][0]["amount"]["amount"] == "60.00"
    stale = await client.patch(
        url, json={"name": "x"}, headers={**tenant.headers, "If-Match": '"1"'}
    )
    assert stale.status_code == 412


async def test_a_program_with_rewards_cannot_be_deleted(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    used = await make_program(client, tenant, [{**CLOSED_50, "trigger": "received"}])
    await refer(client, tenant, await add_contact(db, tenant), await add_contact(db, tenant, "R"))
    r = await client.delete(f"/v1/reward-programs/{used['id']}", headers=tenant.headers)
    assert r.status_code == 409
    unused = await make_program(client, tenant, [CLOSED_50], is_default=False)
    r = await client.delete(f"/v1/reward-programs/{unused['id']}", headers=tenant.headers)
    assert r.status_code == 204
    gone = await client.get(f"/v1/reward-programs/{unused['id']}", headers=tenant.headers)
    assert gone.status_code == 404


async def _pending_reward(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> dict[str, Any]:
    await make_program(client, tenant, [{**CLOSED_50, "approval_required": True}])
    referral = await refer(
        client, tenant, await add_contact(db, tenant), await add_contact(db, tenant, "R")
    )
    await move(client, tenant, referral["id"], "closed", actual_value="100.00")
    (reward,) = await rewards_of(client, tenant)
    return reward


async def test_pending_approved_issued(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    reward = await _pending_reward(client, db, tenant)
    url = f"/v1/rewards/{reward['id']}"
    assert (await client.post(f"{url}/issue", headers=tenant.headers)).status_code == 409
    approved = await client.post(f"{url}/approve", headers=tenant.headers)
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    assert (await client.post(f"{url}/approve", headers=tenant.headers)).status_code == 409
    issued = await client.post(f"{url}/issue", headers=tenant.headers)
    assert issued.status_code == 200
    assert issued.json()["status"] == "issued"
    assert issued.headers["ETag"] == '"3"'
    cancel = await client.post(f"{url}/cancel", headers=tenant.headers)
    assert cancel.status_code == 409  # issued rewards are final
    assert cancel.json()["status"] == 409  # the HTTP status; the reward's has its own name
    assert cancel.json()["reward_status"] == "issued"
    assert cancel.json()["detail"] == "an issued reward cannot be cancelled"
    (event,) = await events_of(client, tenant, "reward.issued")
    assert event["data"]["id"] == reward["id"]
    assert event["data"]["amount"] == "50.00"


async def test_cancel_with_a_reason(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    reward = await _pending_reward(client, db, tenant)
    r = await client.post(
        f"/v1/rewards/{reward['id']}/cancel",
        json={"reason": "referrer asked for a donation instead"},
        headers=tenant.headers,
    )
    assert r.status_code == 200
    assert r.json()["status"] == "cancelled"
    assert r.json()["cancel_reason"] == "referrer asked for a donation instead"
    again = await client.post(f"/v1/rewards/{reward['id']}/approve", headers=tenant.headers)
    assert again.status_code == 409


async def test_ledger_totals_per_currency_and_status(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await make_program(
        client,
        tenant,
        [
            {**CLOSED_50, "trigger": "received", "approval_required": False},
            {**CLOSED_50, "currency": "EUR", "amount": {"kind": "fixed", "amount": "20.00"}},
        ],
    )
    source = await add_contact(db, tenant, "Maria")
    first = await refer(client, tenant, source, await add_contact(db, tenant, "A"))
    await refer(client, tenant, source, await add_contact(db, tenant, "B"))
    await move(client, tenant, first["id"], "closed", actual_value="10.00")
    r = await client.get(f"/v1/contacts/{source}/rewards", headers=tenant.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["contact_id"] == str(source)
    assert len(body["data"]) == 3
    assert body["totals"] == [
        {"currency": "EUR", "status": "pending", "count": 1, "amount": "20.00"},
        {"currency": "USD", "status": "approved", "count": 2, "amount": "100.00"},
    ]
    page = await client.get(
        f"/v1/contacts/{source}/rewards", params={"limit": 2}, headers=tenant.headers
    )
    assert len(page.json()["data"]) == 2
    assert page.json()["next_cursor"] is not None


async def test_rewards_list_filters(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    reward = await _pending_reward(client, db, tenant)
    assert [r["id"] for r in await rewards_of(client, tenant, status="pending")] == [reward["id"]]
    assert await rewards_of(client, tenant, status="issued") == []
    by_referral = await rewards_of(client, tenant, referral_id=reward["referral_id"])
    assert [r["id"] for r in by_referral] == [reward["id"]]


async def test_other_tenants_ids_answer_404(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    reward = await _pending_reward(client, db, tenant)
    program_url = f"/v1/reward-programs/{reward['program_id']}"
    h = other_tenant.headers
    assert (await client.get(program_url, headers=h)).status_code == 404
    assert (await client.patch(program_url, json={}, headers=h)).status_code == 404
    assert (await client.delete(program_url, headers=h)).status_code == 404
    url = f"/v1/rewards/{reward['id']}"
    assert (await client.get(url, headers=h)).status_code == 404
    for action in ("approve", "issue", "cancel"):
        assert (await client.post(f"{url}/{action}", headers=h)).status_code == 404
    ledger = await client.get(f"/v1/contacts/{reward['referrer_id']}/rewards", headers=h)
    assert ledger.status_code == 404
    assert (await client.get("/v1/rewards", headers=h)).json()["data"] == []
    assert (await client.get("/v1/reward-programs", headers=h)).json()["data"] == []
