"""The referral funnel and the lead-source mix through the API, counted by hand."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from app.db import Database
from app.models.referrals.tables import Referral, ReferralStageHistory
from tests import score_fixtures as f
from tests.conftest import Tenant

PERIOD = "from=2026-01-01&to=2026-06-30"
HOUR = timedelta(hours=1)


def at(month: int, day: int, year: int = 2026) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


async def journey(
    db: Database,
    ws: uuid.UUID,
    received_at: datetime,
    path: list[tuple[str, float]],
    *,
    source: uuid.UUID | None = None,
    actual_value: str | None = None,
    currency: str = "USD",
    direction: str = "received",
    **extra: Any,
) -> uuid.UUID:
    """A referral received at ``received_at`` that then moved along ``path``: each step is
    (stage, hours after the previous step), recorded in the stage history as the API does."""
    async with db.transaction() as s:
        rid = await f.referral(
            s,
            ws,
            received_at=received_at,
            source=source,
            partner=source if direction == "given" else None,
            direction=direction,
            actual_value=actual_value,
            currency=currency,
            **extra,
        )
        await f.stage_change(s, ws, rid, None, "received", received_at)
        stage, when = "received", received_at
        for to, hours in path:
            when += hours * HOUR
            await f.stage_change(s, ws, rid, stage, to, when)
            stage = to
        await s.execute(
            update(Referral)
            .where(Referral.workspace_id == ws, Referral.id == rid)
            .values(stage=stage, stage_changed_at=when)
        )
    return rid


async def _pipeline(db: Database, ws: uuid.UUID) -> None:
    """Five referrals in the first half of 2026 (and one from December, outside):

    r1 received → contacted 24 h → meeting 72 h → agreement 120 h → closed 240 h
    r2 received → meeting 48 h (skipping contacted) → lost 240 h
    r3 received → contacted 72 h (still there)
    r4 received (still there)
    r5 received → lost 24 h
    """
    async with db.transaction() as s:
        ann = await f.contact(s, ws, "Ann", created_at=at(1, 1, 2025))
    await journey(
        db,
        ws,
        at(2, 1),
        [("contacted", 24), ("meeting", 72), ("agreement", 120), ("closed", 240)],
        source=ann,
        actual_value="300000.00",
    )
    await journey(db, ws, at(3, 1), [("meeting", 48), ("lost", 240)], source=ann)
    await journey(db, ws, at(4, 1), [("contacted", 72)], source=ann)
    await journey(db, ws, at(5, 1), [], source=ann)
    await journey(db, ws, at(5, 5), [("lost", 24)], source=ann)
    await journey(db, ws, at(12, 15, 2025), [("contacted", 1)], source=ann)


async def _get(client: httpx.AsyncClient, tenant: Tenant, url: str) -> dict[str, Any]:
    r = await client.get(url, headers=tenant.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_funnel_counts_conversion_and_time_in_stage_by_hand(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await _pipeline(db, tenant.id)
    body = await _get(client, tenant, f"/v1/analytics/funnel?{PERIOD}")
    assert body["received"] == 5
    stages = {s["stage"]: s for s in body["stages"]}
    assert list(stages) == ["received", "contacted", "meeting", "agreement", "closed"]
    # Furthest stage reached: r1 closed, r2 meeting (the skipped contacted counts as passed),
    # r3 contacted, r4 and r5 received.
    assert [s["reached"] for s in body["stages"]] == [5, 3, 2, 1, 1]
    assert [s["current"] for s in body["stages"]] == [1, 1, 0, 0, 1]
    # 3/5, 2/3, 1/2, 1/1 from the previous stage; 5/5, 3/5, 2/5, 1/5, 1/5 from received.
    assert [s["conversion_from_previous"] for s in body["stages"]] == [
        None,
        "0.6000",
        "0.6667",
        "0.5000",
        "1.0000",
    ]
    assert [s["conversion_from_received"] for s in body["stages"]] == [
        "1.0000",
        "0.6000",
        "0.4000",
        "0.2000",
        "0.2000",
    ]
    # Ended stays only: received 24, 48, 72, 24 (r4 still waiting) → 42 h over 4;
    # contacted 72 (r3 still there) → 72 over 1; meeting 120 and 240 → 180 over 2;
    # agreement 240 over 1; nobody left closed.
    hours = [(s["average_hours_in_stage"], s["stays_measured"]) for s in body["stages"]]
    assert hours == [(42.0, 4), (72.0, 1), (180.0, 2), (240.0, 1), (None, 0)]
    assert body["lost"] == 2
    assert body["lost_by_stage"] == {"meeting": 1, "received": 1}
    assert body["open"] == 2


async def test_funnel_of_an_empty_period_is_nulls_not_errors(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await _pipeline(db, tenant.id)
    body = await _get(client, tenant, "/v1/analytics/funnel?from=2025-01-01&to=2025-06-30")
    assert (body["received"], body["lost"], body["open"], body["lost_by_stage"]) == (0, 0, 0, {})
    for stage in body["stages"]:
        assert stage["reached"] == stage["current"] == stage["stays_measured"] == 0
        assert stage["conversion_from_previous"] is None
        assert stage["conversion_from_received"] is None
        assert stage["average_hours_in_stage"] is None


async def test_funnel_is_tenant_isolated(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    await _pipeline(db, tenant.id)
    body = await _get(client, other_tenant, f"/v1/analytics/funnel?{PERIOD}")
    assert body["received"] == 0
    assert [s["reached"] for s in body["stages"]] == [0, 0, 0, 0, 0]


async def _closed_business(db: Database, ws: uuid.UUID) -> dict[str, uuid.UUID]:
    """Closed in the period: Ann 3 (100,000 + 25,000 + 25,000), Ben 1 (100,000), one from an
    unknown source (no value). Left out: Ann's close of December, her open referral, Ben's
    close in EUR, a referral we gave."""
    async with db.transaction() as s:
        ann = await f.contact(s, ws, "Ann", segment="advocate")
        ben = await f.contact(s, ws, "Ben", segment="advocate")
        partner = await f.contact(s, ws, "Lender", segment="allied_resource")
    closed = [("closed", 100)]
    for value in ("100000.00", "25000.00", "25000.00"):
        await journey(db, ws, at(2, 1), closed, source=ann, actual_value=value)
    await journey(db, ws, at(3, 1), closed, source=ben, actual_value="100000.00")
    await journey(db, ws, at(3, 2), closed)
    await journey(db, ws, at(11, 1, 2025), closed, source=ann, actual_value="900000.00")
    await journey(db, ws, at(3, 3), [("meeting", 5)], source=ann)
    await journey(db, ws, at(3, 4), closed, source=ben, actual_value="1.00", currency="EUR")
    await journey(db, ws, at(3, 5), closed, source=partner, actual_value="50.00", direction="given")
    return {"ann": ann, "ben": ben}


async def test_lead_source_shares_and_over_reliance_warning_by_hand(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    ids = await _closed_business(db, tenant.id)
    body = await _get(client, tenant, f"/v1/analytics/lead-sources?{PERIOD}")
    assert (body["closed"], body["value"], body["threshold"]) == (5, "250000.00", "0.5000")
    rows = [
        (s["key"], s["label"], s["closed"], s["value"], s["share_of_count"], s["share_of_value"])
        for s in body["sources"]
    ]
    # Ann 3/5 = 0.6 of the count, 150,000/250,000 = 0.6 of the value; Ben 0.2 and 0.4;
    # the unknown source 0.2 and 0. Largest share of value first.
    assert rows == [
        (str(ids["ann"]), "Ann", 3, "150000.00", "0.6000", "0.6000"),
        (str(ids["ben"]), "Ben", 1, "100000.00", "0.2000", "0.4000"),
        (None, "unknown source", 1, "0.00", "0.2000", "0.0000"),
    ]
    assert [s["over_reliance"] for s in body["sources"]] == [True, False, False]
    assert body["warnings"] == [
        "Ann brought 60.0% of new business (threshold 50%): over-reliance on one source; "
        "diversify lead sources"
    ]


@pytest.mark.parametrize(("threshold", "warned"), [("0.6", False), ("0.5999", True)])
async def test_over_reliance_is_a_share_above_the_configured_threshold(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, threshold: str, warned: bool
) -> None:
    await _closed_business(db, tenant.id)
    r = await client.patch(
        "/v1/analytics/settings", json={"over_reliance_share": threshold}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    body = await _get(client, tenant, f"/v1/analytics/lead-sources?{PERIOD}")
    assert body["sources"][0]["over_reliance"] is warned  # Ann: exactly 0.6 of both
    assert len(body["warnings"]) == (1 if warned else 0)


async def test_lead_sources_by_segment_group_the_referrers(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await _closed_business(db, tenant.id)
    body = await _get(client, tenant, f"/v1/analytics/lead-sources?by=segment&{PERIOD}")
    rows = [(s["key"], s["label"], s["closed"], s["share_of_value"]) for s in body["sources"]]
    assert rows == [("advocate", "advocate", 4, "1.0000"), (None, "unknown segment", 1, "0.0000")]
    assert body["sources"][0]["share_of_count"] == "0.8000"


async def test_lead_sources_without_business_are_empty_and_tenant_isolated(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    await _closed_business(db, tenant.id)
    for who, period in ((other_tenant, PERIOD), (tenant, "from=2024-01-01&to=2024-12-31")):
        body = await _get(client, who, f"/v1/analytics/lead-sources?{period}")
        assert (body["closed"], body["value"], body["sources"], body["warnings"]) == (
            0,
            "0.00",
            [],
            [],
        )


async def test_a_closed_referral_without_value_has_no_share_of_value(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await journey(db, tenant.id, at(3, 2), [("closed", 1)])
    body = await _get(client, tenant, f"/v1/analytics/lead-sources?{PERIOD}")
    (only,) = body["sources"]
    assert (only["share_of_count"], only["share_of_value"]) == ("1.0000", None)  # 0 / 0
    assert only["over_reliance"] is True  # one source is all of the business


async def test_changes_recorded_at_the_same_instant_are_ordered_by_stage(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    """Created and contacted at once, then a meeting 10 h later. The history ids are chosen
    so that ordering by id would put the contact before the receipt."""
    ws, t = tenant.id, at(3, 1)
    async with db.transaction() as s:
        rid = await f.referral(
            s, ws, received_at=t, stage="meeting", stage_changed_at=t + 10 * HOUR
        )
        for row_id, frm, to, when in [
            ("ffffffff-0000-4000-8000-000000000000", None, "received", t),
            ("00000000-0000-4000-8000-000000000000", "received", "contacted", t),
            ("88888888-0000-4000-8000-000000000000", "contacted", "meeting", t + 10 * HOUR),
        ]:
            s.add(
                ReferralStageHistory(
                    workspace_id=ws, id=uuid.UUID(row_id), referral_id=rid,
                    from_stage=frm, to_stage=to, at=when,
                )
            )  # fmt: skip
    body = await _get(client, tenant, f"/v1/analytics/funnel?{PERIOD}")
    hours = {s["stage"]: (s["average_hours_in_stage"], s["stays_measured"]) for s in body["stages"]}
    assert hours["received"] == (0.0, 1)
    assert hours["contacted"] == (10.0, 1)
