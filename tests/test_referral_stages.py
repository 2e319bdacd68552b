"""The referral state machine: every legal and illegal move, the history, the notices."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from app.clock import FrozenClock
from app.db import Database
from app.services.referrals.stages import allowed_targets, stages_reached
from tests.conftest import T0, Tenant
from tests.referral_fixtures import add_contact, add_member, events_of, move, refer

STAGES = ["received", "contacted", "meeting", "agreement", "closed", "lost"]
PIPELINE = STAGES[:-1]
# Written out by hand so the test does not restate the code: forward with skips, or lost.
LEGAL = {
    "received": {"contacted", "meeting", "agreement", "closed", "lost"},
    "contacted": {"meeting", "agreement", "closed", "lost"},
    "meeting": {"agreement", "closed", "lost"},
    "agreement": {"closed", "lost"},
    "closed": set(),
    "lost": set(),
}
PAIRS = [(a, b) for a in STAGES for b in STAGES]


async def _referral_in(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, stage: str
) -> dict[str, Any]:
    body = await refer(
        client, tenant, await add_contact(db, tenant, "Src"), await add_contact(db, tenant, "Ref")
    )
    if stage == "lost":
        return await move(client, tenant, body["id"], "lost")
    for step in PIPELINE[1 : PIPELINE.index(stage) + 1]:
        body = await move(client, tenant, body["id"], step)
    return body


@pytest.mark.parametrize(("from_stage", "to_stage"), PAIRS)
async def test_every_move(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, from_stage: str, to_stage: str
) -> None:
    referral = await _referral_in(client, db, tenant, from_stage)
    assert referral["stage"] == from_stage
    if to_stage in LEGAL[from_stage]:
        moved = await move(client, tenant, referral["id"], to_stage)
        assert moved["stage"] == to_stage
        assert moved["version"] == referral["version"] + 1
    else:
        problem = await move(client, tenant, referral["id"], to_stage, expect=409)
        assert problem["status"] == 409
        assert problem["stage"] == from_stage
        assert set(problem["allowed"]) == LEGAL[from_stage]
        got = await client.get(f"/v1/referrals/{referral['id']}", headers=tenant.headers)
        assert got.json()["stage"] == from_stage


def test_allowed_targets_match_the_table() -> None:
    assert {s: set(allowed_targets(s)) for s in STAGES} == LEGAL


def test_stages_reached_includes_skipped_ones() -> None:
    assert stages_reached("contacted", "agreement") == ["meeting", "agreement"]
    assert stages_reached("received", "contacted") == ["contacted"]
    assert stages_reached("meeting", "lost") == []


async def test_lost_needs_a_reason(client: httpx.AsyncClient, db: Database, tenant: Tenant) -> None:
    referral = await _referral_in(client, db, tenant, "contacted")
    r = await client.post(
        f"/v1/referrals/{referral['id']}/transitions",
        json={"to_stage": "lost"},
        headers=tenant.headers,
    )
    assert r.status_code == 422
    lost = await move(client, tenant, referral["id"], "lost", lost_reason="chose a relative")
    assert lost["lost_reason"] == "chose a relative"


async def test_history_lists_every_stage_with_time_note_and_member(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, clock: FrozenClock
) -> None:
    member = await add_member(db, tenant)
    referral = await refer(
        client, tenant, await add_contact(db, tenant), await add_contact(db, tenant, "R")
    )
    clock.advance(timedelta(hours=3))
    await move(client, tenant, referral["id"], "contacted", note="left a voicemail")
    clock.advance(timedelta(days=2))
    met_at = T0 + timedelta(days=1)
    await move(
        client, tenant, referral["id"], "meeting", at=met_at.isoformat(), member_id=str(member)
    )
    r = await client.get(f"/v1/referrals/{referral['id']}/history", headers=tenant.headers)
    assert r.status_code == 200
    history = r.json()["data"]
    assert [(h["from_stage"], h["to_stage"]) for h in history] == [
        (None, "received"),
        ("received", "contacted"),
        ("contacted", "meeting"),
    ]
    assert history[1]["note"] == "left a voicemail"
    assert history[1]["at"] == (T0 + timedelta(hours=3)).isoformat().replace("+00:00", "Z")
    assert history[2]["at"] == met_at.isoformat().replace("+00:00", "Z")
    assert history[2]["member_id"] == str(member)


async def test_a_move_cannot_be_dated_in_the_future_or_before_the_last_one(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    referral = await refer(
        client, tenant, await add_contact(db, tenant), await add_contact(db, tenant, "R")
    )
    future = (T0 + timedelta(minutes=5, seconds=1)).isoformat()  # beyond the clock skew
    await move(client, tenant, referral["id"], "contacted", at=future, expect=422)
    past = (T0 - timedelta(days=1)).isoformat()
    await move(client, tenant, referral["id"], "contacted", at=past, expect=422)


async def test_stale_if_match_is_refused(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    referral = await refer(
        client, tenant, await add_contact(db, tenant), await add_contact(db, tenant, "R")
    )
    r = await client.post(
        f"/v1/referrals/{referral['id']}/transitions",
        json={"to_stage": "contacted"},
        headers={**tenant.headers, "If-Match": '"7"'},
    )
    assert r.status_code == 412


async def test_every_stage_change_tells_the_referrer(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    source = await add_contact(db, tenant, "Maria", email="maria@example.com")
    referral = await refer(client, tenant, source, await add_contact(db, tenant, "Jordan"))
    for stage in ("contacted", "meeting", "agreement", "closed"):
        await move(client, tenant, referral["id"], stage)
    events = await events_of(client, tenant, "referral.stage_changed")
    assert [(e["data"]["from_stage"], e["data"]["to_stage"]) for e in events] == [
        ("received", "contacted"),
        ("contacted", "meeting"),
        ("meeting", "agreement"),
        ("agreement", "closed"),
    ]
    for event in events:
        data = event["data"]
        assert data["referrer"] == {
            "id": str(source),
            "first_name": "Maria",
            "last_name": "Lee",
            "company_name": None,
            "primary_email": "maria@example.com",
            "primary_phone": "+14155550100",
        }
        assert data["suggested_message"].startswith("Hi Maria,")
        assert "Jordan" in data["suggested_message"]
    assert "closed" in events[-1]["data"]["suggested_message"]
