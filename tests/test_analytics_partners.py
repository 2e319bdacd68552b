"""Allied resources (service quality, reciprocity balance, ranking) and the satisfaction model
(a fit on data with known coefficients, insufficient data) through the API."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import httpx
import pytest

from app.db import Database
from app.models.contacts.service_records import ServiceRecord
from tests import score_fixtures as f
from tests.conftest import Tenant
from tests.test_analytics_funnel import at, journey

PERIOD = "from=2026-01-01&to=2026-06-30"


async def _partners(db: Database, ws: uuid.UUID) -> dict[str, uuid.UUID]:
    """Lena (lender): rated Q 9 and 7 (S 8 and 6) in the period, Q 1 before it; we sent her 3
    clients (one closed at 200,000) plus one in 2025; she sent us 1 (closed at 50,000).
    Ivan (inspector): rated Q 6 (S 5); sent us 2 open leads. Sara (stager): nothing at all.
    Pete is no allied resource but a record names him as partner: Q 10."""
    async with db.transaction() as s:
        lena = await f.contact(s, ws, "Lena", segment="allied_resource", allied_category="mortgage")
        ivan = await f.contact(
            s, ws, "Ivan", segment="allied_resource", allied_category="inspection"
        )
        sara = await f.contact(s, ws, "Sara", segment="allied_resource", allied_category="staging")
        pete = await f.contact(s, ws, "Pete", segment="client")
        buyer = await f.contact(s, ws, "Buyer")
        for partner, ratings, on in [
            (lena, (8, 9, 8, 8), date(2026, 2, 1)),
            (lena, (7, 7, 6, 6), date(2026, 3, 1)),
            (lena, (1, 1, 1, 1), date(2025, 12, 31)),
            (ivan, (5, 6, 5, 5), date(2026, 4, 1)),
            (pete, (9, 10, 9, 9), date(2026, 5, 1)),
        ]:
            await f.service_record(s, ws, buyer, ratings, on=on, partner_id=partner)
    closed = [("closed", 10)]
    await journey(
        db, ws, at(2, 1), closed, source=lena, actual_value="200000.00", direction="given"
    )
    await journey(db, ws, at(2, 2), [], source=lena, direction="given")
    await journey(db, ws, at(2, 3), [], source=lena, direction="given")
    await journey(db, ws, at(11, 1, 2025), [], source=lena, direction="given")
    await journey(db, ws, at(3, 1), closed, source=lena, actual_value="50000.00")
    await journey(db, ws, at(3, 2), [], source=ivan)
    await journey(db, ws, at(3, 3), [], source=ivan)
    return {"lena": lena, "ivan": ivan, "sara": sara, "pete": pete}


async def _get(client: httpx.AsyncClient, tenant: Tenant, url: str) -> dict[str, Any]:
    r = await client.get(url, headers=tenant.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_allied_resources_quality_and_reciprocity_by_hand(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    ids = await _partners(db, tenant.id)
    body = await _get(client, tenant, f"/v1/analytics/allied-resources?{PERIOD}")
    assert (body["ranked_by"], body["currency"]) == ("quality", "USD")
    rows = {p["name"]: p for p in body["partners"]}
    assert rows["Lena"] == {
        "rank": 2,
        "contact_id": str(ids["lena"]),
        "name": "Lena",
        "category": "mortgage",
        "service_records": 2,
        "average_quality": 8.0,  # (9 + 7) / 2; the 2025 record is outside the period
        "average_satisfaction": 7.0,  # (8 + 6) / 2
        "referrals_given": 3,
        "referrals_received": 1,
        "value_given": "200000.00",
        "value_received": "50000.00",
        "balance": 2,  # 3 - 1: we give more than we get
        "value_balance": "150000.00",
    }
    ivan = rows["Ivan"]
    assert (ivan["average_quality"], ivan["balance"], ivan["value_balance"]) == (6.0, -2, "0.00")
    sara = rows["Sara"]
    assert (sara["service_records"], sara["average_quality"], sara["balance"]) == (0, None, 0)
    assert rows["Pete"]["average_quality"] == 10.0  # named on a record: reviewed too


@pytest.mark.parametrize(
    ("rank_by", "order"),
    [
        ("quality", ["Pete", "Lena", "Ivan", "Sara"]),  # best rated first, unrated last
        ("received", ["Ivan", "Lena", "Pete", "Sara"]),  # most leads to us first
        ("balance", ["Ivan", "Pete", "Sara", "Lena"]),  # those we owe referrals to first
    ],
)
async def test_allied_resources_ranking(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, rank_by: str, order: list[str]
) -> None:
    await _partners(db, tenant.id)
    url = f"/v1/analytics/allied-resources?rank_by={rank_by}&{PERIOD}"
    partners = (await _get(client, tenant, url))["partners"]
    assert [p["name"] for p in partners] == order
    assert [p["rank"] for p in partners] == [1, 2, 3, 4]


async def test_allied_resources_are_tenant_isolated_and_empty_without_partners(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    await _partners(db, tenant.id)
    body = await _get(client, other_tenant, f"/v1/analytics/allied-resources?{PERIOD}")
    assert body["partners"] == []
    bad = await client.get("/v1/analytics/allied-resources?rank_by=size", headers=tenant.headers)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["query", "rank_by"]


# S = 1·C + 0.5·Q + 0.5·V exactly, over twelve records (C, Q, V, S).
KNOWN = [
    (1, 1, 1, 2),
    (2, 3, 1, 4),
    (3, 2, 2, 5),
    (1, 5, 3, 5),
    (4, 1, 3, 6),
    (2, 6, 2, 6),
    (5, 2, 4, 8),
    (3, 7, 1, 7),
    (1, 9, 9, 10),
    (6, 4, 2, 9),
    (2, 2, 8, 7),
    (4, 3, 5, 8),
]


async def _feedback(
    db: Database, ws: uuid.UUID, rows: list[tuple[int, int, int, int]], on: date
) -> None:
    async with db.transaction() as s:
        buyer = await f.contact(s, ws, "Buyer")
        for ratings in rows:
            await f.service_record(s, ws, buyer, ratings, on=on)


async def test_satisfaction_model_recovers_known_coefficients(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    assert all(c + (q + v) / 2 == s for c, q, v, s in KNOWN)
    await _feedback(db, tenant.id, KNOWN, date(2026, 3, 1))
    await _feedback(db, tenant.id, [(10, 1, 1, 1)] * 3, date(2025, 6, 1))  # outside the period
    async with db.transaction() as s:  # a record without every rating is left out
        buyer = await f.contact(s, tenant.id, "Partial")
        s.add(
            ServiceRecord(
                workspace_id=tenant.id,
                id=uuid.uuid4(),
                contact_id=buyer,
                date=date(2026, 3, 2),
                service="purchase",
                rating_communication=10,
                rating_quality=1,
                rating_value=None,
                rating_satisfaction=1,
            )
        )
    body = await _get(client, tenant, f"/v1/analytics/satisfaction?{PERIOD}")
    assert (body["n"], body["min_n"], body["sufficient"], body["reason"]) == (12, 10, True, None)
    coef = body["coefficients"]
    assert coef["alpha"] == pytest.approx(1.0, abs=1e-9)
    assert coef["beta"] == pytest.approx(0.5, abs=1e-9)
    assert coef["gamma"] == pytest.approx(0.5, abs=1e-9)
    assert body["r_squared"] == pytest.approx(1.0, abs=1e-9)
    assert body["strongest_driver"] == "C"
    # Means: C 34/12, Q 45/12, V 41/12, S 77/12, to two decimals.
    assert body["means"] == {"C": 2.83, "Q": 3.75, "V": 3.42, "S": 6.42}


async def test_satisfaction_model_reports_insufficient_data_below_the_minimum(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await _feedback(db, tenant.id, KNOWN[:9], date(2026, 3, 1))
    body = await _get(client, tenant, f"/v1/analytics/satisfaction?{PERIOD}")
    assert (body["n"], body["sufficient"]) == (9, False)
    assert body["reason"] == "at least 10 feedback records are needed"
    assert body["coefficients"] == {"alpha": None, "beta": None, "gamma": None}
    assert (body["r_squared"], body["strongest_driver"]) == (None, None)
    assert body["means"]["C"] == 2.44  # 22 / 9: the data is still described


async def test_satisfaction_model_of_nothing_and_of_collinear_ratings(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    await _feedback(
        db, tenant.id, [(n % 9 + 1, n % 9 + 1, 5, 6) for n in range(12)], date(2026, 3, 1)
    )
    body = await _get(client, tenant, f"/v1/analytics/satisfaction?{PERIOD}")
    assert (body["n"], body["sufficient"]) == (12, False)
    assert body["reason"] == "C, Q and V are collinear: weights not identifiable"
    empty = await _get(client, other_tenant, f"/v1/analytics/satisfaction?{PERIOD}")
    assert (empty["n"], empty["sufficient"], empty["r_squared"]) == (0, False, None)
    assert empty["means"] == {"C": None, "Q": None, "V": None, "S": None}
