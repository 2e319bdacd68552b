"""Referral value and ROI through the API, with figures computed by hand in the comments."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from app.db import Database
from tests import score_fixtures as f
from tests.conftest import Tenant

PERIOD = "from=2026-01-01&to=2026-06-30"


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=UTC)


async def _configure(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = {"touch_costs": {"card": "3.50"}, "tracking_cost_per_referral": "25.00"}
    r = await client.patch("/v1/analytics/settings", json=body, headers=tenant.headers)
    assert r.status_code == 200, r.text


async def _book(db: Database, ws: uuid.UUID) -> dict[str, uuid.UUID]:
    """Source S: 4 referrals in the period (2 closed: 300,000 + 100,000), rewards 500 + 250
    (+ 99 cancelled), 2 cards delivered (plus an email and a skipped card). Source T: one
    open referral. Outside the books: a EUR referral and one before the period."""
    async with db.transaction() as s:
        src = await f.contact(s, ws, "Sam", segment="advocate", created_at=at(1, 1))
        other = await f.contact(s, ws, "Tess", segment="client", created_at=at(1, 1))
        prog = await f.program(s, ws, "Closing bonus")
        plan = await f.builtin_plan(s, ws, "33_touch")
        await f.enroll(s, ws, plan, src, date(2026, 1, 5))
        act = await f.activity(s, ws, "Spring seminar", date(2026, 1, 20), cost="1000.00")
        await f.attend(s, ws, act, src, at(1, 20))
        refs = [
            await f.referral(s, ws, source=src, received_at=at(2, 1), stage="closed",
                             actual_value="300000.00", program_id=prog),
            await f.referral(s, ws, source=src, received_at=at(3, 1), stage="closed",
                             actual_value="100000.00", program_id=prog),
            await f.referral(s, ws, source=src, received_at=at(4, 1), stage="meeting",
                             program_id=prog),
            await f.referral(s, ws, source=src, received_at=at(5, 1), stage="lost",
                             program_id=prog),
        ]  # fmt: skip
        await f.referral(s, ws, source=other, received_at=at(5, 2))
        await f.referral(s, ws, source=src, received_at=at(5, 3), currency="EUR")
        await f.referral(s, ws, source=src, received_at=datetime(2025, 12, 31, 12, tzinfo=UTC))
        for i, (amount, status) in enumerate(
            [("500.00", "issued"), ("250.00", "pending"), ("99.00", "cancelled")]
        ):
            await f.reward(s, ws, referral_id=refs[0], referrer=src, program_id=prog,
                           amount=amount, status=status, at=at(2, 10), rule_index=i)  # fmt: skip
        for day in (3, 4):
            await f.touch(s, ws, src, channel="card", due_at=at(3, day), plan_id=plan)
        await f.touch(s, ws, src, channel="email", due_at=at(3, 5))
        await f.touch(s, ws, src, channel="card", due_at=at(3, 6), status="skipped")
    return {"src": src, "other": other, "prog": prog, "plan": plan, "act": act}


async def _report(client: httpx.AsyncClient, tenant: Tenant, by: str) -> dict[str, Any]:
    r = await client.get(f"/v1/analytics/referral-value?by={by}&{PERIOD}", headers=tenant.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_referral_value_and_roi_per_source_by_hand(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await _configure(client, tenant)
    ids = await _book(db, tenant.id)
    body = await _report(client, tenant, "source")
    assert body["period"]["start_date"] == "2026-01-01"
    assert body["excluded_other_currency"] == 1
    top, bottom = body["rows"]
    assert (top["key"], top["label"]) == (str(ids["src"]), "Sam")
    # C = 4, CR = 2/4 = 0.5, AV = 400,000 / 2 = 200,000; AC = rewards 500 + 250 + touches
    # 2 x 3.50 = 757; TC = 4 x 25 = 100. RV = 4 x 0.5 x 200,000 - (757 + 100) = 399,143.
    assert top["inputs"] == {
        "contacts": 4,
        "converted": 2,
        "conversion_rate": "0.5000",
        "average_value": "200000.00",
        "closed_without_value": 0,
        "revenue": "400000.00",
        "acquisition_cost": "757.00",
        "acquisition_breakdown": {"rewards": "750.00", "touches": "7.00", "activities": "0.00"},
        "tracking_cost": "100.00",
        "costs": "857.00",
    }
    assert top["referral_value"] == "399143.00"
    # ROI = (400,000 - 857) / 857 x 100 = 46,574.45 %
    assert top["roi_percent"] == "46574.45"
    # T: C = 1, nothing converted (CR 0, AV undefined), TC = 25: RV = -25, ROI = -100 %.
    assert bottom["inputs"]["conversion_rate"] == "0.0000"
    assert bottom["inputs"]["average_value"] is None
    assert (bottom["referral_value"], bottom["roi_percent"]) == ("-25.00", "-100.00")
    # Whole workspace: C = 5; AC = 750 + 7 + activity 1,000; TC = 125.
    # RV = 400,000 - 1,882 = 398,118; ROI = 398,118 / 1,882 x 100 = 21,153.99 %.
    assert body["total"]["referral_value"] == "398118.00"
    assert body["total"]["roi_percent"] == "21153.99"
    assert body["groups"] == 2


@pytest.mark.parametrize(
    ("by", "key", "label", "costs", "rv", "roi"),
    [
        # rewards of the program only: 750 + TC 100
        ("program", "prog", "Closing bonus", "850.00", "399150.00", "46958.82"),
        # the plan's two cards: 7 + TC 100
        ("plan", "plan", "33 Touch", "107.00", "399893.00", "373731.78"),
        # the seminar the source attended before referring: 1,000 + TC 100
        ("activity", "act", "Spring seminar", "1100.00", "398900.00", "36263.64"),
        # the advocate segment: as the source (the only advocate)
        ("segment", None, "advocate", "857.00", "399143.00", "46574.45"),
    ],
)
async def test_referral_value_per_program_plan_activity_and_segment(
    client: httpx.AsyncClient,
    db: Database,
    tenant: Tenant,
    by: str,
    key: str | None,
    label: str,
    costs: str,
    rv: str,
    roi: str,
) -> None:
    await _configure(client, tenant)
    ids = await _book(db, tenant.id)
    top = (await _report(client, tenant, by))["rows"][0]
    assert top["key"] == (str(ids[key]) if key else label)
    assert top["label"] == label
    assert top["inputs"]["contacts"] == 4
    assert top["inputs"]["costs"] == costs
    assert (top["referral_value"], top["roi_percent"]) == (rv, roi)


async def test_unattributed_referrals_get_a_none_row(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await _configure(client, tenant)
    await _book(db, tenant.id)
    rows = (await _report(client, tenant, "activity"))["rows"]
    none = next(r for r in rows if r["key"] is None)
    assert (none["label"], none["inputs"]["contacts"], none["referral_value"]) == (
        "no activity",
        1,
        "-25.00",
    )


async def test_empty_workspace_reports_nulls_not_errors(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = await _report(client, tenant, "source")
    assert body["rows"] == []
    assert body["groups"] == 0
    total = body["total"]
    assert total["inputs"]["conversion_rate"] is None
    assert total["inputs"]["average_value"] is None
    assert total["referral_value"] == "0.00"
    assert total["roi_percent"] is None  # nothing spent: ROI undefined, not infinite


async def test_referral_value_is_tenant_isolated(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    await _configure(client, tenant)
    await _book(db, tenant.id)
    for by in ("source", "segment", "plan", "program", "activity"):
        body = await _report(client, other_tenant, by)
        assert body["total"]["inputs"]["contacts"] == 0, by
        assert body["total"]["inputs"]["costs"] == "0.00", by
        assert all(r["inputs"]["contacts"] == 0 for r in body["rows"]), by


async def test_settings_are_versioned_and_refuse_float_money(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    h = tenant.headers
    r = await client.get("/v1/analytics/settings", headers=h)
    assert r.headers["ETag"] == '"0"'
    assert r.json()["over_reliance_share"] == "0.5000"
    r = await client.patch(
        "/v1/analytics/settings", json={"tracking_cost_per_referral": 12.5}, headers=h
    )
    assert r.status_code == 422
    r = await client.patch(
        "/v1/analytics/settings",
        json={"score_window_days": 180},
        headers={**h, "If-Match": '"0"'},
    )
    assert (r.status_code, r.headers["ETag"]) == (200, '"1"')
    stale = await client.patch(
        "/v1/analytics/settings", json={"currency": "EUR"}, headers={**h, "If-Match": '"0"'}
    )
    assert stale.status_code == 412


async def test_bad_period_is_refused(client: httpx.AsyncClient, tenant: Tenant) -> None:
    r = await client.get(
        "/v1/analytics/funnel?from=2026-06-30&to=2026-01-01", headers=tenant.headers
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["query", "from"]
