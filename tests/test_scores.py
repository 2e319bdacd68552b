"""Relationship strength through the API: known inputs give hand-computed scores."""

from __future__ import annotations

import math
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from app.clock import FrozenClock
from app.db import Database
from app.models.scores.tables import ContactScore, ScoreParamSet
from app.services.analytics.formulas import recency_weight, relationship_strength, saturating_score
from app.services.scores.strength import cadence_target
from tests import score_fixtures as f
from tests.conftest import T0, Tenant

DAY = timedelta(days=1)

# Targets of the default 365-day window: the weighted count of 12, 2 and 4 activities a year
# spread evenly (each in the middle of its slice), with a 90-day half-life.
T_COMM, T_RECIP, T_APPR = 4.002916, 0.616651, 1.310228


def test_targets_are_the_weighted_count_of_an_even_cadence() -> None:
    # Two referrals a year sit at 91.25 and 273.75 days: 0.5**(91.25/90) + 0.5**(273.75/90).
    assert cadence_target(2, 365) == pytest.approx(0.49518 + 0.12147, abs=1e-4)
    assert cadence_target(12, 365) == pytest.approx(T_COMM, abs=1e-6)
    assert cadence_target(2, 365) == pytest.approx(T_RECIP, abs=1e-6)
    assert cadence_target(4, 365) == pytest.approx(T_APPR, abs=1e-6)
    # On cadence means 63 on the component: 100 * (1 - 1/e).
    assert saturating_score(cadence_target(12, 365), cadence_target(12, 365)) == pytest.approx(
        63.212, abs=1e-3
    )


async def _known_contact(db: Database, tenant: Tenant) -> str:
    """Interactions today (1) and 90 days ago (0.5), a referral 180 days ago (0.25), an
    event attended today (1), plus activity outside the 365-day window that must not count."""
    async with db.transaction() as s:
        ws = tenant.id
        c = await f.contact(s, ws, "Avery", created_at=T0 - 800 * DAY)
        await f.interaction(s, ws, c, T0)
        await f.interaction(s, ws, c, T0 - 90 * DAY, direction="outbound")
        await f.interaction(s, ws, c, T0 - 400 * DAY)
        await f.referral(s, ws, source=c, received_at=T0 - 180 * DAY)
        await f.referral(s, ws, source=c, received_at=T0 - 366 * DAY)
        act = await f.activity(s, ws, "Seminar", T0.date())
        await f.attend(s, ws, act, c, T0)
    return str(c)


async def test_score_of_known_inputs_is_the_hand_computed_value(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    contact_id = await _known_contact(db, tenant)
    r = await client.post("/v1/scores/recompute", headers=tenant.headers)
    assert r.status_code == 200, r.text
    assert r.json()["scored"] == 1

    body = (await client.get(f"/v1/contacts/{contact_id}/score", headers=tenant.headers)).json()
    comp = body["components"]
    # communication: 100 * (1 - exp(-1.5 / 4.002916)) = 31.25
    assert comp["communication"]["weighted_count"] == pytest.approx(1.5, abs=1e-4)
    assert comp["communication"]["value"] == pytest.approx(31.25, abs=0.01)
    assert comp["communication"]["counts"] == {"interactions": 2}
    # reciprocity: 100 * (1 - exp(-0.25 / 0.616651)) = 33.33
    assert comp["reciprocity"]["weighted_count"] == pytest.approx(0.25, abs=1e-4)
    assert comp["reciprocity"]["value"] == pytest.approx(33.33, abs=0.01)
    assert comp["reciprocity"]["counts"] == {"referrals_received": 1, "referrals_given": 0}
    # appreciation: 100 * (1 - exp(-1 / 1.310228)) = 53.38
    assert comp["appreciation"]["value"] == pytest.approx(53.38, abs=0.01)
    assert comp["appreciation"]["counts"]["events_attended"] == 1
    # score: 0.4 * 31.2523 + 0.35 * 33.3300 + 0.25 * 53.3840 = 37.51
    assert body["score"] == pytest.approx(37.51, abs=0.01)
    assert comp["communication"]["weight"] == 0.4
    assert comp["communication"]["contribution"] == pytest.approx(12.50, abs=0.01)
    assert comp["reciprocity"]["target"] == pytest.approx(T_RECIP, abs=1e-4)
    assert body["stored"] is True
    assert body["window_days"] == 365


async def test_stored_rows_agree_with_the_python_formulas(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    """The SQL repeats formulas.py; every stored row must match the Python functions."""
    async with db.transaction() as s:
        for i in range(8):
            c = await f.contact(s, tenant.id, f"C{i}", created_at=T0 - 500 * DAY)
            for k in range(i):
                await f.interaction(s, tenant.id, c, T0 - (k * 37 + i) * DAY)
            if i % 2:
                await f.referral(
                    s, tenant.id, partner=c, direction="given", received_at=T0 - i * DAY
                )
            if i % 3 == 0:
                await f.touch(s, tenant.id, c, channel="gift", due_at=T0 - 10 * i * DAY)
    await client.post("/v1/scores/recompute", headers=tenant.headers)
    async with db.transaction() as s:
        rows = (await s.execute(select(ContactScore))).scalars().all()
        params = (await s.execute(select(ScoreParamSet))).scalar_one()
    assert len(rows) == 8
    targets = params.targets
    for row in rows:
        comm = saturating_score(row.communication_weighted, targets["communication"])
        recip = saturating_score(row.reciprocity_weighted, targets["reciprocity"])
        appr = saturating_score(row.appreciation_weighted, targets["appreciation"])
        assert (row.communication, row.reciprocity, row.appreciation) == pytest.approx(
            (comm, recip, appr), abs=1e-9
        )
        assert row.score == pytest.approx(
            relationship_strength((comm, recip, appr), (0.4, 0.35, 0.25)), abs=1e-9
        )
        n = row.interactions  # contact Cn has n interactions, aged k * 37 + n days
        expected_w = sum(recency_weight(k * 37 + n) for k in range(n))
        assert row.communication_weighted == pytest.approx(expected_w, abs=1e-9)


async def test_unscored_contact_is_scored_for_the_answer_and_empty_data_scores_zero(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    async with db.transaction() as s:
        c = await f.contact(s, tenant.id, "Quiet")
    r = await client.get(f"/v1/contacts/{c}/score", headers=tenant.headers)
    assert r.status_code == 200
    body = r.json()
    assert body["stored"] is False
    assert body["score"] == 0.0
    assert body["components"]["communication"]["value"] == 0.0
    assert body["previous_score"] is None


async def test_recompute_on_an_empty_workspace_scores_nothing(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    r = await client.post("/v1/scores/recompute", headers=tenant.headers)
    assert r.json() | {"duration_ms": 0} == {
        "lapsed": 0,
        "recovered": 0,
        "stages_changed": 0,
        "scored": 0,
        "history_rows": 0,
        "computed_at": "2026-11-23T12:00:00Z",
        "duration_ms": 0,
    }
    page = (await client.get("/v1/scores", headers=tenant.headers)).json()
    assert page == {"data": [], "next_cursor": None}


async def test_change_history_and_movers_across_days(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, clock: FrozenClock
) -> None:
    async with db.transaction() as s:
        rising = await f.contact(s, tenant.id, "Rising")
        falling = await f.contact(s, tenant.id, "Falling")
        for k in range(6):
            await f.interaction(s, tenant.id, falling, T0 - k * DAY)
    await client.post("/v1/scores/recompute", headers=tenant.headers)
    # Same day again: the baseline ("previous day") is not reset, no new history point.
    r = await client.post("/v1/scores/recompute", headers=tenant.headers)
    assert r.json()["history_rows"] == 0

    clock.advance(30 * DAY)
    async with db.transaction() as s:
        for k in range(4):
            await f.interaction(s, tenant.id, rising, clock.now() - k * DAY)
    await client.post("/v1/scores/recompute", headers=tenant.headers)

    drops = (await client.get("/v1/scores?order=change", headers=tenant.headers)).json()["data"]
    assert [d["contact_id"] for d in drops] == [str(falling), str(rising)]
    assert drops[0]["change"] < 0 < drops[1]["change"]
    rises = (await client.get("/v1/scores?order=-change", headers=tenant.headers)).json()["data"]
    assert rises[0]["contact_id"] == str(rising)

    body = (await client.get(f"/v1/contacts/{falling}/score", headers=tenant.headers)).json()
    assert body["previous_computed_at"] == "2026-11-23T12:00:00Z"
    assert body["change"] == pytest.approx(body["score"] - body["previous_score"], abs=0.011)

    hist = (
        await client.get(f"/v1/contacts/{falling}/score/history", headers=tenant.headers)
    ).json()
    assert [p["computed_at"] for p in hist["data"]] == [
        "2026-11-23T12:00:00Z",
        "2026-12-23T12:00:00Z",
    ]
    assert hist["data"][1]["score"] < hist["data"][0]["score"]


async def test_list_pages_with_a_cursor_in_score_order(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    async with db.transaction() as s:
        for i in range(5):
            c = await f.contact(s, tenant.id, f"P{i}")
            for k in range(i):
                await f.interaction(s, tenant.id, c, T0 - k * DAY)
    await client.post("/v1/scores/recompute", headers=tenant.headers)
    seen: list[float] = []
    cursor = None
    while True:
        url = "/v1/scores?order=-score&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(url, headers=tenant.headers)).json()
        seen += [d["score"] for d in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5
    assert seen == sorted(seen, reverse=True)
    assert seen[-1] == 0.0


async def test_scores_are_tenant_isolated(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    contact_id = await _known_contact(db, tenant)
    await client.post("/v1/scores/recompute", headers=tenant.headers)
    r = await client.post("/v1/scores/recompute", headers=other_tenant.headers)
    assert r.json()["scored"] == 0
    assert (
        await client.get(f"/v1/contacts/{contact_id}/score", headers=other_tenant.headers)
    ).status_code == 404
    assert (
        await client.get(f"/v1/contacts/{contact_id}/score/history", headers=other_tenant.headers)
    ).status_code == 404
    assert (await client.get("/v1/scores", headers=other_tenant.headers)).json()["data"] == []


async def test_weights_come_from_the_workspace(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    contact_id = await _known_contact(db, tenant)
    weights = {"communication": 1.0, "reciprocity": 0.0, "appreciation": 0.0}
    r = await client.patch("/v1/workspace", json={"score_weights": weights}, headers=tenant.headers)
    assert r.status_code == 200
    await client.post("/v1/scores/recompute", headers=tenant.headers)
    body = (await client.get(f"/v1/contacts/{contact_id}/score", headers=tenant.headers)).json()
    assert body["score"] == pytest.approx(100 * (1 - math.exp(-1.5 / T_COMM)), abs=0.01)


async def test_appreciation_counts_gift_touches_plan_touches_and_issued_rewards(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    async with db.transaction() as s:
        ws = tenant.id
        c = await f.contact(s, ws, "Grateful")
        appreciation = await f.builtin_plan(s, ws, "advocate_appreciation")
        await f.touch(s, ws, c, channel="card", due_at=T0)
        await f.touch(s, ws, c, channel="email", due_at=T0, status="sent", plan_id=appreciation)
        await f.touch(s, ws, c, channel="email", due_at=T0)  # not appreciation
        await f.touch(s, ws, c, channel="gift", due_at=T0, status="skipped")  # not delivered
        prog = await f.program(s, ws)
        ref = await f.referral(s, ws, source=c, received_at=T0)
        await f.reward(s, ws, referral_id=ref, referrer=c, program_id=prog, amount="50")
        await f.reward(
            s,
            ws,
            referral_id=ref,
            referrer=c,
            program_id=prog,
            amount="9",
            status="pending",
            rule_index=1,
        )
    await client.post("/v1/scores/recompute", headers=tenant.headers)
    body = (await client.get(f"/v1/contacts/{c}/score", headers=tenant.headers)).json()
    assert body["components"]["appreciation"]["counts"] == {
        "events_attended": 0,
        "appreciation_touches": 2,
        "rewards_issued": 1,
    }
    assert body["components"]["appreciation"]["weighted_count"] == pytest.approx(3.0)


async def test_unknown_contact_is_404_and_bad_order_is_422(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    r = await client.get(f"/v1/contacts/{missing}/score", headers=tenant.headers)
    assert r.status_code == 404
    assert (await client.get("/v1/scores?order=name", headers=tenant.headers)).status_code == 422


async def test_first_recompute_writes_one_score_and_one_history_point(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await _known_contact(db, tenant)
    first = (await client.post("/v1/scores/recompute", headers=tenant.headers)).json()
    assert first["history_rows"] == 1
    async with db.transaction() as s:
        n = (await s.execute(select(func.count()).select_from(ContactScore))).scalar_one()
    assert n == 1


async def test_a_stored_score_is_explained_with_the_weights_it_was_computed_with(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    contact_id = await _known_contact(db, tenant)
    await client.post("/v1/scores/recompute", headers=tenant.headers)
    url = f"/v1/contacts/{contact_id}/score"
    before = (await client.get(url, headers=tenant.headers)).json()
    weights = {"communication": 1.0, "reciprocity": 0.0, "appreciation": 0.0}
    r = await client.patch("/v1/workspace", json={"score_weights": weights}, headers=tenant.headers)
    assert r.status_code == 200
    stale = (await client.get(url, headers=tenant.headers)).json()
    assert stale == before  # the stored score and the weights it was computed with
    assert stale["components"]["communication"]["weight"] == 0.4
    await client.post("/v1/scores/recompute", headers=tenant.headers)
    fresh = (await client.get(url, headers=tenant.headers)).json()
    assert fresh["components"]["communication"]["weight"] == 1.0
    assert fresh["score"] == fresh["components"]["communication"]["value"]
