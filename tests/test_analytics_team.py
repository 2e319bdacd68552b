"""Team performance through the API: time to first contact, late and overdue follow-ups,
conversion and manual touches on time, per member, counted by hand."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx

from app.db import Database
from tests import score_fixtures as f
from tests.conftest import Tenant
from tests.test_analytics_funnel import at, journey

PERIOD = "from=2026-01-01&to=2026-12-31"  # "now" is the clock's 23 November 2026
HOUR = timedelta(hours=1)


async def _owned(
    db: Database,
    ws: uuid.UUID,
    owner: uuid.UUID | None,
    received: datetime,
    path: list[tuple[str, float]],
) -> None:
    """A referral owned by ``owner`` whose follow-up is due 24 hours after receipt."""
    await journey(db, ws, received, path, owner_id=owner, follow_up_due_at=received + 24 * HOUR)


async def _team(db: Database, ws: uuid.UUID) -> dict[str, uuid.UUID]:
    async with db.transaction() as s:
        dana = await f.member(s, ws, "Dana")
        eli = await f.member(s, ws, "Eli")
        fay = await f.member(s, ws, "Fay")
        client = await f.contact(s, ws, "Client")
    # Dana: first contact after 6 h, then closed; after 30 h (late); never (overdue now);
    # lost after 2 h without a contact. And one from 2025, outside the period.
    await _owned(db, ws, dana, at(2, 1), [("contacted", 6), ("closed", 100)])
    await _owned(db, ws, dana, at(3, 1), [("contacted", 30), ("meeting", 10)])
    await _owned(db, ws, dana, at(4, 1), [])
    await _owned(db, ws, dana, at(5, 1), [("lost", 2)])
    await _owned(db, ws, dana, at(12, 1, 2025), [("contacted", 1)])
    # Eli: straight to a meeting after 12 h, then closed; contacted after 48 h (late), closed.
    await _owned(db, ws, eli, at(2, 10), [("meeting", 12), ("closed", 5)])
    await _owned(db, ws, eli, at(3, 10), [("contacted", 48), ("closed", 5)])
    # Nobody's: still waiting.
    await _owned(db, ws, None, at(3, 15), [])

    async with db.transaction() as s:

        async def task(due: datetime, status: str, done_after: float | None, **kw: Any) -> None:
            finished = due + done_after * HOUR if done_after is not None else None
            await f.touch(
                s, ws, client, channel="call", due_at=due, status=status,
                finished_at=finished, **{"assignee_id": dana, **kw},
            )  # fmt: skip

        await task(at(2, 1), "completed", 8)  # on time
        await task(at(2, 2), "completed", 48)  # done, late
        await task(at(2, 3), "due", None)  # owed, not done
        await task(at(2, 5), "completed", 24)  # on time: exactly the 24 h grace
        await task(at(2, 4), "skipped", None)  # never owed
        await task(at(2, 6), "completed", 1, mode="automated")  # not a task for anyone
        await task(at(12, 1), "scheduled", None)  # not due yet ("now" is 23 November)
        await task(at(3, 1), "failed", None, assignee_id=eli)  # owed, not done
    return {"dana": dana, "eli": eli, "fay": fay}


async def _report(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, Any]:
    r = await client.get(f"/v1/analytics/team?{PERIOD}", headers=tenant.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_team_performance_per_member_by_hand(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    ids = await _team(db, tenant.id)
    body = await _report(client, tenant)
    assert body["follow_up_hours"] == 24
    members = {m["name"]: m for m in body["members"]}
    assert list(members) == ["Dana", "Eli", "Fay", "unassigned"]

    dana = members["Dana"]
    assert dana["member_id"] == str(ids["dana"])
    # 4 referrals; contacted after 6 h and 30 h: mean and median 18 h; 30 > 24 is late;
    # the one never contacted is overdue now; 1 of 4 closed.
    assert {k: dana[k] for k in list(dana)[2:]} == {
        "referrals": 4,
        "contacted": 2,
        "average_hours_to_first_contact": 18.0,
        "median_hours_to_first_contact": 18.0,
        "contacted_late": 1,
        "overdue_now": 1,
        "converted": 1,
        "conversion_rate": "0.2500",
        # Manual touches due by now: 4 (skipped, automated and future ones are not owed);
        # 3 completed, 2 of them within 24 h of falling due.
        "touches_due": 4,
        "touches_completed": 3,
        "touches_on_time": 2,
        "on_time_rate": "0.5000",
        "agenda_dismissed": {},  # tests/test_agenda.py counts dismissals
    }

    eli = members["Eli"]
    # First contacts after 12 h (the meeting) and 48 h: mean 30, median 30; one late; 2/2.
    assert (eli["referrals"], eli["contacted"], eli["contacted_late"]) == (2, 2, 1)
    assert (eli["average_hours_to_first_contact"], eli["median_hours_to_first_contact"]) == (
        30.0,
        30.0,
    )
    assert (eli["overdue_now"], eli["converted"], eli["conversion_rate"]) == (0, 2, "1.0000")
    assert (eli["touches_due"], eli["touches_completed"], eli["on_time_rate"]) == (1, 0, "0.0000")

    nobody = members["unassigned"]
    assert (nobody["member_id"], nobody["referrals"], nobody["overdue_now"]) == (None, 1, 1)
    assert nobody["average_hours_to_first_contact"] is None


async def test_a_member_without_work_has_nulls_not_zero_rates(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await _team(db, tenant.id)
    fay = next(m for m in (await _report(client, tenant))["members"] if m["name"] == "Fay")
    assert (fay["referrals"], fay["touches_due"]) == (0, 0)
    assert fay["conversion_rate"] is None
    assert fay["on_time_rate"] is None
    assert fay["average_hours_to_first_contact"] is None
    assert fay["median_hours_to_first_contact"] is None


async def test_team_report_is_tenant_isolated_and_empty_without_members(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    await _team(db, tenant.id)
    body = await _report(client, other_tenant)
    assert body["members"] == []  # no members, and none of the other firm's work
