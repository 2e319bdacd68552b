"""Reward rules end to end, with every amount computed by hand in the test."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from app.clock import FrozenClock
from app.db import Database
from app.services.referrals.records import get_referral
from app.services.referrals.rewards.rules import apply_rules
from tests.conftest import T0, Tenant
from tests.referral_fixtures import (
    add_contact,
    events_of,
    make_program,
    move,
    refer,
    rewards_of,
)


def rule(trigger: str, amount: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "trigger": trigger,
        "amount": amount,
        "currency": "USD",
        "approval_required": False,
        **extra,
    }


def fixed(value: str) -> dict[str, Any]:
    return {"kind": "fixed", "amount": value}


async def _closed_deal(
    client: httpx.AsyncClient,
    db: Database,
    tenant: Tenant,
    value: str,
    source: uuid.UUID | None = None,
) -> dict[str, Any]:
    source = source or await add_contact(db, tenant, "Src")
    referral = await refer(client, tenant, source, await add_contact(db, tenant, "Ref"))
    return await move(client, tenant, referral["id"], "closed", actual_value=value)


async def test_fixed_reward_on_receipt_is_immediate(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await make_program(client, tenant, [rule("received", fixed("25.00"), reward_kind="gift_card")])
    source = await add_contact(db, tenant, "Maria")
    referral = await refer(client, tenant, source, await add_contact(db, tenant, "Jordan"))
    (reward,) = await rewards_of(client, tenant)
    assert reward["amount"] == "25.00"
    assert reward["kind"] == "gift_card"
    assert reward["status"] == "approved"
    assert reward["referral_id"] == referral["id"]
    assert reward["referrer_id"] == str(source)
    assert reward["trigger"] == "received"
    (event,) = await events_of(client, tenant, "reward.created")
    assert event["data"]["id"] == reward["id"]
    assert event["data"]["contact_id"] == str(source)


@pytest.mark.parametrize(
    ("actual", "percent", "expected"),
    [
        ("12345.67", "2.5", "308.64"),  # 308.64175 -> 308.64
        ("100.25", "10", "10.02"),  # 10.025: a tie, banker's rounding keeps the even cent
        ("100.35", "10", "10.04"),  # 10.035: the tie goes up to the even cent
        ("200000.00", "1.25", "2500.00"),
    ],
)
async def test_percent_of_actual_value(
    client: httpx.AsyncClient,
    db: Database,
    tenant: Tenant,
    actual: str,
    percent: str,
    expected: str,
) -> None:
    await make_program(client, tenant, [rule("closed", {"kind": "percent", "percent": percent})])
    await _closed_deal(client, db, tenant, actual)
    assert [r["amount"] for r in await rewards_of(client, tenant)] == [expected]


TIERS = [
    {"min_value": "100000.00", "amount": "100.00"},
    {"min_value": "500000.00", "amount": "500.00"},  # listed out of order on purpose
    {"min_value": "250000.00", "amount": "250.00"},
]


@pytest.mark.parametrize(
    ("actual", "expected"),
    [
        ("99999.99", None),  # below every tier: no reward
        ("100000.00", "100.00"),  # boundaries are inclusive
        ("249999.99", "100.00"),
        ("250000.00", "250.00"),
        ("499999.99", "250.00"),
        ("500000.00", "500.00"),
        ("2000000.00", "500.00"),
    ],
)
async def test_tiers_at_their_boundaries(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, actual: str, expected: str | None
) -> None:
    await make_program(client, tenant, [rule("closed", {"kind": "tiered", "tiers": TIERS})])
    await _closed_deal(client, db, tenant, actual)
    amounts = [r["amount"] for r in await rewards_of(client, tenant)]
    assert amounts == ([] if expected is None else [expected])


async def test_cap_per_referrer_per_period(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, clock: FrozenClock
) -> None:
    capped = rule("closed", fixed("100.00"), cap={"amount": "250.00", "period_days": 365})
    await make_program(client, tenant, [capped])
    source = await add_contact(db, tenant, "Steady")
    for _ in range(4):
        await _closed_deal(client, db, tenant, "1000.00", source)
        clock.advance(timedelta(days=1))
    # 100 + 100 + 50 (trimmed to the cap) + nothing (cap reached).
    amounts = [r["amount"] for r in await rewards_of(client, tenant, referrer_id=str(source))]
    assert sorted(amounts) == ["100.00", "100.00", "50.00"]

    other = await add_contact(db, tenant, "Other")
    await _closed_deal(client, db, tenant, "1000.00", other)  # caps are per referrer
    assert [r["amount"] for r in await rewards_of(client, tenant, referrer_id=str(other))] == [
        "100.00"
    ]

    clock.set(T0 + timedelta(days=365, hours=1))  # only the first reward left the period
    await _closed_deal(client, db, tenant, "1000.00", source)
    newest = (await rewards_of(client, tenant, referrer_id=str(source)))[0]
    assert newest["amount"] == "100.00"  # 250 - (100 + 50 still in the period) = 100


async def test_cancelled_rewards_do_not_count_against_the_cap(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    capped = rule("closed", fixed("100.00"), cap={"amount": "100.00", "period_days": 30})
    await make_program(client, tenant, [capped])
    source = await add_contact(db, tenant)
    await _closed_deal(client, db, tenant, "10.00", source)
    (first,) = await rewards_of(client, tenant)
    r = await client.post(f"/v1/rewards/{first['id']}/cancel", headers=tenant.headers)
    assert r.status_code == 200
    await _closed_deal(client, db, tenant, "10.00", source)
    assert (await rewards_of(client, tenant, status="approved"))[0]["amount"] == "100.00"


async def test_approval_required_starts_pending(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await make_program(client, tenant, [rule("closed", fixed("50.00"), approval_required=True)])
    await _closed_deal(client, db, tenant, "10.00")
    (reward,) = await rewards_of(client, tenant)
    assert reward["status"] == "pending"
    assert reward["approved_at"] is None


async def test_hold_days_delay_availability(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, clock: FrozenClock
) -> None:
    await make_program(client, tenant, [rule("closed", fixed("50.00"), hold_days=30)])
    await _closed_deal(client, db, tenant, "10.00")
    (reward,) = await rewards_of(client, tenant)
    assert reward["available_at"] == (T0 + timedelta(days=30)).isoformat().replace("+00:00", "Z")
    early = await client.post(f"/v1/rewards/{reward['id']}/issue", headers=tenant.headers)
    assert early.status_code == 409
    assert early.json()["available_at"].startswith("2026-12-23")
    clock.advance(timedelta(days=30))
    issued = await client.post(f"/v1/rewards/{reward['id']}/issue", headers=tenant.headers)
    assert issued.status_code == 200, issued.text
    assert issued.json()["status"] == "issued"


async def test_losing_a_referral_cancels_its_open_rewards_but_not_issued_ones(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await make_program(
        client,
        tenant,
        [
            rule("received", fixed("10.00")),
            rule("stage:contacted", fixed("20.00")),
            rule("stage:meeting", fixed("30.00"), approval_required=True),
        ],
    )
    referral = await refer(
        client, tenant, await add_contact(db, tenant), await add_contact(db, tenant, "R")
    )
    (on_receipt,) = await rewards_of(client, tenant)
    issued = await client.post(f"/v1/rewards/{on_receipt['id']}/issue", headers=tenant.headers)
    assert issued.status_code == 200
    await move(client, tenant, referral["id"], "meeting")  # passes contacted on the way
    await move(client, tenant, referral["id"], "lost", lost_reason="went elsewhere")

    by_amount = {r["amount"]: r for r in await rewards_of(client, tenant)}
    assert {a: r["status"] for a, r in by_amount.items()} == {
        "10.00": "issued",
        "20.00": "cancelled",
        "30.00": "cancelled",
    }
    assert by_amount["30.00"]["cancel_reason"] == "referral lost: went elsewhere"
    lost_event = (await events_of(client, tenant, "referral.stage_changed"))[-1]
    assert set(lost_event["data"]["cancelled_reward_ids"]) == {
        by_amount["20.00"]["id"],
        by_amount["30.00"]["id"],
    }


async def test_each_rule_fires_at_most_once_per_referral(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await make_program(client, tenant, [rule("closed", fixed("75.00"))])
    deal = await _closed_deal(client, db, tenant, "10.00")
    async with db.transaction() as session:
        referral = await get_referral(session, tenant.id, uuid.UUID(deal["id"]))
        again = await apply_rules(session, referral, ["closed"], at=T0)
    assert again == []
    assert len(await rewards_of(client, tenant)) == 1


async def test_deal_based_rules_need_the_deal_in_their_currency(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    euro = {**rule("closed", {"kind": "percent", "percent": "1"}), "currency": "EUR"}
    await make_program(client, tenant, [euro])
    await _closed_deal(client, db, tenant, "10000.00")  # a USD deal
    assert await rewards_of(client, tenant) == []


async def test_no_program_means_no_reward_until_a_default_exists(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    referral = await refer(
        client, tenant, await add_contact(db, tenant), await add_contact(db, tenant, "R")
    )
    assert referral["reward_program_id"] is None
    program = await make_program(client, tenant, [rule("closed", fixed("40.00"))])
    closed = await move(client, tenant, referral["id"], "closed", actual_value="5.00")
    assert closed["reward_program_id"] == program["id"]
    assert [r["amount"] for r in await rewards_of(client, tenant)] == ["40.00"]


async def test_referral_keeps_the_program_it_started_with(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    first = await make_program(client, tenant, [rule("closed", fixed("40.00"))], name="Old")
    referral = await refer(
        client, tenant, await add_contact(db, tenant), await add_contact(db, tenant, "R")
    )
    await make_program(client, tenant, [rule("closed", fixed("99.00"))], name="New")
    await move(client, tenant, referral["id"], "closed", actual_value="5.00")
    (reward,) = await rewards_of(client, tenant)
    assert (reward["program_id"], reward["amount"]) == (first["id"], "40.00")


async def test_a_deal_value_recorded_after_closing_fires_deal_based_rules_once(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, clock: FrozenClock
) -> None:
    capped_fixed = rule("closed", fixed("5.00"), cap={"amount": "5.00", "period_days": 1})
    await make_program(
        client, tenant, [rule("closed", {"kind": "percent", "percent": "2"}), capped_fixed]
    )
    source = await add_contact(db, tenant)
    await _closed_deal(client, db, tenant, "0.00", source)  # uses up the fixed rule's cap
    referral = await refer(client, tenant, source, await add_contact(db, tenant, "R"))
    await move(client, tenant, referral["id"], "closed")  # capped fixed, no value for percent
    assert len(await rewards_of(client, tenant, referral_id=referral["id"])) == 0
    clock.advance(timedelta(days=2))  # the cap's period is over: only the closing could use it
    url = f"/v1/referrals/{referral['id']}"
    r = await client.patch(url, json={"actual_value": "4321.00"}, headers=tenant.headers)
    assert r.status_code == 200
    await client.patch(url, json={"actual_value": "9999.00"}, headers=tenant.headers)
    # 2 % of 4,321.00 = 86.42, once; the fixed rule does not fire late.
    late = await rewards_of(client, tenant, referral_id=referral["id"])
    assert [x["amount"] for x in late] == ["86.42"]
