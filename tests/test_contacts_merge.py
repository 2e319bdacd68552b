"""Duplicates and merge: everything that points at the merged contact moves."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import text

from app.db import Database
from app.models.platform.base import metadata
from app.services.contacts.duplicates import STATEMENTS
from app.services.contacts.merging.fold import MERGE_REFERENCES
from app.services.platform import text_binds
from tests.conftest import T0, Tenant
from tests.contact_fixtures import default_sender, locs, new_contact

ONE_DAY = timedelta(days=1)
_HISTORY = (
    "(workspace_id, contact_id, computed_at, score, communication, reciprocity, appreciation)"
)


async def _post(
    client: httpx.AsyncClient, tenant: Tenant, url: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(url, json=body, headers=tenant.headers)
    assert response.status_code in (200, 201), response.text
    data: dict[str, Any] = response.json()
    return data


async def _data(client: httpx.AsyncClient, tenant: Tenant, url: str) -> list[dict[str, Any]]:
    response = await client.get(url, headers=tenant.headers)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def test_duplicates_by_email_phone_and_name(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    a = await new_contact(client, tenant, emails=[{"address": "maria@x.example"}])
    b = await new_contact(
        client, tenant, first_name="Mary", emails=[{"address": "MARIA@x.example"}]
    )
    c = await new_contact(client, tenant, first_name="Zed", phones=[{"number": "415-555-0123"}])
    d = await new_contact(client, tenant, first_name="Yan", phones=[{"number": "+14155550123"}])
    await new_contact(client, tenant, first_name="Solo", last_name="Person")
    groups = await _data(client, tenant, "/v1/contacts/duplicates")
    found = {(g["reason"], g["value"]): sorted(g["contact_ids"]) for g in groups}
    assert found == {
        ("email", "maria@x.example"): sorted([a["id"], b["id"]]),
        ("phone", "+14155550123"): sorted([c["id"], d["id"]]),
        ("similar_name", "lopez maria / lopez mary"): sorted([a["id"], b["id"]]),
    }
    e = await new_contact(client, tenant, first_name="maria", last_name="LOPEZ")
    groups = await _data(client, tenant, "/v1/contacts/duplicates")
    names = [g for g in groups if g["reason"] == "name"]
    assert names == [
        {"reason": "name", "value": "lopez maria", "contact_ids": sorted([a["id"], e["id"]])}
    ]


async def test_duplicates_page_with_a_cursor(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for n in range(3):
        for _ in range(2):
            await new_contact(client, tenant, first_name=f"Twin{n}")
    await new_contact(client, tenant, first_name="Solo", emails=[{"address": "a@x.example"}])
    await new_contact(client, tenant, first_name="Solo", emails=[{"address": "A@x.example"}])
    pages, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        r = await client.get("/v1/contacts/duplicates", params=params, headers=tenant.headers)
        assert r.status_code == 200, r.text
        pages.append([(g["reason"], g["value"]) for g in r.json()["data"]])
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert pages == [
        [("email", "a@x.example"), ("name", "lopez solo")],
        [("name", "lopez twin0"), ("name", "lopez twin1")],
        [("name", "lopez twin2"), ("similar_name", "lopez twin0 / lopez twin1 / lopez twin2")],
    ]


async def test_duplicates_find_names_that_sound_alike(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    jon = await new_contact(client, tenant, first_name="Jon", last_name="Smith")
    john = await new_contact(client, tenant, first_name="John", last_name="Smith")
    swapped = await new_contact(client, tenant, first_name="Smyth", last_name="John")
    await new_contact(client, tenant, first_name="Mary", last_name="Smith")
    await new_contact(client, tenant, first_name="Jon", last_name="Smithers")
    groups = await _data(client, tenant, "/v1/contacts/duplicates")
    assert groups == [
        {
            "reason": "similar_name",
            "value": "john smyth / smith john / smith jon",
            "contact_ids": sorted([jon["id"], john["id"], swapped["id"]]),
        }
    ]


async def test_name_duplicates_are_read_through_indexes(db: Database, tenant: Tenant) -> None:
    """A page groups over an index in key order and stops at the limit: no full scan.

    On a near-empty table the planner may prefer a scan and a sort, so both are priced
    out: what is checked is that an index-ordered plan exists, whatever the statistics.
    """
    async with db.transaction() as session:
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        await session.execute(text("SET LOCAL enable_sort = off"))
        for reason, index in (
            ("name", "ix_contacts_workspace_id_name_norm"),
            ("similar_name", "ix_contacts_workspace_id_name_key"),
        ):
            plan = await session.execute(
                text(f"EXPLAIN {STATEMENTS[reason].text}"),
                {"ws": tenant.id, "after": "", "limit": 51, **text_binds()},
            )
            lines = [r[0] for r in plan]
            assert lines[0].startswith("Limit"), lines
            assert any(f"Index Scan using {index}" in line for line in lines), lines
            assert not any("Sort" in line for line in lines), lines  # streamed in key order


async def test_merge_moves_history_fills_gaps_and_deletes_the_other(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    keep = await new_contact(
        client,
        tenant,
        emails=[{"address": "maria@x.example"}],
        tags=["vip"],
        external_ids={"crm": "1"},
        consent={"email": {"status": "granted", "at": "2026-01-01T00:00:00Z"}},
    )
    other = await new_contact(
        client,
        tenant,
        first_name="Mary",
        job_title="Chef",
        emails=[{"address": "mary@y.example"}],
        phones=[{"number": "415-555-0123"}],
        tags=["golf", "vip"],
        external_ids={"hubspot": "9"},
        consent={"email": {"status": "denied", "at": "2026-06-01T00:00:00Z"}},
        advocacy_stage="advocate",
    )
    friend = await new_contact(client, tenant, first_name="Friend")
    lender = await new_contact(
        client, tenant, first_name="Len", segment="allied_resource", allied_category="lender"
    )
    k, o = f"/v1/contacts/{keep['id']}", f"/v1/contacts/{other['id']}"
    call = {"channel": "call", "direction": "inbound", "occurred_at": "2026-11-01T10:00:00Z"}
    await _post(client, tenant, f"{o}/interactions", call)
    await _post(client, tenant, f"{o}/observances", {"kind": "birthday", "month": 3, "day": 4})
    await _post(client, tenant, f"{o}/service-records", {"date": "2026-01-01", "service": "Sale"})
    await _post(
        client,
        tenant,
        f"/v1/contacts/{friend['id']}/service-records",
        {"date": "2026-02-01", "service": "Loan", "partner_id": lender["id"]},
    )
    await _post(
        client, tenant, f"{o}/relationships", {"related_id": friend["id"], "type": "colleague"}
    )
    await _post(client, tenant, f"{o}/relationships", {"related_id": keep["id"], "type": "spouse"})
    await _post(
        client, tenant, f"{k}/relationships", {"related_id": friend["id"], "type": "colleague"}
    )

    merged = await client.post(f"{k}/merge", json={"other_id": other["id"]}, headers=tenant.headers)
    assert merged.status_code == 200, merged.text
    body = merged.json()
    assert (await client.get(o, headers=tenant.headers)).status_code == 404
    assert body["first_name"] == "Maria"  # the kept contact's own values win
    assert body["job_title"] == "Chef"  # gaps are filled
    assert [e["address"] for e in body["emails"]] == ["maria@x.example", "mary@y.example"]
    assert body["primary_email"] == "maria@x.example"
    assert body["primary_phone"] == "+14155550123"
    assert body["tags"] == ["vip", "golf"]
    assert body["external_ids"] == {"crm": "1", "hubspot": "9"}
    assert body["consent"]["email"]["status"] == "denied"  # the latest statement wins
    assert body["advocacy_stage"] == "advocate"
    assert body["last_engaged_at"] == "2026-11-01T10:00:00Z"
    assert len(await _data(client, tenant, f"{k}/interactions")) == 1
    assert len(await _data(client, tenant, f"{k}/observances")) == 1
    assert len(await _data(client, tenant, f"{k}/service-records")) == 1
    relationships = await _data(client, tenant, f"{k}/relationships")
    assert [(r["related_id"], r["type"]) for r in relationships] == [(friend["id"], "colleague")]
    upsert = await client.put(
        "/v1/contacts/by-external-id/hubspot/9", json={}, headers=tenant.headers
    )
    assert upsert.json()["id"] == keep["id"]
    events = (await client.get("/v1/events", headers=tenant.headers)).json()["data"]
    (merged_event,) = [e for e in events if e["type"] == "contact.merged"]
    assert merged_event["data"] == {"id": keep["id"], "merged_id": other["id"]}


async def test_merge_moves_partner_references(client: httpx.AsyncClient, tenant: Tenant) -> None:
    assert ("service_records", "partner_id") in MERGE_REFERENCES
    buyer = await new_contact(client, tenant, first_name="Buyer")
    lenders = [
        await new_contact(
            client, tenant, first_name=f"L{i}", segment="allied_resource", allied_category="lender"
        )
        for i in range(2)
    ]
    record = await _post(
        client,
        tenant,
        f"/v1/contacts/{buyer['id']}/service-records",
        {"date": "2026-02-01", "service": "Loan", "partner_id": lenders[1]["id"]},
    )
    await client.post(
        f"/v1/contacts/{lenders[0]['id']}/merge",
        json={"other_id": lenders[1]["id"]},
        headers=tenant.headers,
    )
    (moved,) = await _data(client, tenant, f"/v1/contacts/{buyer['id']}/service-records")
    assert moved["id"] == record["id"]
    assert moved["partner_id"] == lenders[0]["id"]


async def test_merge_refuses_itself_and_foreign_contacts(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = await new_contact(client, tenant)
    theirs = await new_contact(client, other_tenant)
    url = f"/v1/contacts/{mine['id']}/merge"
    itself = await client.post(url, json={"other_id": mine["id"]}, headers=tenant.headers)
    assert ["body", "other_id"] in locs(itself)
    foreign = await client.post(url, json={"other_id": theirs["id"]}, headers=tenant.headers)
    assert ["body", "other_id"] in locs(foreign)
    reverse = await client.post(
        f"/v1/contacts/{theirs['id']}/merge", json={"other_id": mine["id"]}, headers=tenant.headers
    )
    assert reverse.status_code == 404
    stolen = await client.post(
        url.replace(mine["id"], theirs["id"]),
        json={"other_id": mine["id"]},
        headers=other_tenant.headers,
    )
    assert ["body", "other_id"] in locs(stolen)
    assert (
        await client.get(f"/v1/contacts/{mine['id']}", headers=tenant.headers)
    ).status_code == 200
    dups = await client.get("/v1/contacts/duplicates", headers=other_tenant.headers)
    assert dups.json()["data"] == []


GRANTED = {c: {"status": "granted"} for c in ("email", "sms", "call", "mail")}


async def _enrolments(client: httpx.AsyncClient, tenant: Tenant, contact_id: str) -> list[Any]:
    params = {"contact_id": contact_id, "limit": 200}
    r = await client.get("/v1/enrollments", params=params, headers=tenant.headers)
    return list(r.json()["data"])


async def _touches(client: httpx.AsyncClient, tenant: Tenant, contact_id: str) -> list[Any]:
    params = {"contact_id": contact_id, "limit": 200}
    r = await client.get("/v1/touches", params=params, headers=tenant.headers)
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


async def _plans(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, str]:
    r = await client.get("/v1/touch-plans", headers=tenant.headers)
    return {p["id"]: p["builtin_key"] for p in r.json()["data"]}


def test_every_reference_to_a_contact_is_registered_for_merge() -> None:
    """A new table pointing at contacts must be moved by merge, not cascade-deleted."""
    hooked = {
        ("contact_relationships", "contact_id"),
        ("contact_relationships", "related_id"),
        ("engagement_participants", "contact_id"),
        ("experiment_assignments", "contact_id"),
        ("enrollments", "contact_id"),
        ("touches", "contact_id"),
        ("contact_scores", "contact_id"),
        ("contact_score_history", "contact_id"),
        ("contact_shares", "contact_id"),
    }
    references = {
        (t.name, fk.column_keys[-1])
        for t in metadata.tables.values()
        for fk in t.foreign_key_constraints
        if fk.referred_table.name == "contacts"
    }
    assert references - hooked - set(MERGE_REFERENCES) == set()
    assert hooked - references == set()


async def test_merge_keeps_plans_touches_scores_and_their_history(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await default_sender(client, tenant)  # the built-in plans name the member
    keep = await new_contact(client, tenant, tags=["8x8"], consent=GRANTED)
    other = await new_contact(
        client,
        tenant,
        first_name="Mary",
        tags=["8x8"],
        segment="advocate",
        consent=GRANTED,
        time_zone="Asia/Tokyo",
    )
    plans = await _plans(client, tenant)
    before = {t["id"]: t for t in await _touches(client, tenant, other["id"])}
    sent_id = min(before.values(), key=lambda t: t["due_at"])["id"]
    ws = {"ws": tenant.id, "keep": keep["id"], "other": other["id"], "sent": sent_id}
    async with db.transaction() as session:
        await session.execute(
            text("UPDATE touches SET status = 'sent' WHERE workspace_id = :ws AND id = :sent"), ws
        )
        for contact, at, score in (("other", T0, 20), ("keep", T0 - ONE_DAY, 10)):
            await session.execute(
                text(
                    f"INSERT INTO contact_score_history {_HISTORY} "
                    f"VALUES (:ws, :{contact}, :at, :score, 1, 1, 1)"
                ),
                {**ws, "at": at, "score": score},
            )
        await session.execute(
            text(
                f"INSERT INTO contact_score_history {_HISTORY} "
                "VALUES (:ws, :other, :at, 99, 1, 1, 1)"
            ),
            {**ws, "at": T0 - ONE_DAY},
        )
        await session.execute(
            text(
                "INSERT INTO contact_scores (workspace_id, contact_id, score, communication, "
                "reciprocity, appreciation, computed_at, change) "
                "VALUES (:ws, :other, 20, 1, 1, 1, :at, 0)"
            ),
            {**ws, "at": T0},
        )
        await session.execute(
            text(
                "INSERT INTO contact_stage_history (workspace_id, id, contact_id, to_stage, "
                "source, at) VALUES (:ws, gen_random_uuid(), :other, 'advocate', 'manual', :at)"
            ),
            {**ws, "at": T0},
        )
    call = {
        "channel": "email",
        "direction": "outbound",
        "occurred_at": T0.isoformat(),
        "touch_id": sent_id,
    }
    logged = await _post(client, tenant, f"/v1/contacts/{other['id']}/interactions", call)

    merged = await client.post(
        f"/v1/contacts/{keep['id']}/merge", json={"other_id": other["id"]}, headers=tenant.headers
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["time_zone"] == "Asia/Tokyo"

    got = sorted(
        (plans[e["plan_id"]], e["status"], e["reason"])
        for e in await _enrolments(client, tenant, keep["id"])
    )
    assert got == [
        ("8x8", "active", None),
        ("8x8", "cancelled", "merged"),
        ("advocate_appreciation", "active", None),
    ]
    touches = {t["id"]: t for t in await _touches(client, tenant, keep["id"])}
    assert touches[sent_id]["status"] == "sent"
    (interaction,) = await _data(client, tenant, f"/v1/contacts/{keep['id']}/interactions")
    assert interaction["id"] == logged["id"]
    touch = await client.get(f"/v1/touches/{sent_id}", headers=tenant.headers)
    assert touch.json()["contact_id"] == keep["id"]  # the log still points at a real touch
    cancelled_8x8 = [
        t for t in before.values() if t["id"] != sent_id and plans.get(t["plan_id"]) == "8x8"
    ]
    assert len(cancelled_8x8) == 7
    assert {(touches[t["id"]]["status"], touches[t["id"]]["reason"]) for t in cancelled_8x8} == {
        ("cancelled", "merged")
    }
    scheduled = [t for t in touches.values() if t["status"] == "scheduled"]
    assert {plans[t["plan_id"]] for t in scheduled} == {"8x8", "advocate_appreciation"}
    advocate = [t for t in before.values() if plans.get(t["plan_id"]) != "8x8"]
    assert len([t for t in scheduled if plans[t["plan_id"]] != "8x8"]) == len(advocate)
    tokyo = ZoneInfo("Asia/Tokyo")
    for t in scheduled:  # planned again at the send window's opening in the merged zone
        due = datetime.fromisoformat(t["due_at"])
        if plans[t["plan_id"]] == "8x8" and due > T0:  # already due: keeps its time
            assert due.astimezone(tokyo).time() == time(9), t

    async with db.transaction() as session:
        history = await session.execute(
            text(
                "SELECT computed_at, score FROM contact_score_history "
                "WHERE workspace_id = :ws AND contact_id = :keep ORDER BY computed_at"
            ),
            ws,
        )
        assert [(r.computed_at, r.score) for r in history] == [(T0 - ONE_DAY, 10), (T0, 20)]
        score = await session.execute(
            text(
                "SELECT score FROM contact_scores WHERE workspace_id = :ws AND contact_id = :keep"
            ),
            ws,
        )
        assert score.scalar_one() == 20
        stages = await session.execute(
            text(
                "SELECT count(*) FROM contact_stage_history "
                "WHERE workspace_id = :ws AND contact_id = :keep"
            ),
            ws,
        )
        assert stages.scalar_one() >= 1


async def test_merge_carries_do_not_contact_over_to_planned_touches(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await default_sender(client, tenant)  # the built-in plans name the member
    keep = await new_contact(client, tenant, tags=["8x8"], consent=GRANTED)
    other = await new_contact(client, tenant, first_name="Mary", do_not_contact=True)
    assert {t["status"] for t in await _touches(client, tenant, keep["id"])} == {"scheduled"}
    merged = await client.post(
        f"/v1/contacts/{keep['id']}/merge", json={"other_id": other["id"]}, headers=tenant.headers
    )
    assert merged.json()["do_not_contact"] is True
    touches = await _touches(client, tenant, keep["id"])
    assert len(touches) == 8
    assert {(t["status"], t["reason"]) for t in touches} == {("skipped", "do_not_contact")}
    r = await client.get(
        "/v1/enrollments", params={"contact_id": keep["id"]}, headers=tenant.headers
    )
    assert [(e["status"], e["reason"]) for e in r.json()["data"]] == [("paused", "do_not_contact")]


async def test_merge_enrols_the_kept_contact_in_the_audience_it_joined(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    keep = await new_contact(client, tenant, consent=GRANTED)
    other = await new_contact(client, tenant, first_name="Mary", tags=["golf"], consent=GRANTED)
    body = {
        "name": "Golfers",
        "audience": {"tags": ["golf"]},
        "referral_reminder": "Know a golfer?",
        "steps": [
            {
                "channel": "email",
                "content_kind": "newsletter",
                "mode": "automated",
                "subject_template": "Tee time",
                "body_template": "Hello",
                "timing": {"kind": "after_enrollment", "days": 3},
            }
        ],
    }
    plan = await _post(client, tenant, "/v1/touch-plans", body)
    assert await _enrolments(client, tenant, other["id"]) == []  # a new plan enrols no one
    await _post(client, tenant, f"/v1/contacts/{keep['id']}/merge", {"other_id": other["id"]})
    got = [(e["plan_id"], e["source"]) for e in await _enrolments(client, tenant, keep["id"])]
    assert got == [(plan["id"], "auto")]
