"""Experiments whose arms are touch plans: the cohort enrolled in its arm's plan, and
per-arm results a hand computation reproduces.

The scenario fixes every number: the contacts' ids are chosen after the draft exists so
that the hash assignment puts ten in each arm; the scheduler runs daily for the period;
the sender and the members report what they did; engagement and referrals are logged
through the API, some of them outside the period or the cohort, where they must not
count.
"""

from __future__ import annotations

import math
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from app.clock import FrozenClock
from app.config import Settings
from app.db import Database
from app.models.touches.tables import Enrollment
from app.services.analytics import assign_arm
from app.services.touches.jobs import emit_touches, top_up_touches
from tests.conftest import T0, Tenant
from tests.test_touch_emit import events_of
from tests.touch_fixtures import add_contact, add_default_sender

PERIOD = {"starts_at": T0.isoformat(), "ends_at": (T0 + timedelta(days=60)).isoformat()}
Z95 = 1.959963984540054  # the normal quantile of 0.975


async def _post(client: httpx.AsyncClient, tenant: Tenant, url: str, body: Any = None) -> Any:
    r = await client.post(url, json=body, headers=tenant.headers)
    assert r.status_code in (200, 201), r.text
    return r.json()


async def _plans(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, str]:
    r = await client.get("/v1/touch-plans", params={"limit": 50}, headers=tenant.headers)
    return {p["builtin_key"]: p["id"] for p in r.json()["data"]}


def _design(plans: dict[str, str], **overrides: Any) -> dict[str, Any]:
    return {
        "name": "8x8 or 12 Direct for new contacts?",
        "kind": "touch_plan",
        **PERIOD,
        "min_sample": 10,
        "cohort": {"tags": ["pilot"]},
        "arms": [
            {"name": "8x8", "plan_id": plans["8x8"]},
            {"name": "12 Direct", "plan_id": plans["12_direct"]},
        ],
        **overrides,
    }


def _ids_split(experiment_id: str, per_arm: int) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """Contact ids the experiment's hash puts ``per_arm`` in each of two equal arms."""
    arms: tuple[list[uuid.UUID], list[uuid.UUID]] = ([], [])
    n = 0
    while min(len(a) for a in arms) < per_arm:
        cid = uuid.uuid5(uuid.NAMESPACE_URL, f"contact-{n}")
        n += 1
        arm = arms[assign_arm(uuid.UUID(experiment_id), cid, [1, 1])]
        if len(arm) < per_arm:
            arm.append(cid)
    return arms


def _ratio_ci(events_a: int, events_b: int, n: int) -> tuple[float, float, float]:
    """Rate ratio of B vs A (equal exposures n) and its log-normal 95% interval."""
    ratio = (events_b / n) / (events_a / n)
    half = Z95 * math.sqrt(1 / events_a + 1 / events_b)
    return ratio, ratio * math.exp(-half), ratio * math.exp(half)


async def test_a_plan_experiment_of_two_built_in_plans_reports_what_a_hand_count_gives(
    client: httpx.AsyncClient,
    db: Database,
    tenant: Tenant,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    plans = await _plans(client, tenant)
    experiment = await _post(client, tenant, "/v1/experiments", _design(plans))
    assert (experiment["kind"], experiment["primary_metric"]) == (
        "touch_plan",
        "referrals_per_contact",
    )
    a, b = _ids_split(experiment["id"], 10)
    outsider_id = uuid.uuid4()
    async with db.transaction() as session:
        await add_default_sender(session, tenant.id, at=T0)
        for cid in [*a, *b]:
            await add_contact(session, tenant.id, at=T0, id=cid, tags=["pilot"], time_zone="UTC")
        await add_contact(session, tenant.id, at=T0, id=outsider_id, tags=["other"])
    costs = {"touch_costs": {"email": "0.10", "card": "2.50", "mail": "1.20", "gift": "15.00"}}
    r = await client.patch("/v1/analytics/settings", json=costs, headers=tenant.headers)
    assert r.status_code == 200, r.text

    started = await _post(client, tenant, f"/v1/experiments/{experiment['id']}/start")
    assert started["status"] == "running"
    async with db.transaction() as session:
        rows = await session.execute(
            select(col(Enrollment.contact_id), col(Enrollment.plan_id), col(Enrollment.source))
        )
        enrolled = {r.contact_id: (str(r.plan_id), r.source) for r in rows}
    assert enrolled == {
        **dict.fromkeys(a, (plans["8x8"], "experiment")),
        **dict.fromkeys(b, (plans["12_direct"], "experiment")),
    }

    # The period runs: a tick a day at 15:00 UTC (the contacts' window is 09:00-20:00).
    for day in range(60):
        clock.set(T0 + timedelta(days=day, hours=3))
        await top_up_touches(db, clock, settings)
        await emit_touches(db, clock, settings)
    # The sender reports: 8x8's e-mails delivered, 12 Direct's pieces sent; the members
    # report the 8x8 welcome cards done (its calls and gift stay unreported).
    for sent in await events_of(db, tenant.id, "touch.due"):
        outcome = "delivered" if sent["channel"] == "email" else "sent"
        await _post(client, tenant, f"/v1/touches/{sent['id']}/outcome", {"outcome": outcome})
    for task in await events_of(db, tenant.id, "task.due"):
        if task["channel"] == "card":
            body = {"outcome": "completed"}
            await _post(client, tenant, f"/v1/touches/{task['id']}/outcome", body)

    # What happened in the period is recorded afterwards: past facts cannot be dated ahead.
    clock.set(T0 + timedelta(days=62))

    async def talk(cid: uuid.UUID, direction: str, days: int) -> None:
        when = (T0 + timedelta(days=days)).isoformat()
        body = {"channel": "call", "direction": direction, "occurred_at": when}
        await _post(client, tenant, f"/v1/contacts/{cid}/interactions", body)

    async def refer(cid: uuid.UUID, days: int, closed_value: str | None = None) -> None:
        when = (T0 + timedelta(days=days)).isoformat()
        body = {
            "source_contact_id": str(cid),
            "referred_contact": {"first_name": "Friend", "last_name": str(days)},
            "received_at": when,
        }
        referral = await _post(client, tenant, "/v1/referrals", body)
        if closed_value is not None:
            move = {"to_stage": "closed", "actual_value": closed_value, "at": when}
            await _post(client, tenant, f"/v1/referrals/{referral['id']}/transitions", move)

    for cid in a[:4]:
        await talk(cid, "inbound", 10)  # engaged
    await talk(a[4], "outbound", 10)  # we called: not engagement
    await talk(a[5], "inbound", -5)  # before the period
    await talk(b[0], "two_way", 20)  # engaged
    activity = await _post(
        client,
        tenant,
        "/v1/engagement-activities",
        {"kind": "seminar", "name": "Market outlook", "date": str((T0 + timedelta(30)).date())},
    )
    body = {"contact_ids": [str(b[1])], "status": "attended"}
    await _post(client, tenant, f"/v1/engagement-activities/{activity['id']}/participants", body)

    await refer(a[0], 5, closed_value="300000.00")
    await refer(a[0], 12)
    await refer(a[1], 20)
    await refer(a[2], 25, closed_value="200000.00")
    await refer(a[2], 26)
    await refer(a[2], 40)
    await refer(b[0], 33, closed_value="150000.00")
    await refer(b[1], -2, closed_value="99999.00")  # before the period
    await refer(b[2], 61)  # after it
    await refer(outsider_id, 10, closed_value="75000.00")  # not in the cohort

    r = await client.get(f"/v1/experiments/{experiment['id']}/results", headers=tenant.headers)
    assert r.status_code == 200, r.text
    results = r.json()
    assert results["kind"] == "touch_plan"
    arms = {arm.pop("name"): arm for arm in results["arms"]}
    for arm in arms.values():
        del arm["arm_id"]
    # By hand. 8x8: four e-mails (weeks 2, 3, 5, 6) and the welcome card, ten contacts:
    # 40 x 0.10 + 10 x 2.50 = 29.00. 12 Direct: pieces on 1 December and 1 January, ten
    # contacts: 20 x 1.20 = 24.00. ROI = (value - cost) / cost x 100.
    assert arms == {
        "8x8": {
            "plan_id": plans["8x8"],
            "contacts": 10,
            "enrolled": 10,
            "engaged": 4,
            "engagement_rate": 0.4,
            "referrals": 6,
            "referrals_per_contact": 0.6,
            "closed": 2,
            "closed_per_contact": 0.2,
            "referral_value": "500000.00",
            "value_per_contact": "50000.00",
            "touches_delivered": 50,
            "touch_cost": "29.00",
            "roi_percent": str(((Decimal(500000) - 29) / 29 * 100).quantize(Decimal("0.01"))),
        },
        "12 Direct": {
            "plan_id": plans["12_direct"],
            "contacts": 10,
            "enrolled": 10,
            "engaged": 2,
            "engagement_rate": 0.2,
            "referrals": 1,
            "referrals_per_contact": 0.1,
            "closed": 1,
            "closed_per_contact": 0.1,
            "referral_value": "150000.00",
            "value_per_contact": "15000.00",
            "touches_delivered": 20,
            "touch_cost": "24.00",
            "roi_percent": "624900.00",
        },
    }
    assert arms["8x8"]["roi_percent"] == "1724037.93"
    comparisons = {c["metric"]: c for c in results["comparisons"]}
    assert [c["metric"] for c in results["comparisons"]] == [
        "referrals_per_contact",  # the primary metric first
        "engagement_rate",
        "closed_per_contact",
    ]
    # Exact conditional p-values: given n events, B's count is Binomial(n, 1/2) (equal
    # arms); two-sided, the outcomes no likelier than the one seen.
    # referrals 6 vs 1: P(X<=1) + P(X>=6), n=7 -> (1 + 7 + 7 + 1) / 128 = 0.125
    # engaged 4 vs 2: P(X<=2) + P(X>=4), n=6 -> (1 + 6 + 15 + 15 + 6 + 1) / 64 = 0.6875
    # closed 2 vs 1: every outcome of n=3 is no likelier than 1 -> 1.0
    for metric, (ea, eb, p_value) in {
        "referrals_per_contact": (6, 1, 16 / 128),
        "engagement_rate": (4, 2, 44 / 64),
        "closed_per_contact": (2, 1, 1.0),
    }.items():
        got = comparisons[metric]
        ratio, low, high = _ratio_ci(ea, eb, 10)
        assert (got["arm_a"], got["arm_b"], got["sufficient"]) == ("8x8", "12 Direct", True)
        assert (got["rate_a"], got["rate_b"]) == (ea / 10, eb / 10)
        assert got["rate_ratio"] == pytest.approx(ratio)
        assert got["ci_low"] == pytest.approx(low)
        assert got["ci_high"] == pytest.approx(high)
        assert got["p_value"] == pytest.approx(p_value)
    assert comparisons["referrals_per_contact"]["verdict"] == (
        "12 Direct vs 8x8: rate ratio 0.17 (95% CI 0.02 to 1.38), p=0.125; not significant at 0.05"
    )


async def test_plan_experiment_designs_are_checked_field_by_field(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    plans = await _plans(client, tenant)
    theirs = await _plans(client, other_tenant)

    async def refused(body: dict[str, Any]) -> list[Any]:
        r = await client.post("/v1/experiments", json=body, headers=tenant.headers)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
        return [e["loc"] for e in r.json()["errors"]]

    assert await refused(_design(plans, cohort=None)) == [["body", "cohort"]]
    wrong_metric = _design(plans, primary_metric="closed_per_referrer")
    assert await refused(wrong_metric) == [["body", "primary_metric"]]
    mixed = _design(plans)
    mixed["arms"][1] = {"name": "B", "program_id": str(uuid.uuid4())}
    assert await refused(mixed) == [["body", "arms", 1, "plan_id"]]
    both = _design(plans)
    both["arms"][1]["program_id"] = str(uuid.uuid4())
    assert await refused(both) == [["body", "arms", 1]]  # a program or a plan, not both
    other = _design(plans)
    other["arms"][1]["plan_id"] = theirs["12_direct"]  # another workspace's plan
    assert await refused(other) == [["body", "arms", 1, "plan_id"]]


async def test_a_plan_compared_by_an_experiment_cannot_be_deleted(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    plans = await _plans(client, tenant)
    experiment = await _post(client, tenant, "/v1/experiments", _design(plans))
    url = f"/v1/touch-plans/{plans['12_direct']}"
    r = await client.delete(url, headers=tenant.headers)
    assert r.status_code == 409, r.text
    assert (await client.get(url, headers=tenant.headers)).status_code == 200
    results = f"/v1/experiments/{experiment['id']}/results"
    assert (await client.get(results, headers=other_tenant.headers)).status_code == 404
    r = await client.get(results, headers=tenant.headers)
    assert r.status_code == 200, r.text
    assert [a["contacts"] for a in r.json()["arms"]] == [0, 0]  # a draft: nobody yet
    assert {c["verdict"] for c in r.json()["comparisons"]} == {"insufficient data"}


async def test_plan_experiments_may_not_overlap_nor_start_with_an_inactive_plan(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    plans = await _plans(client, tenant)
    first = await _post(client, tenant, "/v1/experiments", _design(plans))
    second = await _post(client, tenant, "/v1/experiments", _design(plans, name="Again"))
    await _post(client, tenant, f"/v1/experiments/{first['id']}/start")
    r = await client.post(f"/v1/experiments/{second['id']}/start", headers=tenant.headers)
    assert r.status_code == 409, r.text
    await _post(client, tenant, f"/v1/experiments/{first['id']}/stop")

    plan = await client.get(f"/v1/touch-plans/{plans['12_direct']}", headers=tenant.headers)
    r = await client.patch(
        f"/v1/touch-plans/{plans['12_direct']}",
        json={"active": False},
        headers={**tenant.headers, "If-Match": plan.headers["etag"]},
    )
    assert r.status_code == 200, r.text
    r = await client.post(f"/v1/experiments/{second['id']}/start", headers=tenant.headers)
    assert r.status_code == 409, r.text
    r = await client.get(f"/v1/experiments/{second['id']}", headers=tenant.headers)
    assert r.json()["status"] == "draft"
