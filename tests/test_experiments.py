"""Experiments: design rules, the lifecycle, and stable, proportional assignment."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from app.db import Database
from app.models.referrals.experiments import ExperimentAssignment
from app.services.analytics.stats import assign_arm
from tests.conftest import T0, Tenant
from tests.referral_fixtures import add_contact, add_contacts, make_program, refer

RULE = {"trigger": "closed", "amount": {"kind": "fixed", "amount": "10.00"}, "currency": "USD"}


async def _programs(client: httpx.AsyncClient, tenant: Tenant) -> tuple[str, str]:
    a = await make_program(client, tenant, [RULE], name="A", is_default=False)
    b = await make_program(client, tenant, [RULE], name="B", is_default=False)
    return a["id"], b["id"]


def _design(a: str, b: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "Test",
        "starts_at": T0.isoformat(),
        "ends_at": (T0 + timedelta(days=90)).isoformat(),
        "arms": [{"name": "A", "program_id": a}, {"name": "B", "program_id": b}],
        **extra,
    }


async def _create(client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]) -> Any:
    r = await client.post("/v1/experiments", json=body, headers=tenant.headers)
    assert r.status_code == 201, r.text
    return r.json()


async def _assignments(db: Database, experiment_id: str) -> dict[uuid.UUID, uuid.UUID]:
    async with db.transaction() as session:
        rows = await session.execute(
            select(ExperimentAssignment.contact_id, ExperimentAssignment.arm_id).where(
                ExperimentAssignment.experiment_id == uuid.UUID(experiment_id)
            )
        )
        return {row[0]: row[1] for row in rows}


async def test_design_is_validated(client: httpx.AsyncClient, tenant: Tenant) -> None:
    a, b = await _programs(client, tenant)
    bad = [
        _design(a, b, ends_at=T0.isoformat()),
        _design(a, b, arms=[{"name": "A", "program_id": a}]),
        _design(a, b, arms=[{"name": "A", "program_id": a}, {"name": "A", "program_id": b}]),
        _design(
            a, b, arms=[{"name": "A", "program_id": a}, {"name": "B", "program_id": a, "weight": 0}]
        ),
        _design(a, str(uuid.uuid4())),
        _design(a, b, primary_metric="revenue"),
    ]
    for body in bad:
        r = await client.post("/v1/experiments", json=body, headers=tenant.headers)
        assert r.status_code == 422, body


async def test_lifecycle_draft_running_stopped(client: httpx.AsyncClient, tenant: Tenant) -> None:
    a, b = await _programs(client, tenant)
    exp = await _create(client, tenant, _design(a, b))
    assert exp["status"] == "draft"
    url = f"/v1/experiments/{exp['id']}"
    swapped = [{"name": "B", "program_id": b, "weight": 2}, {"name": "A", "program_id": a}]
    r = await client.patch(url, json={"arms": swapped}, headers=tenant.headers)
    assert r.status_code == 200
    assert [(x["name"], x["weight"]) for x in r.json()["arms"]] == [("B", 2), ("A", 1)]

    started = await client.post(f"{url}/start", headers=tenant.headers)
    assert started.status_code == 200
    assert started.json()["status"] == "running"
    assert started.json()["started_at"] is not None
    r = await client.patch(url, json={"arms": swapped[::-1]}, headers=tenant.headers)
    assert r.status_code == 409  # the design is frozen once referrers were assigned
    r = await client.patch(url, json={"name": "Renamed"}, headers=tenant.headers)
    assert r.status_code == 200
    assert (await client.delete(url, headers=tenant.headers)).status_code == 409
    assert (await client.post(f"{url}/start", headers=tenant.headers)).status_code == 409

    stopped = await client.post(f"{url}/stop", headers=tenant.headers)
    assert stopped.json()["status"] == "stopped"
    assert (await client.post(f"{url}/stop", headers=tenant.headers)).status_code == 409
    listed = await client.get("/v1/experiments?status=stopped", headers=tenant.headers)
    assert [e["id"] for e in listed.json()["data"]] == [exp["id"]]


async def test_a_draft_can_be_deleted(client: httpx.AsyncClient, tenant: Tenant) -> None:
    a, b = await _programs(client, tenant)
    exp = await _create(client, tenant, _design(a, b))
    assert (
        await client.delete(f"/v1/experiments/{exp['id']}", headers=tenant.headers)
    ).status_code == 204
    assert (
        await client.get(f"/v1/experiments/{exp['id']}", headers=tenant.headers)
    ).status_code == 404


async def test_running_experiments_may_not_overlap(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    a, b = await _programs(client, tenant)
    first = await _create(client, tenant, _design(a, b))
    overlapping = await _create(
        client,
        tenant,
        _design(
            a,
            b,
            starts_at=(T0 + timedelta(days=89)).isoformat(),
            ends_at=(T0 + timedelta(days=120)).isoformat(),
        ),
    )
    after = await _create(
        client,
        tenant,
        _design(
            a,
            b,
            starts_at=(T0 + timedelta(days=90)).isoformat(),
            ends_at=(T0 + timedelta(days=180)).isoformat(),
        ),
    )
    assert (
        await client.post(f"/v1/experiments/{first['id']}/start", headers=tenant.headers)
    ).status_code == 200
    r = await client.post(f"/v1/experiments/{overlapping['id']}/start", headers=tenant.headers)
    assert r.status_code == 409
    r = await client.post(f"/v1/experiments/{after['id']}/start", headers=tenant.headers)
    assert r.status_code == 200


async def test_cohort_assignment_is_the_hash_and_follows_the_weights(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    cohort = await add_contacts(db, tenant, 800, segment="advocate")
    await add_contacts(db, tenant, 50, segment="prospect")  # not in the cohort
    a, b = await _programs(client, tenant)
    arms = [
        {"name": "A", "program_id": a, "weight": 1},
        {"name": "B", "program_id": b, "weight": 3},
    ]
    exp = await _create(client, tenant, _design(a, b, arms=arms, cohort={"segments": ["advocate"]}))
    r = await client.post(f"/v1/experiments/{exp['id']}/start", headers=tenant.headers)
    assert r.status_code == 200
    arm_ids = [arm["id"] for arm in r.json()["arms"]]
    recorded = await _assignments(db, exp["id"])
    assert set(recorded) == set(cohort)
    exp_id = uuid.UUID(exp["id"])
    for contact, arm in recorded.items():
        assert arm == uuid.UUID(arm_ids[assign_arm(exp_id, contact, [1, 3])])
    share_a = Counter(recorded.values())[uuid.UUID(arm_ids[0])] / len(recorded)
    # Expected 1/4; the binomial standard deviation over 800 is 0.0153: allow 4 of them.
    assert abs(share_a - 0.25) < 4 * 0.0153


async def test_a_referrer_keeps_their_arm(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    a, b = await _programs(client, tenant)
    exp = await _create(client, tenant, _design(a, b))
    await client.post(f"/v1/experiments/{exp['id']}/start", headers=tenant.headers)
    source = await add_contact(db, tenant, "Outside the cohort")
    programs = set()
    for i in range(3):
        referral = await refer(client, tenant, source, await add_contact(db, tenant, f"R{i}"))
        programs.add(referral["reward_program_id"])
    recorded = await _assignments(db, exp["id"])
    assert list(recorded) == [source]  # recorded at first use
    expected_arm = assign_arm(uuid.UUID(exp["id"]), source, [1, 1])
    assert programs == {[a, b][expected_arm]}


async def test_referrals_outside_the_period_use_the_default(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    a, b = await _programs(client, tenant)
    default = await make_program(client, tenant, [RULE], name="Default")
    exp = await _create(client, tenant, _design(a, b))
    await client.post(f"/v1/experiments/{exp['id']}/start", headers=tenant.headers)
    source = await add_contact(db, tenant)
    before = await refer(
        client,
        tenant,
        source,
        await add_contact(db, tenant, "R"),
        received_at=(T0 - timedelta(days=1)).isoformat(),
    )
    assert before["reward_program_id"] == default["id"]
    await client.post(f"/v1/experiments/{exp['id']}/stop", headers=tenant.headers)
    after_stop = await refer(client, tenant, source, await add_contact(db, tenant, "S"))
    assert after_stop["reward_program_id"] == default["id"]


async def test_other_tenants_ids_answer_404(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    a, b = await _programs(client, tenant)
    exp = await _create(client, tenant, _design(a, b))
    url = f"/v1/experiments/{exp['id']}"
    h = other_tenant.headers
    assert (await client.get(url, headers=h)).status_code == 404
    assert (await client.patch(url, json={}, headers=h)).status_code == 404
    assert (await client.delete(url, headers=h)).status_code == 404
    assert (await client.post(f"{url}/start", headers=h)).status_code == 404
    assert (await client.post(f"{url}/stop", headers=h)).status_code == 404
    assert (await client.get(f"{url}/results", headers=h)).status_code == 404
    # Nor can another workspace's programs be used as arms.
    r = await client.post("/v1/experiments", json=_design(a, b), headers=h)
    assert r.status_code == 422
