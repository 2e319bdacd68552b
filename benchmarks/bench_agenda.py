"""Agenda benchmark: a member's agenda with 100,000 contacts in the workspace (p99 < 100 ms).

Builds a scratch database (the embedded PostgreSQL unless ``DATABASE_URL`` is set) with
the scores benchmark's history (``bench_scores.LOAD``: 100,000 contacts, ~1M interactions,
~40,000 received referrals, 800,000 touches, rewards, activities), then what an agenda
reads, with a fixed random seed:

* 10 members (one admin), each owning a tenth of the contacts;
* one contact in ten an advocate or core advocate (the nightly's suggestion, set here);
* a manual task for one contact in twenty, due from two weeks ago to two weeks ahead,
  assigned to its owner;
* a birthday for every other contact (so ~1,900 fall in any 7-day window);
* referrals owned by their referrer's owner, with the first-contact target set on those
  still received, and 200 rewards pending approval.

What is timed is ``GET /v1/members/{id}/agenda`` (the default first 50 items, every
candidate valued and ranked) through the app in process (httpx's ASGI transport, no
network), one request at a time, for an agent and for the admin (who also
gets the rewards to approve), ``--requests`` each after ``--warmup``. Run on demand:

    .venv/bin/python benchmarks/bench_agenda.py
    .venv/bin/python benchmarks/bench_agenda.py --keep        # keep the database
    .venv/bin/python benchmarks/bench_agenda.py --use NAME    # rerun on a kept one
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import timedelta
from typing import Any

import httpx
from bench_contacts_common import admin, scratch_database, server_url, with_database
from bench_scores import LOAD, NOW
from sqlalchemy import text

from app import heap
from app.clock import FrozenClock
from app.config import Settings
from app.db import Database
from app.main import create_app
from app.services.platform import create_api_key
from app.services.provisioning import provision_workspace

TARGET_MS = 100.0
AT = NOW + timedelta(hours=12)  # 14:00 UTC, the workspace's working day

AGENDA_LOAD = [
    (
        "members",
        """
        INSERT INTO members (workspace_id, id, name, email, role, active, version, created_at,
            updated_at)
        SELECT :ws, gen_random_uuid(), 'Member ' || g, 'm' || g || '@example.com',
               CASE WHEN g = 0 THEN 'admin' ELSE 'agent' END, true, 1, :now, :now
          FROM generate_series(0, 9) AS g
        """,
    ),
    (
        "owners and advocates",
        """
        UPDATE contacts c
           SET owner_id = m.id,
               advocacy_stage = CASE WHEN abs(hashtext(CAST(c.id AS text))) % 10 = 0
                                     THEN (ARRAY['advocate', 'core_advocate'])[
                                          1 + abs(hashtext(c.sort_name)) % 2]
                                     ELSE c.advocacy_stage END
          FROM (SELECT id, row_number() OVER (ORDER BY email) - 1 AS k FROM members
                 WHERE workspace_id = :ws) m
         WHERE c.workspace_id = :ws
           AND m.k = abs(hashtext(CAST(c.id AS text) || 'owner')) % 10
        """,
    ),
    (
        "manual tasks",
        """
        INSERT INTO touches (workspace_id, id, contact_id, assignee_id, channel, mode,
            content_kind, status, due_at, subject, version, created_at, updated_at)
        SELECT c.workspace_id, gen_random_uuid(), c.id, c.owner_id,
               (ARRAY['call', 'card', 'gift'])[1 + floor(random() * 3)::int], 'manual',
               'check_in', 'scheduled',
               CAST(:at AS timestamptz) + make_interval(secs => (random() - 0.5) * 28 * 86400),
               'Check in', 1, :now, :now
          FROM contacts c
         WHERE c.workspace_id = :ws AND random() < 0.05
        """,
    ),
    (
        "birthdays",
        """
        INSERT INTO observances (workspace_id, id, contact_id, kind, month, day, created_at)
        SELECT c.workspace_id, gen_random_uuid(), c.id, 'birthday', d.m, d.d, :now
          FROM contacts c
          CROSS JOIN LATERAL (
              SELECT extract(month FROM x)::int AS m, extract(day FROM x)::int AS d
                FROM (SELECT DATE '2025-01-01' + floor(random() * 365)::int
                             + (c.id IS NULL)::int AS x) y) d
         WHERE c.workspace_id = :ws AND random() < 0.5
        """,
    ),
    (
        "referral owners and first-contact targets",
        """
        UPDATE referrals r
           SET owner_id = c.owner_id,
               follow_up_due_at = CASE WHEN r.stage = 'received'
                                       THEN r.received_at + interval '24 hours' END
          FROM contacts c
         WHERE r.workspace_id = :ws AND c.workspace_id = r.workspace_id
           AND c.id = r.source_contact_id
        """,
    ),
    (
        "stage history",
        """
        INSERT INTO referral_stage_history (workspace_id, id, referral_id, from_stage, to_stage,
            at, created_at)
        SELECT r.workspace_id, gen_random_uuid(), r.id, NULL, 'received', r.received_at,
               CAST(:now AS timestamptz)
          FROM referrals r WHERE r.workspace_id = :ws AND r.direction = 'received'
        UNION ALL
        SELECT r.workspace_id, gen_random_uuid(), r.id, 'received', r.stage,
               r.stage_changed_at, CAST(:now AS timestamptz)
          FROM referrals r
         WHERE r.workspace_id = :ws AND r.direction = 'received' AND r.stage <> 'received'
        """,
    ),
    (
        "pending rewards",
        """
        INSERT INTO rewards (workspace_id, id, referral_id, referrer_id, program_id, rule_index,
            trigger, amount, currency, kind, status, available_at, version, created_at,
            updated_at)
        SELECT r.workspace_id, gen_random_uuid(), r.id, r.source_contact_id, p.id, 1,
               'received', 50, 'USD', 'gift_card', 'pending', r.received_at, 1, r.received_at,
               r.received_at
          FROM (SELECT * FROM referrals WHERE workspace_id = :ws AND direction = 'received'
                 ORDER BY received_at DESC LIMIT 200) r
          JOIN reward_programs p ON p.workspace_id = r.workspace_id
        """,
    ),
]


async def build(db: Database, contacts: int) -> tuple[uuid.UUID, str]:
    async with db.transaction() as session:
        workspace, _, token = await provision_workspace(session, "Bench Realty", at=NOW)
    params = {"ws": workspace.id, "now": NOW, "at": AT, "n": contacts}
    for label, sql in [*LOAD, *AGENDA_LOAD]:
        started = time.perf_counter()
        async with db.transaction() as session:
            await session.execute(text("SELECT setseed(0.42)"))
            n = (await session.execute(text(sql), params)).rowcount  # type: ignore[attr-defined]
        print(f"  {label}: {n:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
    async with db.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE"))
    return workspace.id, token


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(
    client: httpx.AsyncClient, headers: dict[str, str], member: Any, requests: int, warmup: int
) -> tuple[list[float], dict[str, Any]]:
    url = f"/v1/members/{member}/agenda"
    body: dict[str, Any] = {}
    for _ in range(warmup):
        r = await client.get(url, headers=headers)
        assert r.status_code == 200, r.text
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        r = await client.get(url, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 200, r.text
        body = r.json()
    return samples, body


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--use", metavar="NAME", help="reuse a database kept by --keep")
    args = parser.parse_args()
    if args.use:
        server, name = server_url(), args.use
        url = with_database(server, name)
        args.keep = True
    else:
        print(f"building {args.contacts:,} contacts ...", flush=True)
        server, name, url = await scratch_database("rapport_bench_agenda")
    db = Database.from_url(url, pool_size=4)
    results = []
    try:
        if args.use:
            async with db.transaction() as session:
                ws = (await session.execute(text("SELECT id FROM workspaces"))).scalar_one()
                _, token = await create_api_key(session, ws, name="bench", scopes=["admin"], at=AT)
        else:
            # Bulk loading takes longer than a request's statement timeout.
            loader = Database.from_url(url, pool_size=2, statement_timeout_seconds=600)
            try:
                ws, token = await build(loader, args.contacts)
            finally:
                await loader.dispose()
        settings = Settings(
            environment="test",
            database_url=url,
            scheduler_enabled=False,
            webhooks_enabled=False,
            rate_limits_enabled=False,  # one client asking back to back is the point here
        )
        app = create_app(settings, database=db, clock=FrozenClock(AT))
        heap.settle()  # as ``rapport serve`` does (app/cli/serve.py, app/heap.py)
        headers = {"Authorization": f"Bearer {token}"}
        async with db.transaction() as session:
            members = (
                await session.execute(
                    text("SELECT id, role FROM members WHERE workspace_id = :ws ORDER BY email"),
                    {"ws": ws},
                )
            ).all()
        agent = next(m.id for m in members if m.role == "agent")
        boss = next(m.id for m in members if m.role == "admin")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for label, member in (("agent", agent), ("admin", boss)):
                samples, body = await measure(client, headers, member, args.requests, args.warmup)
                kinds: dict[str, int] = {}
                for item in body["items"]:
                    kinds[item["kind"]] = kinds.get(item["kind"], 0) + 1
                p50, p99 = statistics.median(samples), _percentile(samples, 0.99)
                results.append((label, p50, p99, max(samples)))
                print(
                    f"{label}: {body['total_items']} items, the first {len(body['items'])} "
                    f"returned {kinds}; p50 {p50:.1f} ms, "
                    f"p99 {p99:.1f} ms, max {max(samples):.1f} ms ({args.requests} requests)",
                    flush=True,
                )
    finally:
        await db.dispose()
        if args.keep:
            print(f"kept database {name}")
        else:
            await admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print()
    for label, _p50, p99, _max in results:
        verdict = "within" if p99 < TARGET_MS else "over"
        print(
            f"{label}'s agenda, {args.contacts:,} contacts: p99 {p99:.1f} ms ({verdict} "
            f"the {TARGET_MS:.0f} ms target)"
        )


if __name__ == "__main__":
    asyncio.run(main())
