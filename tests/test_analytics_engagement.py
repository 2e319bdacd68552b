"""Engagement against advocacy through the API: who lapsed in the period (counted like the
lapse rule counts engagement), each group's referral rate, and the rate comparison."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from app.db import Database
from app.services.scores.lapses import mark_lapses
from tests import score_fixtures as f
from tests.conftest import Tenant

PERIOD = "from=2026-01-01&to=2026-06-30"  # stop: 1 July 2026 00:00 UTC ("now" is later)


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


OLD = at(2025, 1, 1)
# Inbound every eight weeks or so: pauses of 57, 54, 55 and (to the end) 32 days.
STEADY = [at(2025, 12, 15), at(2026, 2, 10), at(2026, 4, 5), at(2026, 5, 30)]


async def _get(client: httpx.AsyncClient, tenant: Tenant, url: str) -> dict[str, Any]:
    r = await client.get(url, headers=tenant.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _people(db: Database, ws: uuid.UUID) -> None:
    """Engaged: steady (inbound), mixed (inbound and an attended seminar: pauses 76, 75, 47).
    Lapsed: quiet since November 2025 (242 days to the end), outbound-only (our messages do
    not count), and a pause of 100 days in the middle. Not in the cohort: a contact created
    in the period."""
    async with db.transaction() as s:
        steady = await f.contact(s, ws, "Steady", created_at=OLD)
        for t in STEADY:
            await f.interaction(s, ws, steady, t)
        mixed = await f.contact(s, ws, "Mixed", created_at=OLD)
        await f.interaction(s, ws, mixed, at(2025, 12, 15), direction="two_way")
        seminar = await f.activity(s, ws, "Seminar", date(2026, 3, 1))
        await f.attend(s, ws, seminar, mixed, at(2026, 3, 1))
        await f.interaction(s, ws, mixed, at(2026, 5, 15))
        quiet = await f.contact(s, ws, "Quiet", created_at=OLD)
        await f.interaction(s, ws, quiet, at(2025, 11, 1))
        talked_at = await f.contact(s, ws, "Talked at", created_at=at(2025, 6, 1))
        for month in range(1, 7):
            await f.interaction(s, ws, talked_at, at(2026, month, 10), direction="outbound")
        paused = await f.contact(s, ws, "Paused", created_at=OLD)
        for t in (at(2025, 12, 20), at(2026, 1, 10), at(2026, 4, 20), at(2026, 6, 20)):
            await f.interaction(s, ws, paused, t)  # 10 January → 20 April: 100 days
        newcomer = await f.contact(s, ws, "Newcomer", created_at=at(2026, 2, 1))
        # Referrals in the period: 2 from steady, 1 from quiet, 1 from the newcomer (not in
        # the cohort); one from steady in 2025 (before the period).
        for source, when in [
            (steady, at(2026, 2, 1)),
            (steady, at(2026, 5, 1)),
            (quiet, at(2026, 3, 1)),
            (newcomer, at(2026, 3, 1)),
            (steady, at(2025, 12, 1)),
        ]:
            await f.referral(s, ws, received_at=when, source=source)


async def test_cohorts_and_referral_rates_by_hand(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await _people(db, tenant.id)
    body = await _get(client, tenant, f"/v1/analytics/engagement-advocacy?{PERIOD}")
    assert body["gap_days"] == 90  # the workspace's lapse threshold
    assert body["engaged"] == {
        "contacts": 2,
        "referrals": 2,
        "referring_contacts": 1,
        "referrals_per_contact": 1.0,
        "share_referring": "0.5000",
    }
    assert body["lapsed"] == {
        "contacts": 3,
        "referrals": 1,
        "referring_contacts": 1,
        "referrals_per_contact": 0.3333,
        "share_referring": "0.3333",
    }
    assert body["comparison"]["sufficient"] is False  # fewer than 10 contacts a group
    assert body["comparison"]["reason"] == "each arm needs an exposure of at least 10"
    assert body["comparison"]["rate_ratio"] is None


async def test_a_shorter_gap_makes_more_contacts_lapsed(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await _people(db, tenant.id)
    url = f"/v1/analytics/engagement-advocacy?gap_days=56&{PERIOD}"
    body = await _get(client, tenant, url)
    # Steady's longest pause is 57 days, mixed's 76: both lapsed now.
    assert (body["gap_days"], body["engaged"]["contacts"], body["lapsed"]["contacts"]) == (
        56,
        0,
        5,
    )
    bad = await client.get("/v1/analytics/engagement-advocacy?gap_days=0", headers=tenant.headers)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["query", "gap_days"]


@pytest.mark.parametrize(
    ("to", "lapsed"),
    [("2026-03-15", False), ("2026-03-20", True)],  # 86.5 and 91.5 days after 20 December
)
async def test_an_imported_last_engagement_counts_as_the_lapse_rule_counts_it(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, to: str, lapsed: bool
) -> None:
    """Created in October 2025 by an import that said "last engaged 20 December", with no
    logged interaction: the report and the lapse rule, both at the end of the period, agree."""
    async with db.transaction() as s:
        await f.contact(
            s, tenant.id, "Imported", created_at=at(2025, 10, 1), last_engaged_at=at(2025, 12, 20)
        )
    url = f"/v1/analytics/engagement-advocacy?from=2026-01-01&to={to}"
    body = await _get(client, tenant, url)
    assert (body["lapsed"]["contacts"], body["engaged"]["contacts"]) == (int(lapsed), 1 - lapsed)
    end_of_period = datetime.fromisoformat(body["period"]["ends_at"])
    async with db.transaction() as s:
        assert await mark_lapses(s, tenant.id, at=end_of_period) == (int(lapsed), 0)


async def test_rate_comparison_with_enough_contacts_by_hand(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    """10 engaged contacts, 5 of whom refer once; 10 lapsed, 1 of whom refers once."""
    async with db.transaction() as s:
        for n in range(10):
            engaged = await f.contact(s, tenant.id, f"Engaged {n}", created_at=OLD)
            for t in STEADY:
                await f.interaction(s, tenant.id, engaged, t)
            lapsed = await f.contact(s, tenant.id, f"Lapsed {n}", created_at=OLD)
            if n < 5:
                await f.referral(s, tenant.id, received_at=at(2026, 3, 1), source=engaged)
            if n == 0:
                await f.referral(s, tenant.id, received_at=at(2026, 3, 1), source=lapsed)
    body = await _get(client, tenant, f"/v1/analytics/engagement-advocacy?{PERIOD}")
    assert (body["engaged"]["referrals_per_contact"], body["lapsed"]["referrals_per_contact"]) == (
        0.5,
        0.1,
    )
    cmp = body["comparison"]
    assert (cmp["sufficient"], cmp["reason"]) == (True, None)
    # Rate ratio 0.5 / 0.1 = 5; 95 % interval exp(ln 5 ± 1.96 · sqrt(1/1 + 1/5)); exact
    # conditional test: 5 of 6 referrals in the engaged half, two-sided p = 14/64.
    assert cmp["rate_ratio"] == pytest.approx(5.0)
    half = 1.959964 * math.sqrt(1 / 1 + 1 / 5)
    assert cmp["ci_low"] == pytest.approx(math.exp(math.log(5) - half), rel=1e-5)
    assert cmp["ci_high"] == pytest.approx(math.exp(math.log(5) + half), rel=1e-5)
    assert cmp["p_value"] == pytest.approx(14 / 64)


async def test_no_contacts_is_nulls_and_other_tenants_see_nothing(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    await _people(db, tenant.id)
    body = await _get(client, other_tenant, f"/v1/analytics/engagement-advocacy?{PERIOD}")
    for group in ("engaged", "lapsed"):
        assert body[group] == {
            "contacts": 0,
            "referrals": 0,
            "referring_contacts": 0,
            "referrals_per_contact": None,
            "share_referring": None,
        }
    assert body["comparison"]["sufficient"] is False
