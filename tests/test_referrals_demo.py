"""`make run`'s demo data includes a reward program and referrals in every stage."""

from __future__ import annotations

from collections import Counter

import httpx

from app.db import Database
from app.demo.referrals import seed_referrals
from tests.conftest import T0, Tenant


async def test_demo_has_a_pipeline_in_every_stage(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    async with db.transaction() as session:
        await seed_referrals(session, tenant.id, at=T0)
    r = await client.get("/v1/referrals", headers=tenant.headers)
    stages = Counter((x["direction"], x["stage"]) for x in r.json()["data"])
    assert stages == Counter(
        {
            ("received", "received"): 1,
            ("received", "contacted"): 1,
            ("received", "meeting"): 1,
            ("received", "agreement"): 1,
            ("received", "closed"): 1,
            ("received", "lost"): 1,
            ("given", "received"): 1,
        }
    )
    programs = await client.get("/v1/reward-programs", headers=tenant.headers)
    assert [p["is_default"] for p in programs.json()["data"]] == [True]
    rewards = await client.get("/v1/rewards", headers=tenant.headers)
    kinds = Counter((x["kind"], x["status"], x["amount"]) for x in rewards.json()["data"])
    # Six gift cards on receipt, one lost with its referral; a 250.00 tier for the close.
    assert kinds == Counter(
        {
            ("gift_card", "approved", "25.00"): 5,
            ("gift_card", "cancelled", "25.00"): 1,
            ("cash", "pending", "250.00"): 1,
        }
    )
