"""Scheduler benchmark: does a tick cost what is due, not what is stored?

Builds two databases on the same server: one with ``--small`` enrolled contacts
(default 10,000) and one with ``--large`` (default 1,000,000). Each contact is enrolled
in the workspace's 33 Touch plan and has ``--future`` scheduled touches planned ahead
(default 3), and in both databases exactly ``--due`` touches (default 10,000) have come
due. A tick is the scheduler's own jobs (``top_up_touches`` then ``emit_touches``),
called directly with a frozen clock, exactly as APScheduler would call them.

Reports, per database, the median tick time over ``--runs`` runs (the due touches are
put back to ``scheduled`` between runs), the ratio large/small (target <= 1.3) and due
touches claimed, rendered and written to the event outbox per second (target >= 5,000).

Run on demand (not part of pytest):

    .venv/bin/python benchmarks/bench_scheduler.py            # embedded PostgreSQL
    DATABASE_URL=postgresql://... .venv/bin/python benchmarks/bench_scheduler.py

Building the large database takes about ten minutes; ``--keep`` leaves both databases in
place and ``--reuse`` measures them again without rebuilding.

What the ratio measures is the server's buffer cache as much as the code: each due
touch reads its contact and enrolment and writes index entries at random places, about
seven pages of the large database per touch. With the embedded server's defaults
(``shared_buffers`` 128 MB) those pages miss and evict each other; a server sized for a
million contacts (e.g. ``shared_buffers=2GB max_wal_size=8GB checkpoint_timeout=30min
wal_compression=pglz``) keeps them in memory. Report which one was measured.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime

from bench_contacts_common import admin, server_url, with_database
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.clock import FrozenClock
from app.config import Settings
from app.db import Database, async_url
from app.migrations import upgrade_async
from app.models.platform.member import MemberCreate
from app.services.platform import create_member
from app.services.provisioning import provision_workspace
from app.services.touches.jobs import emit_touches, top_up_touches

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


LOAD = [
    # contacts: a person with an e-mail address and e-mail consent (so due touches render)
    """
    INSERT INTO contacts (workspace_id, id, kind, first_name, last_name, sort_name, emails,
        phones, primary_email, segment, advocacy_stage, advocacy_stage_manual, family,
        interests, tags, custom_fields, consent, do_not_contact, version, created_at,
        updated_at)
    SELECT :ws, gen_random_uuid(), 'person', 'First' || g, 'Last' || g, 'last' || g,
        jsonb_build_array(jsonb_build_object('address', 'c' || g || '@example.com',
                                             'type', 'home', 'primary', true)),
        '[]', 'c' || g || '@example.com', 'client', 'seeker', false, '[]', '{}', '{}', '{}',
        '{"email": {"status": "granted"}}', false, 1, :now, :now
    FROM generate_series(1, :n) AS g
    """,
    # every contact enrolled, planned far ahead (the top-up job has nothing to do)
    """
    INSERT INTO enrollments (workspace_id, id, plan_id, contact_id, status, source,
        start_date, materialized_until, version, created_at, updated_at)
    SELECT :ws, gen_random_uuid(), :plan, c.id, 'active', 'bulk', :today,
        CAST(:today AS date) + 150, 1, :now, :now
    FROM contacts AS c WHERE c.workspace_id = :ws
    """,
    # touches planned ahead: :future per enrolment, in the coming weeks
    """
    INSERT INTO touches (workspace_id, id, contact_id, enrollment_id, plan_id, step_id,
        channel, mode, content_kind, status, due_at, expires_at, due_date, occurrence_key,
        version, created_at, updated_at)
    SELECT e.workspace_id, gen_random_uuid(), e.contact_id, e.id, e.plan_id, :step,
        'email', 'automated', 'newsletter', 'scheduled',
        CAST(:now AS timestamptz) + make_interval(days => 7 * k) + interval '1 hour',
        CAST(:now AS timestamptz) + make_interval(days => 7 * k + 3) + interval '1 hour',
        CAST(:today AS date) + 7 * k, 'future-' || k, 1, :now, :now
    FROM enrollments AS e CROSS JOIN generate_series(1, :future) AS k
    WHERE e.workspace_id = :ws
    """,
    # the touches that have come due: one each for :due enrolments picked at random, all
    # still fresh (a stale one would be skipped unrendered) and inside the send window
    """
    INSERT INTO touches (workspace_id, id, contact_id, enrollment_id, plan_id, step_id,
        channel, mode, content_kind, status, due_at, expires_at, due_date, occurrence_key,
        version, created_at, updated_at)
    SELECT e.workspace_id, gen_random_uuid(), e.contact_id, e.id, e.plan_id, :step,
        'email', 'automated', 'newsletter', 'scheduled',
        CAST(:now AS timestamptz) - interval '1 minute' * (row_number() OVER ()),
        CAST(:now AS timestamptz) + interval '1 day',
        CAST(:today AS date), 'due', 1, :now, :now
    FROM (SELECT * FROM enrollments WHERE workspace_id = :ws ORDER BY random() LIMIT :due) AS e
    """,
]

RESET = [
    "UPDATE touches SET status = 'scheduled', subject = NULL, body = NULL, "
    "referral_reminder = NULL, emitted_at = NULL, finished_at = NULL "
    "WHERE occurrence_key = 'due'",
    "DELETE FROM events",
]


async def _reusable(server: str, name: str, contacts: int, due: int) -> bool:
    """Whether ``name`` is a database this script built with these sizes (``--reuse``)."""
    url = with_database(server, name)
    engine = create_async_engine(async_url(url), poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            n = (await conn.execute(text("SELECT count(*) FROM contacts"))).scalar_one()
            d = await conn.execute(
                text("SELECT count(*) FROM touches WHERE occurrence_key = 'due'")
            )
            return bool(n == contacts and d.scalar_one() == due)
    except Exception:  # no such database (or not ours): build it
        return False
    finally:
        await engine.dispose()


async def build(
    server: str, name: str, contacts: int, future: int, due: int, *, reuse: bool = False
) -> str:
    if reuse and await _reusable(server, name, contacts, due):
        url = with_database(server, name)
        await _reset(url)
        print(f"  reusing {name}")
        return url
    await admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin(server, f'CREATE DATABASE "{name}"')
    url = with_database(server, name)
    await upgrade_async(url)
    db = Database.from_url(url, pool_size=2, statement_timeout_seconds=600)
    started = time.perf_counter()
    async with db.transaction() as session:
        workspace, _, _ = await provision_workspace(session, "Bench Realty", at=NOW)
        # 33 Touch's templates name the member: the default sender signs (contacts here
        # have no owner), so the due touches are rendered and released, not skipped.
        sender = await create_member(
            session, workspace.id, MemberCreate(name="Dana", email="dana@example.com"), at=NOW
        )
        workspace.default_sender_member_id = sender.id
        row = (
            await session.execute(
                text(
                    "SELECT p.id AS plan, s.id AS step FROM touch_plans p "
                    "JOIN touch_plan_steps s ON s.plan_id = p.id AND s.position = 0 "
                    "WHERE p.workspace_id = :ws AND p.builtin_key = '33_touch'"
                ),
                {"ws": workspace.id},
            )
        ).one()
    params = {
        "ws": workspace.id,
        "plan": row.plan,
        "step": row.step,
        "now": NOW,
        "today": NOW.date(),
        "n": contacts,
        "future": future,
        "due": due,
    }
    for sql in LOAD:
        async with db.transaction() as session:
            await session.execute(text(sql), params)
    await db.dispose()
    await _vacuum(url)
    print(f"  built {name}: {contacts:,} contacts in {time.perf_counter() - started:.0f} s")
    return url


async def _vacuum(url: str) -> None:
    engine = create_async_engine(async_url(url), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text("VACUUM ANALYZE"))
    await engine.dispose()


async def measure(url: str, runs: int, due: int) -> list[float]:
    settings = Settings(environment="test", database_url=url, scheduler_interval_seconds=3600.0)
    clock = FrozenClock(NOW)
    times = []
    for _ in range(runs):
        db = Database.from_url(url, pool_size=2, statement_timeout_seconds=600)
        started = time.perf_counter()
        await top_up_touches(db, clock, settings)
        emitted = await emit_touches(db, clock, settings)
        times.append(time.perf_counter() - started)
        assert emitted == due, f"emitted {emitted}, expected {due}"
        async with db.transaction() as session:
            released = await session.execute(
                text("SELECT count(*) FROM events WHERE type = 'touch.due'")
            )
            assert released.scalar_one() == due, "every due touch rendered and released"
        await db.dispose()
        await _reset(url)
    return times


async def _reset(url: str) -> None:
    """Put the due touches back to ``scheduled`` and forget the events, then vacuum."""
    db = Database.from_url(url, pool_size=1, statement_timeout_seconds=600)
    async with db.transaction() as session:
        for sql in RESET:
            await session.execute(text(sql))
    await db.dispose()
    await _vacuum(url)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--future", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument(
        "--reuse", action="store_true", help="use databases kept by --keep when their sizes match"
    )
    args = parser.parse_args()
    server = server_url()
    results = {}
    for label, contacts in (("small", args.small), ("large", args.large)):
        name = f"rapport_bench_sched_{label}"
        print(f"{label}: building {contacts:,} contacts, {args.due:,} due ...", flush=True)
        url = await build(server, name, contacts, args.future, args.due, reuse=args.reuse)
        times = await measure(url, args.runs, args.due)
        results[label] = statistics.median(times)
        print(f"  tick times (s): {', '.join(f'{t:.3f}' for t in times)}", flush=True)
        if not args.keep:
            await admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    small, large = results["small"], results["large"]
    print()
    print(f"tick, {args.small:,} contacts: {small:.3f} s (median of {args.runs})")
    print(f"tick, {args.large:,} contacts: {large:.3f} s (median of {args.runs})")
    print(f"ratio large/small: {large / small:.2f} (target <= 1.3)")
    print(f"due touches emitted per second: {args.due / small:,.0f} (small), ", end="")
    print(f"{args.due / large:,.0f} (large) (target >= 5,000)")


if __name__ == "__main__":
    asyncio.run(main())
