"""Merging contacts keeps their referrals, rewards and experiment arms."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import select

from app.db import Database
from app.models.referrals.experiments import ExperimentAssignment
from app.services.contacts.merging.fold import MERGE_HOOKS, MERGE_REFERENCES
from app.services.contacts.merging.history import merge_assignments
from tests.conftest import T0, Tenant
from tests.referral_fixtures import add_contact, make_program, refer, rewards_of

RECEIVED_10 = {
    "trigger": "received",
    "amount": {"kind": "fixed", "amount": "10.00"},
    "currency": "USD",
}


def test_referral_references_are_registered_for_merge() -> None:
    for pair in (
        ("referrals", "source_contact_id"),
        ("referrals", "referred_contact_id"),
        ("referrals", "partner_contact_id"),
        ("rewards", "referrer_id"),
    ):
        assert pair in MERGE_REFERENCES
    assert merge_assignments in MERGE_HOOKS


async def _merge(
    client: httpx.AsyncClient, tenant: Tenant, keep: uuid.UUID, other: uuid.UUID
) -> None:
    r = await client.post(
        f"/v1/contacts/{keep}/merge", json={"other_id": str(other)}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text


async def test_merge_moves_referrals_and_rewards_to_the_kept_contact(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await make_program(client, tenant, [RECEIVED_10])
    keep = await add_contact(db, tenant, "Maria")
    other = await add_contact(db, tenant, "Mary")
    sent = await refer(client, tenant, other, await add_contact(db, tenant, "Lead"))
    r = await client.post(
        "/v1/referrals",
        json={
            "direction": "given",
            "referred_contact_id": str(await add_contact(db, tenant, "Client")),
            "partner_contact_id": str(other),
        },
        headers=tenant.headers,
    )
    given = r.json()
    await _merge(client, tenant, keep, other)

    got = await client.get(f"/v1/referrals/{sent['id']}", headers=tenant.headers)
    assert got.json()["source_contact_id"] == str(keep)
    got = await client.get(f"/v1/referrals/{given['id']}", headers=tenant.headers)
    assert got.json()["partner_contact_id"] == str(keep)
    assert [r["referrer_id"] for r in await rewards_of(client, tenant)] == [str(keep)]
    reciprocity = await client.get(f"/v1/contacts/{keep}/reciprocity", headers=tenant.headers)
    assert reciprocity.json()["received_from"]["count"] == 1
    assert reciprocity.json()["given_to"]["count"] == 1


async def test_merge_keeps_one_arm_per_experiment(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    program = await make_program(client, tenant, [RECEIVED_10], is_default=False)
    keep = await add_contact(db, tenant, "Maria", segment="advocate")
    other = await add_contact(db, tenant, "Mary", segment="advocate")
    only_other = await add_contact(db, tenant, "Solo", segment="advocate")
    arms = [{"name": n, "program_id": program["id"]} for n in ("A", "B")]
    design = {
        "name": "E",
        "starts_at": T0.isoformat(),
        "ends_at": (T0 + timedelta(days=30)).isoformat(),
        "cohort": {"segments": ["advocate"]},
        "arms": arms,
    }
    created = await client.post("/v1/experiments", json=design, headers=tenant.headers)
    experiment_id = created.json()["id"]
    await client.post(f"/v1/experiments/{experiment_id}/start", headers=tenant.headers)

    async def arms_by_contact() -> dict[uuid.UUID, uuid.UUID]:
        async with db.transaction() as session:
            rows = await session.execute(
                select(ExperimentAssignment.contact_id, ExperimentAssignment.arm_id).where(
                    ExperimentAssignment.experiment_id == uuid.UUID(experiment_id)
                )
            )
            return {row[0]: row[1] for row in rows}

    before = await arms_by_contact()
    await _merge(client, tenant, keep, other)  # both assigned: the kept contact's arm stays
    fresh = await add_contact(db, tenant, "Fresh")  # not assigned (not in the cohort)
    await _merge(client, tenant, fresh, only_other)  # inherits the merged contact's arm
    after = await arms_by_contact()
    assert after == {keep: before[keep], fresh: before[only_other]}
