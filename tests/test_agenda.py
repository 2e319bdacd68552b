"""The agenda: a hand-built day ranked by the documented formula (docs/SCORES.md), record
visibility, tenancy, snooze and dismiss."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
from icalendar import Calendar
from sqlalchemy import text

from app.clock import FrozenClock
from app.db import Database
from app.services.platform import record_events
from tests import agenda_fixtures as af
from tests import score_fixtures as sf
from tests.conftest import T0, Tenant

DAY = timedelta(days=1)


async def _agenda(client: httpx.AsyncClient, tenant: Tenant, member: object, **q: str) -> dict:
    got = await client.get(f"/v1/members/{member}/agenda", params=q, headers=tenant.headers)
    assert got.status_code == 200, got.text
    return got.json()


async def test_a_hand_built_day_is_ranked_by_expected_value(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    async with db.transaction() as s:
        w = await af.scenario(s, tenant.id)
    body = await _agenda(client, tenant, w.ada)
    assert (body["date"], body["currency"]) == ("2026-11-23", "USD")
    assert (body["touch_lift"], body["touch_lift_source"]) == (0.25, "setting")
    got = [(i["kind"], i["contact"]["id"], Decimal(i["value"])) for i in body["items"]]
    # Workspace, last year: 4 received, 3 closed for 13,500: 3,375 per referral, a 4,500
    # average deal, a 75 % close rate. Segments: core_advocate 2 referrals / 1 contact;
    # client 2 referrals (Dora's) / 3 contacts (Carl, Bea, Dora).
    # Cora: E = (2 + 2) / 2 = 2, AV = 12,000 / 2 = 6,000: V = 12,000; x 25 % = 3,000.
    # Follow-up: 4,000 expected x 75 % x 25 % = 750.
    # Dora (the reward): E = (2 + 2/3) / 2 = 1.333333, AV = 1,500 / 2 = 750:
    #   V = 999.99975; x 25 % = 250.00.
    # Carl and Bea: E = (0 + 2/3) / 2 = 0.333333, AV = 3,375 (workspace): V = 1,124.998875;
    #   x 25 % x 25 % (a routine touch) = 70.31; tied, the call (due an hour ago) first.
    assert got == [
        ("reconnect", str(w.cora), Decimal("3000.00")),
        ("follow_up", str(w.finn), Decimal("750.00")),
        ("approve", str(w.dora), Decimal("250.00")),
        ("task", str(w.carl), Decimal("70.31")),
        ("observance", str(w.bea), Decimal("70.31")),
    ]
    items = {i["kind"]: i for i in body["items"]}
    assert items["follow_up"]["record_id"] == str(w.follow_up)
    assert items["approve"]["record_id"] == str(w.reward)
    assert items["task"]["record_id"] == str(w.call)
    assert items["reconnect"]["reason"].startswith(
        "Core advocate Cora: 85 days since the last engagement, lapses in 5 d"
    )
    assert (
        "2.00 referrals/yr x USD 6,000.00 each (their referrals) x 25% touch lift"
        in (items["reconnect"]["reason"])
    )
    assert "in 3 d (2026-11-26), no touch planned" in items["observance"]["reason"]
    assert "not contacted 72 h after it came in" in items["follow_up"]["reason"]
    assert "USD 4,000.00 (expected value) x 75% close rate" in items["follow_up"]["reason"]
    assert items["approve"]["reason"].startswith("Approve USD 500.00 cash reward for Dora")
    assert "overdue" not in items["task"]["reason"]  # due an hour ago, today
    names = {a["name"] for a in items["task"]["actions"]}
    assert names == {"complete_task", "record_contact", "snooze", "dismiss"}
    assert {a["name"] for a in items["approve"]["actions"]} == {
        "approve_reward",
        "snooze",
        "dismiss",
    }


async def test_an_agent_never_sees_another_agents_items_under_own(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    async with db.transaction() as s:
        avery = await af.member(s, tenant.id, "Avery")
        blake = await af.member(s, tenant.id, "Blake")
        mine = await sf.contact(s, tenant.id, "Mia", owner_id=avery)
        theirs = await sf.contact(s, tenant.id, "Theo", owner_id=blake)
        own_call = await af.task(s, tenant.id, mine, avery, T0)
        # A call assigned to Avery on Blake's contact: invisible to Avery under `own`.
        await af.task(s, tenant.id, theirs, avery, T0)
        blakes_call = await af.task(s, tenant.id, theirs, blake, T0)
    avery_h = await af.session_headers(client, tenant, avery)
    changed = await client.patch(
        "/v1/workspace", json={"visibility": "own"}, headers=tenant.headers
    )
    assert changed.status_code == 200, changed.text
    mine_now = await client.get("/v1/me/agenda", headers=avery_h)
    assert mine_now.status_code == 200, mine_now.text
    assert [i["record_id"] for i in mine_now.json()["items"]] == [str(own_call)]
    refused = await client.get(f"/v1/members/{blake}/agenda", headers=avery_h)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    # The admin sees Blake's agenda whole; under `team`, so does Avery.
    blakes = await _agenda(client, tenant, blake)
    assert [i["record_id"] for i in blakes["items"]] == [str(blakes_call)]
    await client.patch("/v1/workspace", json={"visibility": "team"}, headers=tenant.headers)
    team = await client.get(f"/v1/members/{blake}/agenda", headers=avery_h)
    assert team.status_code == 200, team.text
    assert [i["record_id"] for i in team.json()["items"]] == [str(blakes_call)]


async def test_another_workspace_finds_no_member(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    async with db.transaction() as s:
        w = await af.scenario(s, tenant.id)
    got = await client.get(f"/v1/members/{w.ada}/agenda", headers=other_tenant.headers)
    assert got.status_code == 404
    body = {"key": f"task:{w.call}", "reason": "not mine"}
    dismissed = await client.post(
        f"/v1/members/{w.ada}/agenda/dismissals", json=body, headers=other_tenant.headers
    )
    assert dismissed.status_code == 404
    assert len((await _agenda(client, tenant, w.ada))["items"]) == 5


async def test_snooze_and_dismiss_leave_the_agenda_and_are_recorded(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, clock: FrozenClock
) -> None:
    async with db.transaction() as s:
        w = await af.scenario(s, tenant.id)
    base = f"/v1/members/{w.ada}/agenda"
    before = await _agenda(client, tenant, w.ada)
    keys = {i["kind"]: i["key"] for i in before["items"]}
    snoozed = await client.post(
        f"{base}/snoozes", json={"key": keys["task"], "until": "2026-11-25"}, headers=tenant.headers
    )
    assert snoozed.status_code == 201, snoozed.text
    assert (snoozed.json()["decision"], snoozed.json()["kind"]) == ("snoozed", "task")
    dismissed = await client.post(
        f"{base}/dismissals",
        json={"key": keys["reconnect"], "reason": "Cora moved abroad"},
        headers=tenant.headers,
    )
    assert dismissed.status_code == 201, dismissed.text
    after = await _agenda(client, tenant, w.ada)
    assert {i["kind"] for i in after["items"]} == {"follow_up", "approve", "observance"}
    clock.advance(2 * DAY)  # the snooze ends on the 25th; the dismissal stays
    later = await _agenda(client, tenant, w.ada)
    assert "task" in {i["kind"] for i in later["items"]}
    assert "reconnect" not in {i["kind"] for i in later["items"]}
    async with db.transaction() as s:
        rows = (
            await s.execute(
                text(
                    "SELECT kind, decision, until, reason, actor FROM agenda_decisions"
                    " WHERE workspace_id = :ws ORDER BY at, kind"
                ),
                {"ws": tenant.id},
            )
        ).all()
    assert [(r.kind, r.decision, r.reason) for r in rows] == [
        ("reconnect", "dismissed", "Cora moved abroad"),
        ("task", "snoozed", None),
    ]
    assert all(r.actor["type"] == "api_key" for r in rows)
    team = await client.get("/v1/analytics/team", headers=tenant.headers)
    assert team.status_code == 200, team.text
    dismissed = {m["name"]: m["agenda_dismissed"] for m in team.json()["members"]}
    assert dismissed["Ada"] == {"reconnect": 1}
    assert dismissed["Blake"] == {}


async def test_bad_decisions_name_the_field_and_write_nothing(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    async with db.transaction() as s:
        w = await af.scenario(s, tenant.id)
    base = f"/v1/members/{w.ada}/agenda"
    cases = [
        ("snoozes", {"key": "task:nope", "until": "2026-11-30"}, ["body", "key"]),
        ("snoozes", {"key": f"task:{w.call}", "until": "2026-11-23"}, ["body", "until"]),
        ("snoozes", {"key": f"task:{w.call}", "until": "soon"}, ["body", "until"]),
        ("dismissals", {"key": f"task:{w.call}", "reason": ""}, ["body", "reason"]),
        ("dismissals", {"key": f"task:{w.call}"}, ["body", "reason"]),
    ]
    for path, body, loc in cases:
        got = await client.post(f"{base}/{path}", json=body, headers=tenant.headers)
        assert got.status_code == 422, (body, got.text)
        assert got.headers["content-type"].startswith("application/problem+json")
        assert [e["loc"] for e in got.json()["errors"]] == [loc], got.text
    async with db.transaction() as s:
        n = (await s.execute(text("SELECT count(*) FROM agenda_decisions"))).scalar_one()
    assert n == 0


async def test_the_calendar_feed_gains_the_agendas_dated_items(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    async with db.transaction() as s:
        w = await af.scenario(s, tenant.id)
    minted = await client.post(f"/v1/members/{w.ada}/calendar-token", headers=tenant.headers)
    assert minted.status_code == 201, minted.text
    feed = await client.get("/v1/calendar.ics", params={"token": minted.json()["token"]})
    assert feed.status_code == 200, feed.text
    events = {
        str(e["uid"]): e for e in Calendar.from_ical(feed.content).walk() if e.name == "VEVENT"
    }
    agenda = [e for uid, e in events.items() if uid.startswith("agenda-")]
    by_kind = {str(e["categories"].cats[1]): e for e in agenda}
    # Tasks and birthdays are already in the feed as touches and observances.
    assert sorted(by_kind) == ["approve", "follow_up", "reconnect"]
    reconnect = by_kind["reconnect"]
    assert reconnect.decoded("dtstart") == date(2026, 11, 28)  # the day Cora lapses
    assert str(reconnect["summary"]) == "reconnect: Cora (USD 3,000.00)"
    assert str(reconnect["description"]).startswith("Core advocate Cora")
    assert by_kind["follow_up"].decoded("dtstart") == date(2026, 11, 23)  # overdue: today
    assert f"touch-{w.call}@rapport" in events


async def test_a_day_out_of_range_names_the_query_parameter(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    async with db.transaction() as s:
        ada = await af.member(s, tenant.id, "Ada")
    for value in ("0001-01-01", "9999-12-31", "2026-13-01", "tomorrow"):
        got = await client.get(
            f"/v1/members/{ada}/agenda", params={"date": value}, headers=tenant.headers
        )
        assert got.status_code == 422, (value, got.text)
        assert [e["loc"] for e in got.json()["errors"]] == [["query", "date"]]
    nobody = await client.get("/v1/me/agenda", headers=tenant.headers)  # a key, no member
    assert nobody.status_code == 404


async def _lapses(
    s: Any, ws: Any, n: int, touched: int, back_touched: int, back_alone: int
) -> None:
    """``n`` lapses 120 days ago: ``touched`` of them reached out to within a week, of which
    ``back_touched`` came back; of the others, ``back_alone`` came back."""
    at = T0 - 120 * DAY
    for k in range(n):
        c = await sf.contact(s, ws, f"L{k:02}")
        await record_events(s, ws, [("contact.lapsed", {"id": str(c)})], at=at)
        reached = k < touched
        if reached:
            await sf.interaction(s, ws, c, at + 3 * DAY, direction="outbound")
        if (reached and k < back_touched) or (not reached and k - touched < back_alone):
            await sf.interaction(s, ws, c, at + 30 * DAY, direction="inbound")


async def test_the_touch_lift_is_measured_from_30_lapses(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    async with db.transaction() as s:
        ada = await af.member(s, tenant.id, "Ada")
        # 40 lapses: 20 reached out to, 12 of them back (60 %); 20 not, 4 back (20 %).
        await _lapses(s, tenant.id, 40, touched=20, back_touched=12, back_alone=4)
        bo = await af.member(s, other_tenant.id, "Bo")
        await _lapses(s, other_tenant.id, 29, touched=15, back_touched=15, back_alone=0)
    measured = await _agenda(client, tenant, ada)
    assert (measured["touch_lift"], measured["touch_lift_source"]) == (0.4, "measured")
    few = await _agenda(client, other_tenant, bo)  # 29 lapses: too few, the setting stands
    assert (few["touch_lift"], few["touch_lift_source"]) == (0.25, "setting")


async def test_a_referrer_to_thank_shows_once_until_thanked(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    async with db.transaction() as s:
        ada = await af.member(s, tenant.id, "Ada")
        maria = await sf.contact(s, tenant.id, "Maria", owner_id=ada)
        jordan = await sf.contact(s, tenant.id, "Jordan", segment="prospect", owner_id=ada)
        referral = await sf.referral(
            s, tenant.id, source=maria, referred_contact_id=jordan, received_at=T0 - DAY
        )
        # The thank-you task the referral flow plans (touches' thank_you_key).
        thanks = await af.task(s, tenant.id, maria, ada, T0, channel="card")
        await s.execute(
            text("UPDATE touches SET occurrence_key = :k WHERE id = :id"),
            {"k": f"referral:{referral}", "id": thanks},
        )
    body = await _agenda(client, tenant, ada)
    assert [(i["kind"], i["record_id"]) for i in body["items"]] == [("thank", str(referral))]
    (item,) = body["items"]
    assert item["reason"].startswith("Thank Maria for referring Jordan (1 d ago, not thanked")
    complete = next(a for a in item["actions"] if a["name"] == "complete_task")
    assert complete["path"] == f"/v1/touches/{thanks}/outcome"
    done = await client.post(
        complete["path"], json={"outcome": "completed"}, headers=tenant.headers
    )
    assert done.status_code == 200, done.text
    assert (await _agenda(client, tenant, ada))["items"] == []


async def test_the_day_is_the_members_own_zone_else_the_workspaces(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    # The workspace is in UTC. At T0 (12:00 UTC on the 23rd) it is 01:00 on the 24th in
    # Auckland (NZDT, UTC+13): a call due at 05:00 UTC on the 24th is due by the end of
    # Kiri's day, not by the end of Uma's.
    async with db.transaction() as s:
        kiri = await af.member(s, tenant.id, "Kiri")
        uma = await af.member(s, tenant.id, "Uma")
        calls = {}
        for who in (kiri, uma):
            c = await sf.contact(s, tenant.id, f"Client of {who}", owner_id=who)
            on_23rd = await af.task(s, tenant.id, c, who, T0 - timedelta(hours=2))
            on_24th = await af.task(s, tenant.id, c, who, T0 + timedelta(hours=17))
            calls[who] = (str(on_23rd), str(on_24th))
    zoned = await client.patch(
        f"/v1/members/{kiri}", json={"time_zone": "Pacific/Auckland"}, headers=tenant.headers
    )
    assert zoned.status_code == 200, zoned.text

    def seen(body: dict) -> tuple[str, str, set[str]]:
        return body["date"], body["time_zone"], {i["record_id"] for i in body["items"]}

    on_23rd, on_24th = calls[kiri]
    assert seen(await _agenda(client, tenant, kiri)) == (
        "2026-11-24",
        "Pacific/Auckland",
        {on_23rd, on_24th},
    )
    # The 23rd in Auckland ended at 11:00 UTC: the 10:00 UTC call is on it, the other not.
    assert seen(await _agenda(client, tenant, kiri, date="2026-11-23")) == (
        "2026-11-23",
        "Pacific/Auckland",
        {on_23rd},
    )
    kiri_h = await af.session_headers(client, tenant, kiri)
    me = await client.get("/v1/me", headers=kiri_h)
    assert me.json()["member"]["time_zone"] == "Pacific/Auckland"
    mine = await client.get("/v1/me/agenda", headers=kiri_h)
    assert mine.status_code == 200, mine.text
    assert seen(mine.json())[:2] == ("2026-11-24", "Pacific/Auckland")
    uma_23rd, _ = calls[uma]
    assert seen(await _agenda(client, tenant, uma)) == ("2026-11-23", "UTC", {uma_23rd})
    # Snoozing is to a day after the member's today: the 24th is already Kiri's today.
    snooze = {"key": f"task:{on_24th}", "until": "2026-11-24"}
    refused = await client.post(
        f"/v1/members/{kiri}/agenda/snoozes", json=snooze, headers=tenant.headers
    )
    assert refused.status_code == 422, refused.text
    assert [e["loc"] for e in refused.json()["errors"]] == [["body", "until"]]
    snooze["until"] = "2026-11-25"  # and the item is on Kiri's today, so it may be snoozed
    snoozed = await client.post(
        f"/v1/members/{kiri}/agenda/snoozes", json=snooze, headers=tenant.headers
    )
    assert snoozed.status_code == 201, snoozed.text
    # Back to the workspace's zone: Kiri's day is the 23rd again.
    cleared = await client.patch(
        f"/v1/members/{kiri}", json={"time_zone": None}, headers=tenant.headers
    )
    assert cleared.status_code == 200, cleared.text
    assert seen(await _agenda(client, tenant, kiri)) == ("2026-11-23", "UTC", {on_23rd})
