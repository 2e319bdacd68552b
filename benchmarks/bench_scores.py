"""Scores benchmark: the nightly recompute of one workspace of 100,000 contacts (target <= 10 s).

Builds a scratch database on the server (the embedded PostgreSQL unless ``DATABASE_URL``
is set) with one workspace of ``--contacts`` contacts (default 100,000) and a realistic
history around them, generated set-based with a fixed random seed:

* about 10 logged interactions per contact over two years (60 % outbound, 30 % inbound,
  10 % two-way), ``last_engaged_at`` derived from them as the interaction log keeps it;
* one contact in five a referrer (1-3 times): 0.4 received referrals per contact over two years,
  in every stage, with actual values on the closed ones; 1,000 allied resources and one
  given referral per 20 contacts;
* 6 delivered touches per contact in the past year (a quarter of them cards, gifts or
  event invitations) and 2 planned ones ahead;
* an issued reward for every third closed referral; 40 engagement activities with 20,000
  attendances.

What is timed is exactly what ``POST /v1/scores/recompute`` runs:
:func:`app.services.scores.nightly.recompute_workspace` (mark lapses, apply suggested stages,
score every contact, record the run) in one transaction. The first run scores every
contact for the first time (100,000 inserts, first history points, many lapses and stage
changes); the next ``--runs`` runs are the following nights (the clock one day later each
time), the steady state. Each line also shows the time of the three steps. The database
is dropped afterwards unless ``--keep``; ``--use NAME`` reruns on a kept one (scores,
lapses, stages and events reset first), for profiling changes without rebuilding.

Run on demand (not part of pytest):

    .venv/bin/python benchmarks/bench_scores.py                # embedded PostgreSQL
    .venv/bin/python benchmarks/bench_scores.py --explain      # and the plan of the scoring
    DATABASE_URL=postgresql://... .venv/bin/python benchmarks/bench_scores.py
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from bench_contacts_common import admin, scratch_database, server_url, with_database
from sqlalchemy import text

from app.db import Database
from app.services.provisioning import provision_workspace
from app.services.scores import nightly as score_jobs
from app.services.scores.strength import score_params
from app.services.scores.strength_sql import RECOMPUTE

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
TARGET_SECONDS = 10.0
T = TypeVar("T")

LOAD = [
    (
        "contacts",
        """
        INSERT INTO contacts (workspace_id, id, kind, first_name, last_name, sort_name, emails,
            phones, primary_email, segment, advocacy_stage, advocacy_stage_manual, family,
            interests, tags, custom_fields, consent, do_not_contact, version, created_at,
            updated_at)
        SELECT :ws, gen_random_uuid(), 'person', 'First' || g, 'Last' || g, 'last' || g,
            jsonb_build_array(jsonb_build_object('address', 'c' || g || '@example.com',
                                                 'type', 'home', 'primary', true)),
            '[]', 'c' || g || '@example.com',
            CASE WHEN g <= 1000 THEN 'allied_resource'
                 ELSE (ARRAY['prospect', 'client', 'client', 'advocate'])[1 + g % 4] END,
            'seeker', g % 50 = 0, '[]', '{}', '{}', '{}', '{"email": {"status": "granted"}}',
            false, 1, c.created, c.created
        FROM generate_series(1, :n) AS g,
             LATERAL (SELECT CAST(:now AS timestamptz)
                             - make_interval(days => 30 + (random() * 1000)::int) AS created) c
        """,
    ),
    (
        "interactions",
        # 0-20 per contact (hash of the id: a fixed, uneven spread), each at its own time.
        """
        INSERT INTO interactions (workspace_id, id, contact_id, channel, direction, occurred_at,
            created_at)
        SELECT c.workspace_id, gen_random_uuid(), c.id,
               (ARRAY['call', 'email', 'sms', 'meeting', 'note'])[1 + floor(random() * 5)::int],
               (ARRAY['outbound', 'outbound', 'outbound', 'outbound', 'outbound', 'outbound',
                      'inbound', 'inbound', 'inbound', 'two_way'])[1 + floor(random() * 10)::int],
               CAST(:now AS timestamptz) - make_interval(secs => random() * 730 * 86400), :now
          FROM contacts c
          CROSS JOIN LATERAL generate_series(1, abs(hashtext(CAST(c.id AS text))) % 21) AS k
         WHERE c.workspace_id = :ws
        """,
    ),
    (
        "last_engaged_at",
        """
        UPDATE contacts c SET last_engaged_at = e.t
          FROM (SELECT contact_id, max(occurred_at) AS t FROM interactions
                 WHERE workspace_id = :ws AND direction IN ('inbound', 'two_way')
                 GROUP BY contact_id) e
         WHERE c.workspace_id = :ws AND c.id = e.contact_id
        """,
    ),
    (
        "received referrals",
        # One contact in five refers, 1-3 times, in any stage; closed ones carry a value.
        """
        INSERT INTO referrals (workspace_id, id, direction, source_contact_id, currency,
            actual_value, stage, received_at, stage_changed_at, possible_duplicate, version,
            created_at, updated_at)
        SELECT workspace_id, gen_random_uuid(), 'received', source, 'USD',
               CASE WHEN st = 'closed' THEN round(CAST(random() * 500000 AS numeric), 2) END,
               st, t, t + interval '3 days', false, 1, t, t
          FROM (SELECT s.workspace_id, s.id AS source,
                       (ARRAY['received', 'contacted', 'meeting', 'agreement', 'closed',
                              'closed', 'lost'])[1 + floor(random() * 7)::int] AS st,
                       CAST(:now AS timestamptz) - make_interval(secs => random() * 730 * 86400)
                           AS t
                  FROM (SELECT * FROM contacts WHERE workspace_id = :ws
                         ORDER BY random() LIMIT :n / 5) s
                 CROSS JOIN LATERAL generate_series(1, 1 + abs(hashtext(CAST(s.id AS text))) % 3)
                       AS k) x
        """,
    ),
    (
        "given referrals",
        """
        INSERT INTO referrals (workspace_id, id, direction, partner_contact_id, currency, stage,
            received_at, stage_changed_at, possible_duplicate, version, created_at, updated_at)
        SELECT :ws, gen_random_uuid(), 'given', p.id, 'USD', 'contacted', t, t, false, 1, t, t
          FROM (SELECT 1 + floor(random() * 1000)::int AS pick,
                       CAST(:now AS timestamptz) - make_interval(secs => random() * 730 * 86400)
                           AS t
                  FROM generate_series(1, :n / 20)) g
          JOIN (SELECT id, row_number() OVER (ORDER BY id) AS pick FROM contacts
                 WHERE workspace_id = :ws AND segment = 'allied_resource') p USING (pick)
        """,
    ),
    (
        "delivered and planned touches",
        """
        INSERT INTO touches (workspace_id, id, contact_id, channel, mode, content_kind, status,
            due_at, finished_at, version, created_at, updated_at)
        SELECT c.workspace_id, gen_random_uuid(), c.id, ch, 'automated', 'newsletter',
               CASE WHEN k <= 6 THEN 'completed' ELSE 'scheduled' END, t,
               CASE WHEN k <= 6 THEN t END, 1, :now, :now
          FROM contacts c
          CROSS JOIN generate_series(1, 8) AS k
          CROSS JOIN LATERAL (
              SELECT CASE WHEN k <= 6
                          THEN CAST(:now AS timestamptz)
                               - make_interval(secs => random() * 365 * 86400)
                          ELSE CAST(:now AS timestamptz)
                               + make_interval(days => 7 * (k - 6)) END AS t,
                     CASE WHEN random() < 0.25
                          THEN (ARRAY['card', 'gift', 'event_invite'])[1 + (random() * 2)::int]
                          ELSE 'email' END AS ch
               WHERE c.id IS NOT NULL) x
         WHERE c.workspace_id = :ws
        """,
    ),
    (
        "reward program",
        """
        INSERT INTO reward_programs (workspace_id, id, name, rules, is_default, version,
            created_at, updated_at)
        VALUES (:ws, gen_random_uuid(), 'Bench thanks', '[]', false, 1, :now, :now)
        """,
    ),
    (
        "issued rewards",
        """
        INSERT INTO rewards (workspace_id, id, referral_id, referrer_id, program_id, rule_index,
            trigger, amount, currency, kind, status, available_at, issued_at, version,
            created_at, updated_at)
        SELECT r.workspace_id, gen_random_uuid(), r.id, r.source_contact_id, p.id, 0, 'closed',
               100, 'USD', 'cash', 'issued', r.stage_changed_at, r.stage_changed_at, 1,
               r.stage_changed_at, r.stage_changed_at
          FROM referrals r
          JOIN reward_programs p ON p.workspace_id = r.workspace_id
         WHERE r.workspace_id = :ws AND r.stage = 'closed' AND random() < 0.34
        """,
    ),
    (
        "engagement activities",
        """
        INSERT INTO engagement_activities (workspace_id, id, kind, name, date, cost, version,
            created_at, updated_at)
        SELECT :ws, gen_random_uuid(), 'seminar', 'Seminar ' || g,
               CAST(:now AS date) - 18 * g, 500, 1, :now, :now
          FROM generate_series(1, 40) AS g
        """,
    ),
    (
        "attendances",
        """
        INSERT INTO engagement_participants (workspace_id, activity_id, contact_id, status,
            attended_at, updated_at)
        SELECT a.workspace_id, a.id, c.id, 'attended', CAST(a.date AS timestamptz), :now
          FROM engagement_activities a
          CROSS JOIN LATERAL (SELECT id FROM contacts
                               WHERE workspace_id = a.workspace_id AND a.id IS NOT NULL
                               ORDER BY random() LIMIT :n / 200) c
         WHERE a.workspace_id = :ws
        """,
    ),
]


async def build(db: Database, contacts: int) -> uuid.UUID:
    async with db.transaction() as session:
        workspace, _, _ = await provision_workspace(session, "Bench Realty", at=NOW)
    params = {"ws": workspace.id, "now": NOW, "n": contacts}
    for label, sql in LOAD:
        started = time.perf_counter()
        async with db.transaction() as session:
            await session.execute(text("SELECT setseed(0.42)"))
            n = (await session.execute(text(sql), params)).rowcount  # type: ignore[attr-defined]
        async with db.transaction() as session:
            await session.execute(text("ANALYZE"))  # the next statement plans on real counts
        print(f"  {label}: {n:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
    await _vacuum(db)
    return workspace.id


async def _vacuum(db: Database) -> None:
    async with db.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE"))


PHASES: dict[str, float] = {}


def _timed(name: str, fn: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    async def wrapper(*args: Any, **kwargs: Any) -> T:
        started = time.perf_counter()
        try:
            return await fn(*args, **kwargs)
        finally:
            PHASES[name] = time.perf_counter() - started

    return wrapper


# Time the three steps of the recompute separately (the call itself is unchanged).
score_jobs.mark_lapses = _timed("lapses", score_jobs.mark_lapses)
score_jobs.apply_suggestions = _timed("stages", score_jobs.apply_suggestions)
score_jobs.recompute_scores = _timed("scores", score_jobs.recompute_scores)


async def run_once(db: Database, workspace_id: uuid.UUID, at: datetime) -> tuple[float, str]:
    started = time.perf_counter()
    async with db.transaction() as session:
        result = await score_jobs.recompute_workspace(session, workspace_id, at=at)
    elapsed = time.perf_counter() - started
    phases = ", ".join(f"{k} {v:.2f} s" for k, v in PHASES.items())
    summary = (
        f"{phases}, commit {elapsed - sum(PHASES.values()):.2f} s; "
        f"scored {result.scored:,}, history {result.history_rows:,}, lapsed {result.lapsed:,}, "
        f"stages changed {result.stages_changed:,}"
    )
    return elapsed, summary


async def explain(db: Database, workspace_id: uuid.UUID, at: datetime) -> None:
    """The plan of the scoring statement, run inside a transaction that is rolled back."""
    async with db.sessionmaker() as session, session.begin():
        params = (await score_params(session, workspace_id)).bind(workspace_id, at)
        plan = await session.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {RECOMPUTE.text}"), params)
        print("\n".join(row[0] for row in plan))
        await session.rollback()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3, help="nightly runs after the first")
    parser.add_argument("--explain", action="store_true", help="print the scoring plan")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--use", metavar="NAME", help="reuse a database kept by --keep")
    args = parser.parse_args()
    if args.use:
        server, name = server_url(), args.use
        url = with_database(server, name)
        args.keep = True
    else:
        print(f"building {args.contacts:,} contacts ...", flush=True)
        server, name, url = await scratch_database("rapport_bench_scores")
    db = Database.from_url(url, pool_size=2, statement_timeout_seconds=600)
    try:
        if args.use:
            async with db.transaction() as session:
                ws = (await session.execute(text("SELECT id FROM workspaces"))).scalar_one()
                await session.execute(text("DELETE FROM score_runs"))
                await session.execute(text("DELETE FROM contact_score_history"))
                await session.execute(text("DELETE FROM contact_scores"))
                await session.execute(
                    text("UPDATE contacts SET lapsed_at = NULL, advocacy_stage = 'seeker'")
                )
                await session.execute(text("DELETE FROM events"))
            await _vacuum(db)
        else:
            ws = await build(db, args.contacts)
        first, summary = await run_once(db, ws, NOW)
        print(f"first recompute: {first:.2f} s ({summary})", flush=True)
        nights = []
        for night in range(1, args.runs + 1):
            elapsed, summary = await run_once(db, ws, NOW + timedelta(days=night))
            nights.append(elapsed)
            print(f"night {night}: {elapsed:.2f} s ({summary})", flush=True)
        if args.explain:
            await explain(db, ws, NOW + timedelta(days=args.runs + 1))
    finally:
        await db.dispose()
        if args.keep:
            print(f"kept database {name}")
        else:
            await admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    steady = statistics.median(nights) if nights else first
    print()
    for label, seconds in (("first run", first), (f"nightly, median of {len(nights)}", steady)):
        verdict = "within" if seconds <= TARGET_SECONDS else "over"
        print(f"recompute of {args.contacts:,} contacts, {label}: {seconds:.2f} s ", end="")
        print(f"({verdict} the {TARGET_SECONDS:.0f} s target)")


if __name__ == "__main__":
    asyncio.run(main())
