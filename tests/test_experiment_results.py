"""Experiment results: the seed's A/B test as written, and the statistics against scipy."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from scipy import stats as sps

from app.clock import FrozenClock
from app.db import Database
from app.services.analytics.stats import assign_arm
from tests.conftest import T0, Tenant
from tests.referral_fixtures import add_contact, add_contacts, make_program, move, refer, rewards_of


def _by_arm(
    experiment_id: str, contacts: list[uuid.UUID], weights: list[int]
) -> list[list[uuid.UUID]]:
    arms: list[list[uuid.UUID]] = [[] for _ in weights]
    for contact in contacts:
        arms[assign_arm(uuid.UUID(experiment_id), contact, weights)].append(contact)
    return arms


async def _start(client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]) -> Any:
    r = await client.post("/v1/experiments", json=body, headers=tenant.headers)
    assert r.status_code == 201, r.text
    started = await client.post(f"/v1/experiments/{r.json()['id']}/start", headers=tenant.headers)
    assert started.status_code == 200, started.text
    return started.json()


async def _results(client: httpx.AsyncClient, tenant: Tenant, experiment_id: str) -> Any:
    r = await client.get(f"/v1/experiments/{experiment_id}/results", headers=tenant.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_seed_experiment_fixed_vs_value_based_over_three_months(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, clock: FrozenClock
) -> None:
    """Seed 000, 5.5: "In group A, offer a fixed monetary reward for each closed referral. In
    group B, offer a variable reward based on the size of the transaction. Track the number
    of referrals received from each group over a period of three months"."""
    fixed = await make_program(
        client,
        tenant,
        [
            {
                "trigger": "closed",
                "amount": {"kind": "fixed", "amount": "250.00"},
                "currency": "USD",
                "reward_kind": "cash",
            }
        ],
        name="A: $250 per closed referral",
        is_default=False,
    )
    value_based = await make_program(
        client,
        tenant,
        [
            {
                "trigger": "closed",
                "amount": {"kind": "percent", "percent": "1"},
                "currency": "USD",
                "reward_kind": "cash",
            }
        ],
        name="B: 1% of the deal",
        is_default=False,
    )
    advocates = await add_contacts(db, tenant, 40, segment="advocate")
    experiment = await _start(
        client,
        tenant,
        {
            "name": "Fixed vs value-based rewards",
            "starts_at": "2026-11-23T00:00:00Z",
            "ends_at": "2027-02-23T00:00:00Z",
            "primary_metric": "referrals_per_referrer",
            "min_sample": 3,
            "cohort": {"segments": ["advocate", "core_advocate"]},
            "arms": [
                {"name": "A", "program_id": fixed["id"], "weight": 1},
                {"name": "B", "program_id": value_based["id"], "weight": 1},
            ],
        },
    )
    arm_a, arm_b = _by_arm(experiment["id"], advocates, [1, 1])

    # Arm A: one referrer sends two referrals, one closes at 300,000.
    a1 = await refer(client, tenant, arm_a[0], await add_contact(db, tenant, "A1"))
    await refer(client, tenant, arm_a[0], await add_contact(db, tenant, "A2"))
    assert a1["reward_program_id"] == fixed["id"]
    # Arm B: two referrers, three referrals, two close at 300,000 and 80,000.
    b1 = await refer(client, tenant, arm_b[0], await add_contact(db, tenant, "B1"))
    b2 = await refer(client, tenant, arm_b[1], await add_contact(db, tenant, "B2"))
    await refer(client, tenant, arm_b[1], await add_contact(db, tenant, "B3"))
    assert b1["reward_program_id"] == value_based["id"]
    clock.advance(timedelta(days=30))
    await move(client, tenant, a1["id"], "closed", actual_value="300000.00")
    await move(client, tenant, b1["id"], "closed", actual_value="300000.00")
    await move(client, tenant, b2["id"], "closed", actual_value="80000.00")
    # After the three months, referrals no longer count (and get the default program).
    clock.set(datetime(2027, 2, 23, tzinfo=UTC))
    late = await refer(client, tenant, arm_a[0], await add_contact(db, tenant, "Late"))
    assert late["reward_program_id"] is None

    amounts = {r["referral_id"]: r["amount"] for r in await rewards_of(client, tenant)}
    assert amounts == {a1["id"]: "250.00", b1["id"]: "3000.00", b2["id"]: "800.00"}

    results = await _results(client, tenant, experiment["id"])
    a, b = results["arms"]
    assert (a["name"], a["referrers"], a["referrals"], a["closed"]) == ("A", len(arm_a), 2, 1)
    assert (b["name"], b["referrers"], b["referrals"], b["closed"]) == ("B", len(arm_b), 3, 2)
    assert a["referrals_per_referrer"] == pytest.approx(2 / len(arm_a))
    assert b["referrals_per_referrer"] == pytest.approx(3 / len(arm_b))
    assert (a["conversion_rate"], b["conversion_rate"]) == ("0.5000", "0.6667")
    assert (a["revenue"], a["reward_cost"]) == ("300000.00", "250.00")
    assert (b["revenue"], b["reward_cost"]) == ("380000.00", "3800.00")
    # ROI = (revenue - cost) / cost x 100
    assert a["roi_percent"] == "119900.00"  # (300000 - 250) / 250 x 100
    assert b["roi_percent"] == "9900.00"  # (380000 - 3800) / 3800 x 100
    (comparison,) = results["comparisons"]
    assert (comparison["arm_a"], comparison["arm_b"]) == ("A", "B")
    assert comparison["metric"] == "referrals_per_referrer"
    # 40 referrers split at random leave fewer than 3 in an arm with odds of about 1e-9.
    assert min(len(arm_a), len(arm_b)) >= 3
    assert comparison["sufficient"] is True
    assert comparison["p_value"] == pytest.approx(
        sps.binomtest(3, 5, len(arm_b) / len(advocates)).pvalue
    )
    assert comparison["verdict"].endswith("not significant at 0.05")


async def test_comparison_matches_scipy(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    program = await make_program(
        client,
        tenant,
        [{"trigger": "closed", "amount": {"kind": "fixed", "amount": "1.00"}, "currency": "USD"}],
    )
    cohort = await add_contacts(db, tenant, 30, tags=["pilot"])
    experiment = await _start(
        client,
        tenant,
        {
            "name": "Stats",
            "starts_at": T0.isoformat(),
            "ends_at": (T0 + timedelta(days=90)).isoformat(),
            "min_sample": 1,
            "cohort": {"tags": ["pilot"]},
            "arms": [
                {"name": "control", "program_id": program["id"]},
                {"name": "treatment", "program_id": program["id"]},
            ],
        },
    )
    arm_a, arm_b = _by_arm(experiment["id"], cohort, [1, 1])
    events_a, events_b = 6, 15
    for i in range(events_a):
        await refer(client, tenant, arm_a[i % len(arm_a)], await add_contact(db, tenant, f"a{i}"))
    for i in range(events_b):
        await refer(client, tenant, arm_b[i % len(arm_b)], await add_contact(db, tenant, f"b{i}"))

    (c,) = (await _results(client, tenant, experiment["id"]))["comparisons"]
    n_a, n_b = len(arm_a), len(arm_b)
    ratio = (events_b / n_b) / (events_a / n_a)
    z = sps.norm.ppf(0.975)
    half = z * math.sqrt(1 / events_a + 1 / events_b)
    assert c["sufficient"] is True
    assert c["rate_a"] == pytest.approx(events_a / n_a)
    assert c["rate_b"] == pytest.approx(events_b / n_b)
    assert c["rate_ratio"] == pytest.approx(ratio)
    assert c["ci_low"] == pytest.approx(math.exp(math.log(ratio) - half))
    assert c["ci_high"] == pytest.approx(math.exp(math.log(ratio) + half))
    expected_p = sps.binomtest(events_b, events_a + events_b, n_b / (n_a + n_b)).pvalue
    assert c["p_value"] == pytest.approx(expected_p)
    assert c["verdict"].startswith("treatment vs control: rate ratio")


async def test_below_the_minimum_sample_the_answer_is_insufficient_data(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    program = await make_program(
        client,
        tenant,
        [{"trigger": "closed", "amount": {"kind": "fixed", "amount": "1.00"}, "currency": "USD"}],
    )
    cohort = await add_contacts(db, tenant, 8, segment="core_advocate")
    experiment = await _start(
        client,
        tenant,
        {
            "name": "Too small",
            "starts_at": T0.isoformat(),
            "ends_at": (T0 + timedelta(days=90)).isoformat(),
            "min_sample": 10,
            "cohort": {"segments": ["core_advocate"]},
            "arms": [
                {"name": "A", "program_id": program["id"]},
                {"name": "B", "program_id": program["id"]},
            ],
        },
    )
    for i, contact in enumerate(cohort):
        await refer(client, tenant, contact, await add_contact(db, tenant, f"r{i}"))
    (c,) = (await _results(client, tenant, experiment["id"]))["comparisons"]
    assert c["sufficient"] is False
    assert c["verdict"] == "insufficient data"
    assert c["p_value"] is None
    assert c["rate_ratio"] is None
    assert "at least 10" in c["reason"]


async def test_results_of_an_empty_experiment(client: httpx.AsyncClient, tenant: Tenant) -> None:
    program = await make_program(
        client,
        tenant,
        [{"trigger": "closed", "amount": {"kind": "fixed", "amount": "1.00"}, "currency": "USD"}],
    )
    r = await client.post(
        "/v1/experiments",
        json={
            "name": "Nobody yet",
            "starts_at": T0.isoformat(),
            "ends_at": (T0 + timedelta(days=30)).isoformat(),
            "arms": [
                {"name": "A", "program_id": program["id"]},
                {"name": "B", "program_id": program["id"]},
            ],
        },
        headers=tenant.headers,
    )
    results = await _results(client, tenant, r.json()["id"])
    assert [a["referrers"] for a in results["arms"]] == [0, 0]
    assert results["arms"][0]["referrals_per_referrer"] is None
    assert results["arms"][0]["roi_percent"] is None  # nothing spent: ROI is undefined
    assert results["arms"][0]["revenue"] == str(Decimal("0.00"))
    assert results["comparisons"][0]["verdict"] == "insufficient data"
